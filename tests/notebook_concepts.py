"""What the executed notebooks must show of the seed's concepts (issue 11), checked by tests/test_notebooks.py.

Session 1: identification accuracy, the x-vector summary, plain vs residual (figure and gradient
claim), the seed's ResNet table within 3%. Session 2: the threshold explorer (static figure,
printed formula, rates and thresholds, the widget), the size study (one row per system, a
validation EER column, best.pt per run), the embedding map and the hardest trials' players.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd

from labkit.size_study import load_study
from notebook_kernel import outputs

NUMBER = r"([\d.]+(?:e[-+]?\d+)?)"


def check_session1(notebook: nbformat.NotebookNode, lang: str) -> None:
    text = "\n".join(outputs(notebook, "text"))
    accuracy = re.search({"es": r"acierto top-1 ([\d.]+) %", "en": r"top-1 accuracy ([\d.]+) %"}[lang], text)
    assert accuracy and 75.0 <= float(accuracy[1]) <= 100.0, "identification of the tiny test speakers (chance: 25 %)"
    embedding = {"es": "<- el x-vector (embedding)", "en": "<- the x-vector (embedding)"}[lang]
    assert "segment6" in text and "4,491,668" in text and embedding in text  # the x-vector's summary, in the notebook's language
    without_bn = {"es": r"sin BN: gradiente en el primer bloque: plana ", "en": r"without BN: gradient at the first block: plain "}[lang]
    plain, residual = map(float, re.search(without_bn + NUMBER + r", residual " + NUMBER, text).groups())
    assert plain < residual / 100, f"the plain network's early-block gradient ({plain}) is not far below the residual one's ({residual})"
    ratios = re.search({"es": r"cifras de las transparencias: de ", "en": r"the slides' figures: from "}[lang] + NUMBER + r" (?:a|to) " + NUMBER, text)
    assert 0.97 <= float(ratios[1]) <= float(ratios[2]) <= 1.03  # the seed's table within 3 %
    assert len(outputs(notebook, "image/png")) >= 4  # durations, features, confusion matrix, plain vs residual


def check_session2(notebook: nbformat.NotebookNode, out: Path) -> None:
    text = "\n".join(outputs(notebook, "text"))
    assert "DCF(t) = C_miss x P_target x FR(t) + C_fa x (1 - P_target) x FA(t)" in text and "minDCF bank" in text
    assert "DCF = 1 x 0.01 x FR + 10 x 0.99 x FA" in text  # the bank's costs, printed with the thresholds
    assert outputs(notebook, "application/vnd.jupyter.widget-view+json")  # the interactive explorer
    for name in ("thresholds", "size_study_curves", "size_study_det", "embedding_map"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    study = load_study("tiny")
    table = pd.read_csv(out / "size_study.csv")
    assert table["model"].tolist() == list(study.systems)  # one row per system, after the re-run too
    assert table["val_eer_%"].between(0, 100).all() and (table["epochs"] == study.epochs).all()
    assert table["params_M"].is_monotonic_increasing and table["GFLOPs_2s"].is_monotonic_increasing
    for name in study.systems:
        assert (out / "size-study" / name / "best.pt").is_file()
    assert sum("<audio" in page for page in outputs(notebook, "text/html")) >= 8  # the hardest trials: 4 trials x 2 players
