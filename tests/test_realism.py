"""labkit.realism: a real encoder's EER beside the training-free baseline, on a corpus's trials."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from labkit.data.synthetic import baseline_eer
from labkit.realism import realism, sample_trials
from labkit.trials import read_trials


def test_sample_trials_is_a_seeded_subset_in_list_order(tiny_corpus):
    trials = read_trials(tiny_corpus / "meta" / "veri_test.txt")
    subset = sample_trials(trials, 15, seed=1)
    pairs = list(zip(trials.enroll, trials.test))
    positions = [pairs.index(p) for p in zip(subset.enroll, subset.test)]
    assert len(subset) == 15 and positions == sorted(positions)
    assert np.array_equal(sample_trials(trials, 15, seed=1).labels, subset.labels)
    assert sample_trials(trials, 0) is trials and sample_trials(trials, 10**6) is trials


def test_realism_table_on_the_tiny_corpus(tiny_corpus):
    table = realism(tiny_corpus, progress=False)
    assert list(table["system"]) == ["Resemblyzer (GE2E, real speech)", "training-free baseline (mean log-mel)"]
    assert (table["trials"] == 40).all()
    assert table[["eer_%", "eer_cross_session_%", "eer_same_session_%"]].stack().between(0, 100).all()
    assert table["eer_%"].iloc[1] == round(100 * baseline_eer(tiny_corpus)["eer"], 2)  # the corpus README's baseline


def test_command_line_prints_both_systems(tiny_corpus):
    done = subprocess.run([sys.executable, "-m", "labkit", "realism", str(tiny_corpus), "--max-trials", "20"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Resemblyzer" in done.stdout and "baseline" in done.stdout and " 20 " in done.stdout


@pytest.mark.slow
def test_realism_of_the_lab_corpus_matches_the_readme(lab_corpus):
    """The figures the README gives for the `lab` corpus (seed 0): the corpus and the weights are deterministic."""
    table = realism(lab_corpus, progress=False).set_index("system")
    resemblyzer, baseline = table.iloc[0], table.iloc[1]
    assert resemblyzer["eer_%"] == pytest.approx(11.70, abs=0.3) and baseline["eer_%"] == pytest.approx(15.93, abs=0.3)
    assert resemblyzer["eer_cross_session_%"] > resemblyzer["eer_same_session_%"] + 4  # the channel, not the voice, separates
