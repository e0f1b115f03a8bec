"""The built-in pretrained model: a small ResNet trained on the synthetic ``lab`` corpus.

Made by (see configs/pretrained-synthetic.yaml)::

    labkit make-corpus data/synthetic-lab --preset lab
    labkit train --config configs/pretrained-synthetic.yaml
    python -c "import labkit.pretrained as p; p.package('runs/pretrained-synthetic', 'data/synthetic-lab')"

This folder holds ``model.pt`` (the weights, <= 5 MB), ``model.pt.sha256``, ``config.yaml``
(the training configuration), ``history.csv`` (the training log) and ``metrics.json`` (its
result row on the synthetic test trials).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from labkit.files import atomic_path, write_text_atomic

FOLDER = Path(__file__).resolve().parent
CHECKPOINT = FOLDER / "model.pt"


def sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(map_location: str = "cpu"):
    """The pretrained SpeakerModel, after checking the file against its recorded SHA-256."""
    from labkit import models

    expected = (FOLDER / "model.pt.sha256").read_text(encoding="utf-8").split()[0]
    if sha256(CHECKPOINT) != expected:
        raise ValueError(f"{CHECKPOINT}: SHA-256 does not match model.pt.sha256 (damaged or replaced file)")
    return models.load(CHECKPOINT, map_location=map_location)


def metrics() -> dict[str, Any]:
    """The shipped result row (EER, minDCF, size, training time) on the synthetic test trials."""
    return json.loads((FOLDER / "metrics.json").read_text(encoding="utf-8"))


def package(run_dir: str | Path, root: str | Path, dest: str | Path = FOLDER) -> dict[str, Any]:
    """Evaluate a finished run on ``root``'s test trials and copy it, with its records, into ``dest``."""
    from labkit import models
    from labkit.evaluate import evaluate, write_json
    from labkit.trials import read_trials

    run_dir, dest = Path(run_dir), Path(dest)
    model = models.load(run_dir / "model.pt")
    trials = read_trials(Path(root) / "meta" / "veri_test.txt")
    row = evaluate(model, trials, root, name="pretrained-synthetic", train_seconds=models.load_extra(run_dir / "model.pt").get("train_seconds"))
    for name in ("model.pt", "config.yaml", "history.csv"):
        with atomic_path(dest / name) as tmp:
            shutil.copyfile(run_dir / name, tmp)
    write_json(dest / "metrics.json", row)
    write_text_atomic(dest / "model.pt.sha256", f"{sha256(dest / 'model.pt')}  model.pt\n")  # last: marks a complete package
    return row
