"""Figures for the lab: DET curves, score histograms, training curves.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so it shows once
in a notebook (as the cell's value), works headless, and never piles up in pyplot's state.
Labels follow the language of ``labkit.i18n`` (Spanish figures for a Spanish report).
``save_figure`` writes the PDF (TrueType fonts, for LaTeX) and a PNG next to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import norm

from labkit.files import atomic_path
from labkit.i18n import label, t
from labkit.metrics import det_curve, eer

DET_TICKS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4]  # 0.1% ... 40%
DET_LIMITS = (0.0005, 0.5)


def _probit(p: np.ndarray) -> np.ndarray:
    """Normal deviate of a probability: the DET axes, on which Gaussian scores give straight lines."""
    return norm.ppf(np.clip(p, DET_LIMITS[0] / 10, 1 - DET_LIMITS[0] / 10))


def _thin(x: np.ndarray, y: np.ndarray, step: float = 0.002) -> tuple[np.ndarray, np.ndarray]:
    """Drop points closer than ``step`` (in probit units) along the curve: same look, small PDF."""
    arc = np.r_[0.0, np.cumsum(np.hypot(np.diff(x), np.diff(y)))]
    _, keep = np.unique(np.floor(arc / step), return_index=True)
    keep = np.union1d(keep, [len(x) - 1])
    return x[keep], y[keep]


def det_plot(systems: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str | None = None) -> Figure:
    """DET curves (miss rate vs false-alarm rate on normal-deviate axes) of one or more systems.

    ``systems`` maps a name to ``(scores, labels)``; each curve's EER point is marked and its
    value shown in the legend.
    """
    fig = Figure(figsize=(5.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    for name, (scores, labels) in systems.items():
        fpr, fnr, _ = det_curve(scores, labels)
        value, _ = eer(scores, labels)
        x, y = _thin(_probit(fpr), _probit(fnr))
        (line,) = ax.plot(x, y, label=t("det_legend", name=name, eer=100 * value))
        ax.plot(_probit(value), _probit(value), "o", color=line.get_color(), markersize=6)  # EER: FPR = FNR
    ticks = _probit(np.array(DET_TICKS))
    labels = [f"{100 * t:g}" for t in DET_TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlim(*_probit(np.array(DET_LIMITS)))
    ax.set_ylim(*_probit(np.array(DET_LIMITS)))
    ax.plot(ax.get_xlim(), ax.get_ylim(), ":", color="0.6", linewidth=0.8)  # the EER diagonal
    ax.set_xlabel(t("det_x"))
    ax.set_ylabel(t("det_y"))
    ax.set_title(title or t("det_title"))
    ax.grid(True, linestyle=":", linewidth=0.6)
    ax.legend(loc="best", fontsize="small")  # where it hides the fewest curve points (weak systems fill the upper right)
    return fig


def score_histogram(
    scores: np.ndarray, labels: np.ndarray, threshold: float | None = None, title: str | None = None, bins: int = 60
) -> Figure:
    """Target vs non-target score histograms (as densities), with an optional threshold line."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    fig = Figure(figsize=(6.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    edges = np.histogram_bin_edges(scores, bins=bins)
    ax.hist(scores[~labels], bins=edges, density=True, alpha=0.6, label=t("non_target_count", n=(~labels).sum()))
    ax.hist(scores[labels], bins=edges, density=True, alpha=0.6, label=t("target_count", n=labels.sum()))
    if threshold is not None:
        ax.axvline(threshold, color="k", linestyle="--", linewidth=1, label=t("threshold_value", value=threshold))
    ax.set_xlabel(t("score"))
    ax.set_ylabel(t("density"))
    ax.set_title(title or t("scores_title"))
    ax.legend(fontsize="small")
    return fig


def training_curves(history: Mapping[str, np.ndarray], x: str = "epoch", title: str | None = None) -> Figure:
    """One panel per logged quantity (loss, accuracy, validation EER...) against ``x``, each titled by its readable name."""
    names = [name for name in history if name != x]
    fig = Figure(figsize=(3.2 * len(names), 3.0), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        values = np.asarray(history[name], dtype=np.float64)
        shown = np.isfinite(values)  # e.g. validation EER exists only at epoch ends
        ax.plot(np.asarray(history[x])[shown], values[shown], marker="." if shown.sum() < 30 else None)
        ax.set_xlabel(label(x))
        ax.set_title(label(name))
        ax.grid(True, linestyle=":", linewidth=0.6)
    fig.suptitle(title or t("training_title"))
    return fig


def history_figure(history: pd.DataFrame, title: str | None = None) -> Figure:
    """A run's ``history.csv`` (or ``LivePlot``'s rows) against the epoch: loss, training accuracy and, when the run
    validated, the validation EER in % (as printed after each epoch); a quantity never logged gets no panel."""
    values = history.reindex(columns=["epoch", "loss", "acc", "val_eer"]).apply(pd.to_numeric, errors="coerce")  # "" -> NaN, 0.0 stays
    values = values.assign(val_eer=100 * values["val_eer"]).rename(columns={"val_eer": "val_eer_%"})  # in %, as printed after each epoch
    return training_curves({name: values[name].to_numpy(dtype=np.float64) for name in values if name == "epoch" or values[name].notna().any()},
                           x="epoch", title=title)


def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> list[Path]:
    """Save ``fig`` as ``path.pdf`` (TrueType fonts, fonttype 42) and ``path.png``."""
    base = Path(path).with_suffix("") if Path(path).suffix in (".pdf", ".png") else Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with matplotlib.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42}):
        for suffix in (".pdf", ".png"):
            target = base.with_name(base.name + suffix)
            with atomic_path(target) as tmp:
                fig.savefig(tmp, dpi=dpi)
            written.append(target)
    return written
