"""labkit.thresholds: FA/FR against the threshold, operating points, the cost formula, the static figure, the widget."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import metrics
from labkit.thresholds import APPLICATIONS, Application, describe, error_rates, operating_point, operating_points, threshold_explorer, threshold_figure

# 4 targets, 6 non-targets: accepting score >= 0.5 lets in 2 impostors (0.6, 0.5) and turns away 1 target (0.4)
SCORES = np.array([0.9, 0.8, 0.7, 0.4, 0.6, 0.5, 0.3, 0.2, 0.1, 0.0])
LABELS = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_error_rates_are_the_det_curve_by_ascending_threshold():
    rates = error_rates(SCORES, LABELS)
    assert rates["threshold"].tolist() == sorted(SCORES.tolist())
    at_half = rates[rates["threshold"] == 0.5].iloc[0]
    assert at_half["fa_rate"] == pytest.approx(2 / 6) and at_half["fr_rate"] == pytest.approx(1 / 4)
    assert rates["fa_rate"].is_monotonic_decreasing and rates["fr_rate"].is_monotonic_increasing
    assert (rates["fa_rate"].iloc[0], rates["fr_rate"].iloc[0]) == (1.0, 0.0)  # lowest threshold: accept everyone


def test_operating_point_counts_rates_and_cost():
    bank = APPLICATIONS["bank"]
    point = operating_point(SCORES, LABELS, 0.5, bank)
    assert (point["true_accepts"], point["false_rejects"], point["false_accepts"], point["true_rejects"]) == (3, 1, 2, 4)
    assert point["fa_rate"] == pytest.approx(1 / 3) and point["fr_rate"] == pytest.approx(0.25)
    expected = (1 * 0.01 * 0.25 + 10 * 0.99 / 3) / 0.01  # the formula by hand, normalised by min(0.01, 9.9)
    assert point["dcf"] == pytest.approx(expected) == pytest.approx(330.25)
    assert "dcf" not in operating_point(SCORES, LABELS, 0.5)


def test_operating_points_reuse_the_metrics():
    table = operating_points(SCORES, LABELS).set_index("point")
    value, threshold = metrics.eer(SCORES, LABELS)
    assert table.loc["EER", "threshold"] == threshold == 0.5 and table.loc["EER", "cost"] == f"EER {100 * value:.2f} %"
    for key, app in APPLICATIONS.items():
        cost, at = metrics.min_dcf(SCORES, LABELS, app.p_target, app.c_miss, app.c_fa)
        assert table.loc[f"minDCF {key}", "threshold"] == at
        assert table.loc[f"minDCF {key}", "cost"] == f"minDCF {cost:.3f}"
    assert table.loc["minDCF bank", "fa_%"] == 0.0  # the bank never lets an impostor in: its threshold is above all of them
    assert table.loc["minDCF bank", "threshold"] == 0.7 and table.loc["minDCF bank", "fr_%"] == 25.0


def test_describe_prints_the_formula_with_costs_and_thresholds():
    text = describe(SCORES, LABELS)
    assert "DCF(t) = C_miss x P_target x FR(t) + C_fa x (1 - P_target) x FA(t)" in text
    assert "DCF = 1 x 0.01 x FR + 10 x 0.99 x FA, normalised by 0.01" in text  # the bank, numbers in place
    assert "DCF = 1 x 0.8 x FR + 1 x 0.2 x FA, normalised by 0.2" in text  # the smart speaker
    assert "minDCF bank" in text and "0.7" in text


def test_figure_marks_eer_and_each_minimum():
    fig = threshold_figure(SCORES, LABELS, threshold=0.55)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels[:2] == ["false acceptances (FA)", "false rejections (FR)"]
    assert labels[2].startswith("EER 25.00 % at 0.500")
    assert sum(label.startswith("minDCF") for label in labels) == len(APPLICATIONS)
    assert labels[-1] == "threshold 0.550"


def test_an_application_that_should_reject_everyone_draws_no_line():
    never = {"never": Application("never", p_target=0.001, c_miss=1.0, c_fa=1000.0, title="nobody", about="")}
    scores = np.r_[SCORES, 0.95]  # the best-scoring trial is an impostor: every threshold that accepts anyone accepts him
    labels = np.r_[LABELS, 0]
    assert metrics.min_dcf(scores, labels, 0.001, 1.0, 1000.0)[1] == np.inf
    labels = [line.get_label() for line in threshold_figure(scores, labels, never).axes[0].get_lines()]
    assert not any(label.startswith("minDCF") for label in labels)


def test_explorer_follows_the_slider_and_the_application():
    panel = threshold_explorer(SCORES, LABELS)
    (slider, menu), readout = panel.children[0].children, panel.children[1]
    assert slider.value == pytest.approx(0.5) and menu.value == "bank"  # starts at the EER threshold
    assert "3 true accepts" in readout.value and "2 false acceptances" in readout.value and "normalised DCF <b>330.250</b>" in readout.value
    slider.value = 0.55  # one impostor (0.5) fewer gets in
    assert "3 true accepts" in readout.value and "1 false rejections" in readout.value and "1 false acceptances" in readout.value
    assert "FA 16.67 %, FR 25.00 %" in readout.value and "normalised DCF <b>165.250</b>" in readout.value
    menu.value = "speaker"
    expected = (0.8 * 0.25 + 0.2 / 6) / 0.2
    assert "smart speaker" in readout.value and f"normalised DCF <b>{expected:.3f}</b>" in readout.value


def test_spanish_figure_formula_and_readout():
    from labkit.i18n import in_language

    with in_language("es"):
        assert "DCF = 1 x 0.01 x FR + 10 x 0.99 x FA, normalizada por 0.01" in describe(SCORES, LABELS)
        labels = [line.get_label() for line in threshold_figure(SCORES, LABELS).axes[0].get_lines()]
        assert labels[:3] == ["falsas aceptaciones (FA)", "falsos rechazos (FR)", "EER 25.00 % en 0.500"]
        readout = threshold_explorer(SCORES, LABELS).children[1].value
        assert "línea telefónica de un banco" in readout and "3 aceptaciones correctas" in readout and "2 falsas aceptaciones" in readout
