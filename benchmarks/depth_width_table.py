"""Depth {10, 18, 34} x width {16, 32} at equal training time on the synthetic ``lab`` corpus.

Not part of ``make bench`` (it takes 6 x (budget + evaluation)); run it once:

    python benchmarks/depth_width_table.py --minutes 5

Every model starts from configs/demo.yaml and only its depth and width change; each trains for
the same wall-clock budget (the learning rate follows the budget), so a bigger model sees fewer
samples. Prints and writes the results table (runs/depth-width/table.csv).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from labkit import models
from labkit.config import apply_overrides, load_config
from labkit.evaluate import evaluate, results_table
from labkit.train import train
from labkit.trials import read_trials

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per model")
    parser.add_argument("--root", default=str(REPO / "data" / "synthetic-lab"))
    parser.add_argument("--out-dir", default=str(REPO / "runs" / "depth-width"))
    args = parser.parse_args()
    trials = read_trials(Path(args.root) / "meta" / "veri_test.txt")
    rows = []
    for depth in (10, 18, 34):
        for width in (16, 32):
            name = f"resnet{depth}-w{width}"
            overrides = [f"data.root={args.root}", f"model.depth={depth}", f"model.width={width}",
                         f"run.out_dir={args.out_dir}/{name}", f"run.max_minutes={args.minutes}"]
            run_dir = train(apply_overrides(load_config(REPO / "configs" / "demo.yaml"), overrides), progress=False)
            extra = models.load_extra(run_dir / "model.pt")
            row = evaluate(models.load(run_dir / "model.pt"), trials, args.root, name=name, train_seconds=extra["train_seconds"],
                           progress=False)
            rows.append({**row, "steps": extra["steps"]})
            print(results_table(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    table = results_table(rows)
    table.to_csv(Path(args.out_dir) / "table.csv", index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
