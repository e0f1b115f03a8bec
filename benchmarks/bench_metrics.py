"""EER + minDCF on a Vox1-H sized trial list (550,894 trials), against an sklearn baseline.

The baseline is the straightforward recipe found in many toolkits: sklearn's ``roc_curve``
then the point nearest FNR = FPR and a minDCF loop over its thresholds. Both are timed in
this run, on the same scores. Target: labkit under 0.5 s and not slower than the baseline.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_curve

sys.path.insert(0, str(Path(__file__).parent))
from common import best_time, check, finish  # noqa: E402

from labkit import metrics  # noqa: E402

N_TRIALS = 550_894


def sklearn_eer_min_dcf(scores: np.ndarray, labels: np.ndarray, p_target: float = 0.01) -> tuple[float, float]:
    """The usual sklearn-based implementation (no tie handling, no interpolation)."""
    fpr, tpr, _ = roc_curve(labels, scores, pos_label=1, drop_intermediate=False)
    fnr = 1 - tpr
    i = np.nanargmin(np.abs(fnr - fpr))
    eer = max(fpr[i], fnr[i])
    dcf = (p_target * fnr + (1 - p_target) * fpr) / min(p_target, 1 - p_target)
    return float(eer), float(dcf.min())


def main() -> None:
    rng = np.random.default_rng(0)
    n_target = N_TRIALS // 2
    scores = np.r_[rng.normal(0.6, 0.15, n_target), rng.normal(0.1, 0.12, N_TRIALS - n_target)]
    scores = np.round(scores, 5)  # score files are often written with 5 decimals: ties, as in real lists
    labels = np.r_[np.ones(n_target, dtype=np.int8), np.zeros(N_TRIALS - n_target, dtype=np.int8)]
    order = rng.permutation(N_TRIALS)
    scores, labels = scores[order], labels[order]

    ours = best_time(lambda: metrics.summarize(scores, labels, p_targets=(0.01,)))
    baseline = best_time(lambda: sklearn_eer_min_dcf(scores, labels))
    summary = metrics.summarize(scores, labels, p_targets=(0.01,))
    reference = sklearn_eer_min_dcf(scores, labels)
    print(f"trials: {N_TRIALS:,}")
    print(f"labkit  EER+minDCF: {ours * 1000:7.1f} ms   (EER {100 * summary['eer']:.4f}%, minDCF {summary['min_dcf_0.01']:.4f})")
    print(f"sklearn EER+minDCF: {baseline * 1000:7.1f} ms   (EER {100 * reference[0]:.4f}%, minDCF {reference[1]:.4f})")
    check("EER + minDCF, 550,894 trials: speed vs sklearn", baseline / ours, 1.0, unit="x")
    check("EER + minDCF, 550,894 trials: time", ours * 1000, 500, at_least=False, unit=" ms", digits=0)


if __name__ == "__main__":
    main()
    raise SystemExit(finish())
