"""Time to quality: a ResNet10 of width 16 trained from scratch reaches <= 10 % EER within 5 CPU minutes.

The demo's recipe (configs/demo.yaml) with a time budget in place of its fixed number of epochs: the
learning rate follows the budget down, as in a student's ``labkit train --max-minutes 5``. How far a
budget gets depends on the machine, so this verdict lives here, not in the tests (tests/test_train.py
trains the same recipe for its fixed epochs and checks the EER). On 2 threads, on the synthetic
``lab`` corpus (generated in a temporary folder unless --root names one). Also prints the share of
the demo's fixed steps that fit in the budget: 1.0 or more means that `make demo` trains in about
that time here. Exits 1 when the target is missed (``common.check``).

    python benchmarks/bench_time_to_quality.py [--minutes 5] [--root data/synthetic-lab]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import check, finish  # noqa: E402

from labkit import models  # noqa: E402
from labkit.config import apply_overrides, load_config  # noqa: E402
from labkit.data.synthetic import make_corpus  # noqa: E402
from labkit.evaluate import evaluate  # noqa: E402
from labkit.train import train  # noqa: E402
from labkit.trials import read_trials  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget (default: %(default)s)")
    parser.add_argument("--root", help="synthetic lab corpus (default: generate one in a temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.root) if args.root else make_corpus(Path(tmp) / "lab", preset="lab", seed=0)
        demo = load_config(REPO / "configs" / "demo.yaml")
        cfg = apply_overrides(demo, [f"data.root={root}", f"run.out_dir={tmp}/run", "run.device=cpu", "run.epochs=1000",
                                     f"run.max_minutes={args.minutes}"])
        run_dir = train(cfg, progress=False)
        extra = models.load_extra(run_dir / "model.pt")
        row = evaluate(models.load(run_dir / "model.pt"), read_trials(root / "meta" / "veri_test.txt"), root, name="scratch",
                       progress=False)
        demo_steps = demo.run.epochs * (sum(1 for _ in open(root / "meta" / "train_list.txt")) // demo.data.batch_size)
    print(f"  ResNet10-w16 from scratch, {args.minutes:g} CPU min: {extra['steps']} steps "
          f"({extra['steps'] / demo_steps:.2f} of the demo's fixed {demo_steps})")
    check(f"ResNet10-w16 EER after {args.minutes:g} CPU min from scratch", row["eer_%"], 10.0, at_least=False, unit=" %")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
