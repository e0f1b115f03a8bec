"""DET curves and score histograms for the Gaussian reference set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from labkit import metrics, plots


@pytest.fixture(scope="module")
def gaussian(fixtures_dir):
    arrays = np.load(fixtures_dir / "metrics" / "gaussian_scores.npz")
    return arrays["scores"], arrays["labels"]


def test_det_plot_has_probit_axes_legend_and_eer_point(gaussian, tmp_path):
    scores, labels = gaussian
    worse = scores + np.random.default_rng(0).normal(0, 0.08, len(scores))  # a noisier second system
    fig = plots.det_plot({"system A": (scores, labels), "system B": (worse, labels)})
    ax = fig.axes[0]
    # ticks at 0.1% ... 40% sit at their normal deviates
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "40"]
    assert np.allclose(ax.get_xticks(), norm.ppf(plots.DET_TICKS))
    assert "False acceptance rate (%)" == ax.get_xlabel() and "False rejection rate (%)" == ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    eer_a = metrics.eer(scores, labels)[0]
    assert legend[0] == f"system A (EER {100 * eer_a:.2f}%)"
    assert legend[1].startswith("system B (EER ") and float(legend[1][14:-2]) > 100 * eer_a
    marker = ax.lines[1]  # the EER point of system A lies on the diagonal at probit(EER)
    assert marker.get_xdata()[0] == pytest.approx(norm.ppf(eer_a)) == marker.get_ydata()[0]
    curve_x = ax.lines[0].get_xdata()
    assert 100 < len(curve_x) < 20_000  # thinned, not 220,000 points
    written = plots.save_figure(fig, tmp_path / "det")
    assert [p.name for p in written] == ["det.pdf", "det.png"]
    pdf = written[0].read_bytes()
    assert pdf.startswith(b"%PDF") and b"/CIDFontType2" in pdf and b"/Type3" not in pdf  # fonttype 42: embedded TrueType
    assert written[1].read_bytes().startswith(b"\x89PNG")


def test_score_histogram_densities_and_threshold(gaussian, tmp_path):
    scores, labels = gaussian
    _, threshold = metrics.eer(scores, labels)
    fig = plots.score_histogram(scores, labels, threshold=threshold)
    ax = fig.axes[0]
    non_target, target = ax.containers
    widths = np.array([patch.get_width() for patch in target])
    for bars in (non_target, target):
        heights = np.array([patch.get_height() for patch in bars])
        assert np.sum(heights * widths) == pytest.approx(1.0)  # each is a density
    assert ax.lines[0].get_xdata()[0] == pytest.approx(threshold)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "target (20000)" in legend and "non-target (200000)" in legend
    plots.save_figure(fig, tmp_path / "hist.pdf")
    assert (tmp_path / "hist.pdf").exists() and (tmp_path / "hist.png").exists()


def test_history_figure_keeps_zeros_drops_empty_panels_and_shows_validation_eer_in_percent():
    history = pd.DataFrame({"step": [4, 8, 8], "epoch": [1.0, 2.0, 2.0], "loss": [9.0, 8.5, np.nan], "acc": ["0.03", "0.0", ""],
                            "val_eer": [np.nan, np.nan, 0.0]})  # the last row: the epoch's validation, a perfect 0.0
    loss, accuracy, validation = plots.history_figure(history).axes
    assert accuracy.lines[0].get_ydata().tolist() == [0.03, 0.0] and validation.lines[0].get_ydata().tolist() == [0.0]
    assert validation.get_title() == "validation EER (%)"
    assert len(plots.history_figure(history.drop(columns="val_eer")).axes) == 2  # never validated: no empty third panel


def test_training_curves_skip_missing_values():
    history = {"epoch": [1, 2, 3], "loss": [3.0, 2.0, 1.5], "val_eer": [np.nan, 0.2, 0.1]}
    fig = plots.training_curves(history)
    assert len(fig.axes) == 2
    assert list(fig.axes[1].lines[0].get_xdata()) == [2, 3]
