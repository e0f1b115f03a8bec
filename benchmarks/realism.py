"""Realism of the synthetic corpus: a real speaker encoder (Resemblyzer) against the training-free baseline.

Issue 14's target: on the `lab` trials Resemblyzer, trained on real speech only, gets an EER of at
most 12 % (the synthetic speakers differ in what real speakers differ in), while labkit's
training-free baseline stays within 15-35 % (channels and sessions still matter). Prints both
systems' EER (all, cross-session, same-session targets) and minDCF; exits 1 if a target is missed.

    python benchmarks/realism.py                       # makes data/synthetic-lab if needed, all 8,000 trials
    python benchmarks/realism.py --root DIR --max-trials 2000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import check, finish  # noqa: E402

from labkit.data.synthetic import make_corpus  # noqa: E402
from labkit.realism import BASELINE_EER_RANGE, RESEMBLYZER_EER_MAX, realism  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="data/synthetic-lab", help="corpus (made with the lab preset, seed 0, if missing)")
    parser.add_argument("--max-trials", type=int, default=0, help="a random subset of the trials (0 = all)")
    args = parser.parse_args()
    root = Path(args.root)
    if not root.exists():
        make_corpus(root, preset="lab", seed=0)
    started = time.perf_counter()
    table = realism(root, max_trials=args.max_trials, progress=False)
    print(table.to_string(index=False), f"\n({time.perf_counter() - started:.0f} s)")
    resemblyzer, baseline = table["eer_%"].iloc[0], table["eer_%"].iloc[1]
    check("Resemblyzer EER on the synthetic trials (%)", resemblyzer, 100 * RESEMBLYZER_EER_MAX, at_least=False)
    check("baseline EER, at least (%)", baseline, 100 * BASELINE_EER_RANGE[0])
    check("baseline EER, at most (%)", baseline, 100 * BASELINE_EER_RANGE[1], at_least=False)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
