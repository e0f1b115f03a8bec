"""The built-in pretrained model: a ResNet18 of width 16 trained on 1,000 synthetic speakers (seed 1).

This folder holds ``model.pt`` (the weights, <= 5 MB), ``model.pt.sha256``, ``config.yaml`` (the
training configuration), ``history.csv`` (the training log) and ``metrics.json`` (its result row
on the synthetic test trials). How they are made: ``labkit/pretrained/make.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labkit.files import sha256_file

FOLDER = Path(__file__).resolve().parent
CHECKPOINT = FOLDER / "model.pt"


def load(map_location: str = "cpu"):
    """The pretrained SpeakerModel, after checking the file against its recorded SHA-256."""
    from labkit import models

    expected = (FOLDER / "model.pt.sha256").read_text(encoding="utf-8").split()[0]
    if sha256_file(CHECKPOINT) != expected:
        raise ValueError(f"{CHECKPOINT}: SHA-256 does not match model.pt.sha256 (damaged or replaced file)")
    return models.load(CHECKPOINT, map_location=map_location)


def metrics() -> dict[str, Any]:
    """The shipped result row (EER, minDCF, size, training time) on the synthetic test trials."""
    return json.loads((FOLDER / "metrics.json").read_text(encoding="utf-8"))
