"""LivePlot's share of training time: target <= 2 % (issue 10), against redrawing at every log row.

A notebook passes ``on_log=LivePlot()`` to ``labkit.train``; every redraw of the figure takes a
noticeable fraction of a second. This trains a small ResNet on a synthetic corpus for a fixed time,
logging every step (the worst case), twice in this run: with a plot that redraws at every row (the
old behaviour, the baseline) and with LivePlot's throttle. It prints the time spent plotting as a
share of the training time for both, and exits 1 when the throttled share is over the target.

    python benchmarks/bench_liveplot.py [--minutes 2]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import check, finish  # noqa: E402

from labkit.config import ExperimentConfig, apply_overrides  # noqa: E402
from labkit.data.synthetic import make_corpus  # noqa: E402
from labkit.train import LivePlot, train  # noqa: E402


class TimedPlot:
    """Counts the seconds that a LivePlot takes, in its calls and in ``finish()``."""

    def __init__(self, plot: LivePlot) -> None:
        self.plot, self.seconds, self.rows = plot, 0.0, 0

    def __call__(self, row: dict[str, Any]) -> None:
        started = time.perf_counter()
        self.plot(row)
        self.seconds += time.perf_counter() - started
        self.rows += 1

    def finish(self) -> None:
        started = time.perf_counter()
        self.plot.finish()
        self.seconds += time.perf_counter() - started


def plotting_share(root: Path, out_dir: Path, minutes: float, plot: LivePlot) -> tuple[float, int]:
    """(plotting seconds / training seconds, rows logged) of one time-budget run."""
    overrides = [f"data.root={root}", f"run.out_dir={out_dir}", "data.batch_size=16", "data.num_workers=0", "data.crop_seconds=1.0",
                 "model.width=8", "model.embed_dim=64", "model.frontend.n_mels=40", "run.epochs=10000", "run.device=cpu",
                 f"run.max_minutes={minutes}", "run.log_every_steps=1", "run.checkpoint_every_steps=100000"]
    timed = TimedPlot(plot)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # outside a notebook, display() prints each figure's repr
        train(apply_overrides(ExperimentConfig(), overrides), progress=False, on_log=timed)
    return timed.seconds / (time.perf_counter() - started), timed.rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="training time of each run (default: %(default)s)")
    args = parser.parse_args()
    matplotlib.use("Agg")
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_corpus(Path(tmp) / "corpus", preset="tiny", speakers=60, seed=0)
        every_row, rows = plotting_share(root, Path(tmp) / "every", args.minutes, LivePlot(max_share=float("inf")))
        throttled, _ = plotting_share(root, Path(tmp) / "throttled", args.minutes, LivePlot())
    print(f"  redraw at every row (baseline): {100 * every_row:.1f} % of training time ({rows} rows in {args.minutes:g} min); "
          f"LivePlot: {every_row / max(throttled, 1e-9):.1f}x less")
    check("LivePlot's share of training time", 100 * throttled, 2.0, at_least=False, unit=" %", digits=1)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
