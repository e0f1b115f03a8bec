"""labkit.hardest_trials: highest-scoring impostors, lowest-scoring true speakers, and their players."""

from __future__ import annotations

import numpy as np

from labkit.hardest_trials import hardest_trials, play_trials
from labkit.trials import Trials

TRIALS = Trials(labels=np.array([1, 1, 1, 0, 0, 0], dtype=np.int8), enroll=np.array([f"e{i}" for i in range(6)]),
                test=np.array([f"t{i}" for i in range(6)]))
SCORES = np.array([0.9, 0.2, 0.6, 0.7, 0.1, 0.45])


def test_hardest_impostors_and_true_speakers_with_their_errors():
    table = hardest_trials(TRIALS, SCORES, threshold=0.5, n=2)
    assert table["enroll"].tolist() == ["e3", "e5", "e1", "e2"]
    assert table["kind"].tolist() == ["false acceptance", "nearly a false acceptance", "false rejection", "nearly a false rejection"]
    assert table["error"].tolist() == [True, False, True, False]
    assert table["score"].tolist() == [0.7, 0.45, 0.2, 0.6]


def test_players_for_each_trial(tiny_corpus, capsys):
    from labkit.trials import read_trials

    trials = read_trials(tiny_corpus / "meta" / "veri_test.txt")
    scores = np.linspace(0, 1, len(trials))
    play_trials(hardest_trials(trials, scores, threshold=0.5, n=1), tiny_corpus)
    shown = capsys.readouterr().out
    assert shown.count("IPython.lib.display.Audio object") == 4  # outside a notebook, display() prints each player
    assert "false acceptance: score" in shown and "false rejection: score" in shown
