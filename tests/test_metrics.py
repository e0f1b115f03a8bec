"""EER / minDCF / DET against the shared tie-aware reference, brute force and properties."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import metrics

P_TARGETS = (0.01, 0.05)


@pytest.fixture(scope="module")
def reference(fixtures_dir):
    return json.loads((fixtures_dir / "metrics" / "metrics_reference.json").read_text())


@pytest.fixture(scope="module")
def gaussian(fixtures_dir):
    arrays = np.load(fixtures_dir / "metrics" / "gaussian_scores.npz")
    return arrays["scores"], arrays["labels"]


def _check_against(expected: dict, scores, labels) -> None:
    for p in P_TARGETS:
        ref = expected[f"p_target={p}"]["reference_tie_aware"]
        value, _ = metrics.eer(scores, labels)
        assert value == pytest.approx(ref["eer_percent_interp"] / 100, abs=1e-9)
        value, _ = metrics.min_dcf(scores, labels, p_target=p)
        assert value == pytest.approx(ref["mindcf"], abs=1e-9)


@pytest.mark.parametrize("name", ["tiny_ties", "block_ties", "separable"])
def test_small_sets_match_reference(reference, name):
    case = reference[name]
    scores, labels = np.array(case["scores"]), np.array(case["labels"])
    _check_against(case["metrics"], scores, labels)
    # the peers' results change when tied trials are reordered (the fixture's variants); ours must not
    reorderings = {
        "metrics_reversed_order": np.arange(len(scores))[::-1],
        "metrics_order_targets_last_in_tie": np.lexsort((labels, -scores)),  # best first, targets last inside a tie
    }
    variants = [key for key in case if key.startswith("metrics_")]
    for key in variants:
        order = reorderings[key]  # an unknown variant fails here, so the test keeps up with the fixture
        _check_against(case[key], scores[order], labels[order])


def test_gaussian_set_matches_reference(reference, gaussian):
    scores, labels = gaussian
    assert len(scores) == 220_000
    _check_against(reference["gaussian"]["metrics"], scores, labels)
    for decimals in (5, 2):
        key = f"metrics_scores_rounded_{decimals}dp"
        if key in reference["gaussian"]:
            _check_against(reference["gaussian"][key], np.round(scores, decimals), labels)


def test_peers_disagree_where_we_are_exact(reference):
    """The fixture's point: on tied scores voxceleb_trainer and WeSpeaker differ from each other."""
    tiny = reference["tiny_ties"]["metrics"]["p_target=0.01"]
    value, threshold = metrics.eer(reference["tiny_ties"]["scores"], reference["tiny_ties"]["labels"])
    assert tiny["voxceleb_trainer"]["eer_percent"] != pytest.approx(tiny["wespeaker"]["eer_percent"])
    assert 100 * value == pytest.approx(29.411764705882355)
    assert threshold == 0.6


def brute_force(scores: np.ndarray, labels: np.ndarray, p_target: float) -> tuple[float, float]:
    """Slow, obviously-correct reference: try every threshold, count errors trial by trial."""
    thresholds = [np.inf] + sorted(set(scores.tolist()), reverse=True)
    points = []
    for t in thresholds:
        misses = sum(1 for s, l in zip(scores, labels) if l == 1 and not s >= t)
        false_alarms = sum(1 for s, l in zip(scores, labels) if l == 0 and s >= t)
        points.append((misses / labels.sum(), false_alarms / (len(labels) - labels.sum())))
    for (fnr0, fpr0), (fnr1, fpr1) in zip(points, points[1:]):
        if fnr1 <= fpr1:  # first point past the crossing: intersect the two segments
            a = (fnr0 - fpr0) / ((fnr0 - fpr0) - (fnr1 - fpr1))
            eer = fpr0 + a * (fpr1 - fpr0)
            break
    norm = min(p_target, 1 - p_target)
    dcf = min((p_target * fnr + (1 - p_target) * fpr) / norm for fnr, fpr in points)
    return eer, dcf


score_sets = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 9).map(lambda k: k / 10), min_size=n, max_size=n),  # few values: many ties
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
).filter(lambda sl: 0 < sum(sl[1]) < len(sl[1]))


@settings(max_examples=150, deadline=None)
@given(score_sets)
def test_agrees_with_brute_force(data):
    scores, labels = np.array(data[0]), np.array(data[1])
    for p in P_TARGETS:
        expected_eer, expected_dcf = brute_force(scores, labels, p)
        assert metrics.eer(scores, labels)[0] == pytest.approx(expected_eer, abs=1e-12)
        assert metrics.min_dcf(scores, labels, p)[0] == pytest.approx(expected_dcf, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(score_sets, st.randoms(use_true_random=False))
def test_order_independent(data, rnd):
    scores, labels = np.array(data[0]), np.array(data[1])
    order = np.array(rnd.sample(range(len(scores)), len(scores)))
    assert metrics.summarize(scores, labels) == metrics.summarize(scores[order], labels[order])


@settings(max_examples=100, deadline=None)
@given(score_sets)
def test_invariant_to_monotone_transforms(data):
    scores, labels = np.array(data[0]), np.array(data[1])
    transformed = np.exp(3 * scores) - 7  # strictly increasing: same decisions, other thresholds
    for a, b in [(metrics.eer(scores, labels), metrics.eer(transformed, labels))] + [
        (metrics.min_dcf(scores, labels, p), metrics.min_dcf(transformed, labels, p)) for p in P_TARGETS
    ]:
        assert a[0] == pytest.approx(b[0], abs=1e-12)
        assert np.exp(3 * a[1]) - 7 == pytest.approx(b[1])  # the same operating point, moved


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 200), st.integers(1, 200), st.floats(0.0, 5.0), st.integers(0, 2**31 - 1))
def test_eer_in_range_for_informative_scores(n_target, n_nontarget, shift, seed):
    rng = np.random.default_rng(seed)
    scores = np.r_[rng.normal(shift, 1, n_target), rng.normal(0, 1, n_nontarget)]
    labels = np.r_[np.ones(n_target), np.zeros(n_nontarget)]
    value, threshold = metrics.eer(scores, labels)
    assert 0.0 <= value <= 1.0
    # an informative system (targets ranked above non-targets on average) does no worse than chance
    if shift >= 2.0 and min(n_target, n_nontarget) >= 20:
        assert value <= 0.5
    accepted = scores >= threshold
    fnr, fpr = np.mean(~accepted[labels == 1]), np.mean(accepted[labels == 0])
    assert fnr <= value + 1e-12 and value <= fpr + 1e-12  # the returned threshold brackets the EER


def test_det_curve_endpoints_and_monotone(gaussian):
    fpr, fnr, thresholds = metrics.det_curve(*gaussian)
    assert (fpr[0], fnr[0], thresholds[0]) == (0.0, 1.0, np.inf)
    assert (fpr[-1], fnr[-1]) == (1.0, 0.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(fnr) <= 0) and np.all(np.diff(thresholds) < 0)
    assert len(thresholds) == len(np.unique(gaussian[0])) + 1


def test_actual_dcf_at_min_dcf_threshold_equals_min_dcf(gaussian):
    for p in P_TARGETS:
        value, threshold = metrics.min_dcf(*gaussian, p_target=p)
        assert metrics.actual_dcf(*gaussian, threshold, p_target=p) == pytest.approx(value, abs=1e-12)
    # a threshold far too high rejects everything: cost of the trivial system = 1
    assert metrics.actual_dcf(*gaussian, 1e9, p_target=0.01) == pytest.approx(1.0)


def test_costs_change_the_normalisation():
    scores, labels = np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 0, 1, 0])
    # threshold 0.3 accepts both targets and one of two non-targets: FNR 0, FPR 0.5
    assert metrics.actual_dcf(scores, labels, 0.3, p_target=0.5, c_miss=1, c_fa=2) == pytest.approx(0.5 * 2 * 0.5 / 0.5)


@pytest.mark.parametrize(
    "scores, labels, message",
    [
        ([0.1, 0.2], [1, 1], "no non-target"),
        ([0.1, 0.2], [0, 0], "no target"),
        ([0.1, np.nan], [1, 0], "NaN or infinite"),
        ([0.1, np.inf], [1, 0], "NaN or infinite"),
        ([0.1, 0.2], [1, 2], "labels must be 0"),
        ([0.1, 0.2, 0.3], [1, 0], "length mismatch"),
    ],
)
def test_bad_input_is_refused(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        metrics.eer(scores, labels)


def test_bad_prior_is_refused():
    with pytest.raises(ValueError, match="p_target"):
        metrics.min_dcf([0.1, 0.2], [1, 0], p_target=1.0)
