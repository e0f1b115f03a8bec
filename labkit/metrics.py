"""Verification metrics: EER, minDCF, actual DCF and DET points (numpy only).

Conventions, used everywhere in labkit:
- a trial is *accepted* (the system says "same speaker") iff ``score >= threshold``;
- error rates are fractions, not percent: FNR (false rejection / miss rate) and FPR
  (false acceptance rate);
- the operating points are obtained by sweeping the *unique* scores as thresholds, so that
  tied scores form a single operating point. The results therefore do not depend on the
  order of the trials.

How this differs from the peers (see ../shared/fixtures/metrics/metrics_reference.json):
- voxceleb_trainer (``tuneThresholdfromScore``) takes sklearn's ``roc_curve`` point with
  the smallest |FNR - FPR| and reports ``max(FNR, FPR)``: no interpolation, so the EER is
  the worse of two error rates at the nearest ROC point (42.9% on the tiny tied set where
  the crossing is at 29.4%).
- WeSpeaker (NIST SRE16 scoring) sorts with numpy's unstable quicksort and counts errors
  trial by trial, so tied scores are split into several operating points whose order
  depends on the trial order (28.6% or 20.0% on the same tied set, depending on order).
- labkit interpolates linearly between the two operating points that bracket the
  FNR = FPR crossing, and its minDCF is taken over operating points that a threshold can
  actually realise (a tie cannot be split by a threshold).
"""

from __future__ import annotations

import numpy as np

ArrayLike = np.ndarray | list


def _check(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate scores and 0/1 labels; return them as float64 and bool arrays."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 1 or labels.ndim != 1:
        raise ValueError(f"scores and labels must be 1-D, got shapes {scores.shape} and {labels.shape}")
    if len(scores) != len(labels):
        raise ValueError(f"length mismatch: {len(scores)} scores but {len(labels)} labels")
    bad = ~np.isfinite(scores)
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(f"{int(bad.sum())} scores are NaN or infinite (first at trial {first}: {scores[first]})")
    if not np.isin(labels, (0, 1)).all():
        odd = labels[~np.isin(labels, (0, 1))]
        raise ValueError(f"labels must be 0 (non-target) or 1 (target), found {odd[:5].tolist()}")
    labels = labels.astype(bool)
    if labels.all():
        raise ValueError("no non-target trials: FPR is undefined")
    if not labels.any():
        raise ValueError("no target trials: FNR is undefined")
    return scores, labels


def det_curve(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every realisable operating point, from the strictest threshold to the most lenient.

    Returns ``(fpr, fnr, thresholds)``. The first point is ``threshold = +inf`` (accept
    nothing: FNR 1, FPR 0); then one point per unique score ``t`` (accept ``score >= t``),
    the last one accepting everything (FNR 0, FPR 1).
    """
    scores, labels = _check(scores, labels)
    order = np.argsort(scores)[::-1]  # best first; the order inside a tie does not matter (ties are merged below)
    sorted_scores, sorted_labels = scores[order], labels[order]
    true_accepts = np.cumsum(sorted_labels)
    false_accepts = np.cumsum(~sorted_labels)
    last_of_tie = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]  # one operating point per unique score
    n_target, n_nontarget = true_accepts[-1], false_accepts[-1]
    fnr = np.r_[1.0, 1.0 - true_accepts[last_of_tie] / n_target]
    fpr = np.r_[0.0, false_accepts[last_of_tie] / n_nontarget]
    thresholds = np.r_[np.inf, sorted_scores[last_of_tie]]
    return fpr, fnr, thresholds


def _eer_on_curve(fpr: np.ndarray, fnr: np.ndarray, thresholds: np.ndarray) -> tuple[float, float]:
    """EER by linear interpolation at the FNR/FPR crossing of a DET curve (see ``eer``)."""
    gap = fnr - fpr  # goes from +1 (accept nothing) down to -1 (accept everything)
    i = int(np.argmax(gap <= 0))  # first point at or past the crossing (i >= 1 since gap[0] = 1)
    weight = gap[i - 1] / (gap[i - 1] - gap[i])  # where the straight lines between the two points cross
    return float(fpr[i - 1] + weight * (fpr[i] - fpr[i - 1])), float(thresholds[i])


def _min_dcf_on_curve(
    fpr: np.ndarray, fnr: np.ndarray, thresholds: np.ndarray, p_target: float, c_miss: float, c_fa: float
) -> tuple[float, float]:
    """Lowest normalised DCF over the points of a DET curve, and its threshold."""
    cost = _normalised_dcf(fpr, fnr, p_target, c_miss, c_fa)
    best = int(np.argmin(cost))
    return float(cost[best]), float(thresholds[best])


def _normalised_dcf(fpr: np.ndarray, fnr: np.ndarray, p_target: float, c_miss: float, c_fa: float) -> np.ndarray:
    """Detection cost divided by the cost of the best trivial system (accept all or reject all)."""
    if not 0.0 < p_target < 1.0:
        raise ValueError(f"p_target must be in (0, 1), got {p_target}")
    if not (c_miss > 0 and c_fa > 0):
        raise ValueError(f"the costs must be positive, got c_miss={c_miss} and c_fa={c_fa}")
    cost = c_miss * p_target * fnr + c_fa * (1.0 - p_target) * fpr
    return cost / min(c_miss * p_target, c_fa * (1.0 - p_target))


def eer(scores: ArrayLike, labels: ArrayLike) -> tuple[float, float]:
    """Equal error rate and its threshold.

    The EER is where the FNR and FPR curves cross, linearly interpolated between the last
    operating point with FNR > FPR and the first with FNR <= FPR. The threshold returned is
    that second point's: accepting ``score >= threshold`` gives FNR <= EER <= FPR.
    """
    return _eer_on_curve(*det_curve(scores, labels))


def min_dcf(
    scores: ArrayLike, labels: ArrayLike, p_target: float = 0.01, c_miss: float = 1.0, c_fa: float = 1.0
) -> tuple[float, float]:
    """Minimum normalised detection cost over all realisable thresholds, and that threshold.

    ``DCF = c_miss * p_target * FNR + c_fa * (1 - p_target) * FPR``, normalised by
    ``min(c_miss * p_target, c_fa * (1 - p_target))``. The threshold may be ``+inf``
    (reject everything) when no threshold beats that trivial system.
    """
    return _min_dcf_on_curve(*det_curve(scores, labels), p_target, c_miss, c_fa)


def actual_dcf(
    scores: ArrayLike,
    labels: ArrayLike,
    threshold: float,
    p_target: float = 0.01,
    c_miss: float = 1.0,
    c_fa: float = 1.0,
) -> float:
    """Normalised detection cost at a fixed threshold (e.g. one chosen on development data)."""
    scores, labels = _check(scores, labels)
    accepted = scores >= threshold
    fnr = np.mean(~accepted[labels])
    fpr = np.mean(accepted[~labels])
    return float(_normalised_dcf(np.asarray(fpr), np.asarray(fnr), p_target, c_miss, c_fa))


def summarize(
    scores: ArrayLike,
    labels: ArrayLike,
    p_targets: tuple[float, ...] | list[float] = (0.01, 0.05),
    c_miss: float = 1.0,
    c_fa: float = 1.0,
) -> dict[str, float]:
    """EER and minDCF at each prior, as one flat dict (keys ``eer``, ``eer_threshold``,
    ``min_dcf_0.01``, ``min_dcf_0.01_threshold``, ...), computed from a single sweep."""
    curve = det_curve(scores, labels)
    value, threshold = _eer_on_curve(*curve)
    result = {"eer": value, "eer_threshold": threshold}
    for p in p_targets:
        value, threshold = _min_dcf_on_curve(*curve, p, c_miss, c_fa)
        result[f"min_dcf_{p:g}"] = value
        result[f"min_dcf_{p:g}_threshold"] = threshold
    return result
