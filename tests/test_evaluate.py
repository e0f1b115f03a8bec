"""labkit.evaluate: scores, metrics, figures and the result row; the built-in pretrained model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from labkit import models, pretrained
from labkit.config import ModelConfig, load_config
from labkit.evaluate import evaluate, results_table, score_trials, trial_manifest
from labkit.files import sha256_file
from labkit.metrics import eer, min_dcf
from labkit.trials import Trials, read_scores, read_trials


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return models.build_model(ModelConfig(depth=10, width=8, embed_dim=32)).eval()


def test_evaluate_writes_scores_figures_and_a_consistent_result_row(model, tiny_corpus, tmp_path):
    trials = read_trials(tiny_corpus / "meta" / "veri_test.txt")
    row = evaluate(model, trials, tiny_corpus, name="random", out_dir=tmp_path, train_seconds=90.0, progress=False)
    scores = read_scores(tmp_path / "scores.txt")
    assert np.array_equal(scores.labels, trials.labels) and len(scores.scores) == len(trials)
    assert np.all(np.abs(scores.scores) <= 1 + 1e-6)  # cosine scores
    assert row["eer_%"] == pytest.approx(100 * eer(scores.scores, scores.labels)[0], abs=1e-3)
    assert row["min_dcf_0.05"] == pytest.approx(min_dcf(scores.scores, scores.labels, p_target=0.05)[0], abs=1e-4)
    assert row["params_M"] == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e6, abs=1e-3)
    assert row["GMACs_2s"] > 0 and row["train_min"] == 1.5 and row["trials"] == len(trials)
    assert json.loads((tmp_path / "result.json").read_text()) == row
    for name in ("det.pdf", "det.png", "histogram.pdf", "histogram.png"):
        assert (tmp_path / name).stat().st_size > 1000
    table = results_table([row, {**row, "model": "again"}])
    assert list(table["model"]) == ["random", "again"] and "eer_threshold" not in table


def test_as_norm_standardises_scores_with_a_training_cohort(model, tiny_corpus):
    from labkit.data.voxceleb import read_train_list

    trials = read_trials(tiny_corpus / "meta" / "veri_test.txt")
    cohort = read_train_list(tiny_corpus / "meta" / "train_list.txt", tiny_corpus)
    raw = score_trials(model, trials, tiny_corpus, progress=False)
    normed = score_trials(model, trials, tiny_corpus, cohort=cohort, top_n=4, progress=False)
    assert normed.shape == raw.shape and not np.allclose(normed, raw)
    assert np.corrcoef(raw, normed)[0, 1] > 0.5  # a re-scaling of the same evidence, not noise


def test_missing_trial_utterances_are_named(tiny_corpus):
    trials = Trials(labels=np.array([1], dtype=np.int8), enroll=np.array(["id09999/abc/00001.wav"]),
                    test=np.array(["id10001/x/00001.wav"]))
    with pytest.raises(FileNotFoundError, match="id09999/abc/00001.wav"):
        trial_manifest(tiny_corpus, trials)


def test_pretrained_file_matches_its_sha256_and_records():
    assert sha256_file(pretrained.CHECKPOINT) == (pretrained.FOLDER / "model.pt.sha256").read_text().split()[0]
    assert pretrained.CHECKPOINT.stat().st_size <= 5 * 2**20
    assert (pretrained.FOLDER / "history.csv").read_text().count("\n") > 10
    trained_with = load_config(pretrained.FOLDER / "config.yaml")
    assert pretrained.load().embed_dim == trained_with.model.embed_dim


@pytest.mark.slow
def test_pretrained_model_reproduces_its_eer_on_the_synthetic_lab_trials(lab_corpus):
    trials = read_trials(lab_corpus / "meta" / "veri_test.txt")
    row = evaluate(pretrained.load(), trials, lab_corpus, name="pretrained", progress=False)
    shipped = pretrained.metrics()
    assert row["eer_%"] == pytest.approx(shipped["eer_%"], abs=0.05)  # deterministic corpus, same weights
    assert row["min_dcf_0.01"] == pytest.approx(shipped["min_dcf_0.01"], abs=0.005)


def test_pretrained_model_meets_the_quality_target():
    assert pretrained.metrics()["eer_%"] <= 5.0  # issue 5: the built-in model on the synthetic lab trials
