"""``labkit demo`` end to end (on the tiny corpus, for two epochs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_evaluates_pretrained_trains_from_scratch_and_prints_the_table(tiny_corpus, tmp_path):
    out = tmp_path / "demo"
    command = [sys.executable, "-m", "labkit", "demo", "--root", str(tiny_corpus), "--out-dir", str(out),
               "--epochs", "2", "--no-progress"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(out / "results.csv")
    assert list(table["model"]) == ["pretrained", "from scratch"]
    assert table["eer_%"].between(0, 100).all() and (table["params_M"] > 0).all()
    assert table.loc[1, "train_min"] > 0
    assert "trained 2 steps in" in result.stdout  # 2 epochs of the tiny corpus's 32 utterances in batches of 32
    for line in ("pretrained", "from scratch", "eer_%"):
        assert line in result.stdout
    for name in ("det.pdf", "det.png", "pretrained/det.png", "scratch/histogram.png", "scratch/model.pt"):
        assert (out / name).exists(), name


def test_demo_refuses_zero_epochs_before_any_work(tmp_path):
    command = [sys.executable, "-m", "labkit", "demo", "--root", str(tmp_path / "corpus"), "--out-dir", str(tmp_path / "out"),
               "--epochs", "0", "--no-progress"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["labkit demo: error: run.epochs: expected a number > 0, got 0"]
    assert not (tmp_path / "corpus").exists() and not (tmp_path / "out").exists()
