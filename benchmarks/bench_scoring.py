"""Cosine scoring of 600,000 trials over 5,000 utterances with 256-d embeddings.

Baseline, measured in the same run: a per-trial Python loop over a dict of vectors (how a
first attempt usually looks), timed on a 20,000-trial slice and scaled. Target: < 1 s.
Times are CPU time (``process_time``, best of 5; the scoring runs on one thread), so that the
other jobs of a shared machine do not count.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import best_cpu_times, check, finish  # noqa: E402

from labkit.scoring import cosine_scores  # noqa: E402
from labkit.trials import Trials  # noqa: E402

N_TRIALS, N_UTTERANCES, DIM, LOOP_SLICE = 600_000, 5_000, 256, 20_000


def loop_scores(trials: Trials, table: dict[str, np.ndarray]) -> np.ndarray:
    """One trial at a time: look up, normalise, dot."""
    out = np.empty(len(trials))
    for i, (e, t) in enumerate(zip(trials.enroll, trials.test)):
        a, b = table[e], table[t]
        out[i] = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    ids = np.array([f"id{i // 50:05d}/video{i % 7}/{i:05d}.wav" for i in range(N_UTTERANCES)])
    embeddings = rng.normal(size=(N_UTTERANCES, DIM)).astype(np.float32)
    pairs = rng.integers(0, N_UTTERANCES, size=(N_TRIALS, 2))
    trials = Trials(rng.integers(0, 2, N_TRIALS).astype(np.int8), ids[pairs[:, 0]], ids[pairs[:, 1]])
    ours = best_cpu_times({"ours": lambda: cosine_scores(trials, ids, embeddings)}, repeats=5)["ours"]
    table = dict(zip(ids, embeddings))
    sliced = Trials(trials.labels[:LOOP_SLICE], trials.enroll[:LOOP_SLICE], trials.test[:LOOP_SLICE])
    loop = best_cpu_times({"loop": lambda: loop_scores(sliced, table)}, repeats=1)["loop"] * N_TRIALS / LOOP_SLICE
    assert np.allclose(cosine_scores(sliced, ids, embeddings), loop_scores(sliced, table), atol=1e-5)
    print(f"trials: {N_TRIALS:,}, utterances: {N_UTTERANCES:,}, dim: {DIM}")
    print(f"labkit cosine_scores: {ours * 1000:8.1f} ms (CPU time)")
    print(f"per-trial loop (scaled from {LOOP_SLICE:,}): {loop * 1000:8.1f} ms")
    print(f"speed ratio loop/labkit: {loop / ours:.1f}x")
    check("cosine scores, 600,000 trials: time", ours * 1000, 1000, at_least=False, unit=" ms", digits=0)


if __name__ == "__main__":
    main()
    raise SystemExit(finish())
