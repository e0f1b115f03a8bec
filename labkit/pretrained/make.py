"""How the built-in pretrained model is made: evaluate a finished run and copy it, with its records, into the package.

Made by (see configs/pretrained-synthetic.yaml)::

    labkit make-corpus --out data/synthetic-pretrain --preset lab --seed 1 --speakers 1000
    labkit make-corpus --out data/synthetic-lab --preset lab
    labkit train --config configs/pretrained-synthetic.yaml
    python -m labkit.pretrained.make runs/pretrained-synthetic data/synthetic-lab

The model trains on the first corpus (another seed: none of its voices is a ``lab`` speaker) and
is evaluated on the second's test trials, the ones the notebooks use.

A module of its own because it sits above ``labkit.evaluate``, which itself loads the
pretrained model: ``labkit.pretrained`` stays a loader that imports nothing from evaluation.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from labkit import models
from labkit.evaluate import evaluate, write_json
from labkit.files import atomic_path, sha256_file, write_text_atomic
from labkit.pretrained import FOLDER
from labkit.trials import read_trials


def package(run_dir: str | Path, root: str | Path, dest: str | Path = FOLDER) -> dict[str, Any]:
    """Evaluate a finished run on ``root``'s test trials and copy it, with its records, into ``dest``."""
    run_dir, dest = Path(run_dir), Path(dest)
    model = models.load(run_dir / "model.pt")
    trials = read_trials(Path(root) / "meta" / "veri_test.txt")
    row = evaluate(model, trials, root, name="pretrained-synthetic", train_seconds=models.load_extra(run_dir / "model.pt").get("train_seconds"))
    for name in ("model.pt", "config.yaml", "history.csv"):
        with atomic_path(dest / name) as tmp:
            shutil.copyfile(run_dir / name, tmp)
    write_json(dest / "metrics.json", row)
    write_text_atomic(dest / "model.pt.sha256", f"{sha256_file(dest / 'model.pt')}  model.pt\n")  # last: marks a complete package
    return row


if __name__ == "__main__":
    print(package(*sys.argv[1:3]))
