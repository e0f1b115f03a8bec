"""`labkit metrics` on a score file, as a student would run it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from labkit import metrics
from labkit.trials import Trials, write_scores


def _score_file(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(300, dtype=np.int8), np.zeros(700, dtype=np.int8)]
    scores = np.r_[rng.normal(1.5, 1, 300), rng.normal(0, 1, 700)]
    ids = np.array([f"id{i % 50:05d}/v/{i:05d}.wav" for i in range(1000)])
    path = write_scores(tmp_path / "scores.txt", Trials(labels, ids, ids[::-1]), scores)
    return path, scores, labels


def _labkit(*args):
    return subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True, text=True)


def test_metrics_json(tmp_path):
    path, scores, labels = _score_file(tmp_path)
    result = _labkit("metrics", str(path), "--json", "--p-target", "0.01", "0.05")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["eer"] == pytest.approx(metrics.eer(scores, labels)[0], abs=1e-8)
    assert printed["min_dcf_0.05"] == pytest.approx(metrics.min_dcf(scores, labels, 0.05)[0], abs=1e-8)


def test_metrics_table(tmp_path):
    path, scores, labels = _score_file(tmp_path)
    result = _labkit("metrics", str(path))
    assert result.returncode == 0, result.stderr
    assert "1000 trials (300 target)" in result.stdout
    assert f"EER        {100 * metrics.eer(scores, labels)[0]:.3f} %" in result.stdout
    assert "minDCF(0.01)" in result.stdout


def test_metrics_bad_file_is_one_clear_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1 a b\n")
    result = _labkit("metrics", str(path))
    assert result.returncode == 1
    assert result.stderr.strip() == f"labkit metrics: error: {path}:1: expected 4 fields (<1|0> <enroll> <test> <score>), found 3: '1 a b'"
    assert "Traceback" not in result.stderr
