"""What every benchmark shares: timings that survive a loaded machine, and targets that are checked, not only printed.

Timing: ``best_time`` is the fastest of N wall-clock runs. ``best_times`` compares functions on a
machine that other jobs share: it runs them in turn (each once per round, in a shuffled order), so that every one sees the same
load, and takes each one's fastest run. ``best_cpu_times`` does so in CPU time of this process (time
the process waited for a core is not counted; time lost to cache misses and page faults is).

A benchmark measures its figure and a baseline in the same run, then calls ``check(...)`` for
each target: the line printed says pass or MISSED, and ``finish()`` (the script's exit code) is 1
when any target was missed. With ``$LABKIT_BENCH_RESULTS`` set (``make bench`` sets it), every
check is also appended to that file as a JSON line, and ``python benchmarks/common.py FILE``
prints them as one table: target, figure, verdict.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS_ENV = "LABKIT_BENCH_RESULTS"
CHECKS: list[dict] = []  # the checks of this process


def best_time(function: Callable[[], object], repeats: int = 5) -> float:
    """Fastest of ``repeats`` runs, in seconds (the least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def best_times(functions: dict[str, Callable[[], object]], repeats: int = 9, clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Each function's fastest of ``repeats`` runs, in seconds of ``clock``, the runs interleaved (every function once
    per round) in an order shuffled each round (seeded): no function always follows the same one (a run that leaves
    the memory allocator or the caches in a bad state would always slow down its successor)."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    order = random.Random(0)
    for _ in range(repeats):
        for name in order.sample(list(functions), len(functions)):
            function = functions[name]
            start = clock()
            function()
            times[name].append(clock() - start)
    return {name: min(runs) for name, runs in times.items()}


def best_cpu_times(functions: dict[str, Callable[[], object]], repeats: int = 9) -> dict[str, float]:
    """``best_times`` in CPU seconds of this process (``time.process_time``), for single-threaded work
    (``torch.set_num_threads(1)``): CPU time then measures the work, not the wait for a core."""
    return best_times(functions, repeats, clock=time.process_time)


def check(name: str, figure: float, target: float, at_least: bool = True, unit: str = "", digits: int = 2) -> bool:
    """Compare ``figure`` with ``target`` (``figure >= target``, or ``<=`` when ``at_least`` is False); print and record it."""
    passed = figure >= target if at_least else figure <= target
    row = {
        "benchmark": Path(sys.argv[0]).stem,
        "check": name,
        "target": f"{'>=' if at_least else '<='} {target:.{digits}f}{unit}",
        "figure": f"{figure:.{digits}f}{unit}",
        "verdict": "pass" if passed else "MISSED",
    }
    CHECKS.append(row)
    print(f"  [{row['verdict']}] {name}: {row['figure']} (target {row['target']})")
    if os.environ.get(RESULTS_ENV):
        with open(os.environ[RESULTS_ENV], "a", encoding="utf-8") as results:
            results.write(json.dumps(row) + "\n")
    return passed


def finish() -> int:
    """The benchmark's exit code: 1 if any of its targets was missed, else 0."""
    return int(any(row["verdict"] != "pass" for row in CHECKS))


def table(rows: list[dict]) -> str:
    """The checks as a Markdown table (what the README's Benchmarks section shows)."""
    lines = ["| benchmark | check | target | figure | verdict |", "|---|---|---|---|---|"]
    lines += [f"| {r['benchmark']} | {r['check']} | {r['target']} | {r['figure']} | {r['verdict']} |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":  # python benchmarks/common.py RESULTS.jsonl: the table of a whole `make bench`
    rows = [json.loads(line) for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines() if line.strip()]
    print(table(rows))
    missed = sum(row["verdict"] != "pass" for row in rows)
    print(f"\n{len(rows) - missed} of {len(rows)} targets met" + (f"; {missed} MISSED" if missed else ""))
    raise SystemExit(int(missed > 0))
