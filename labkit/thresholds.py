"""Choosing a threshold: false acceptances and false rejections as the threshold moves, and what they cost.

A trial is accepted iff ``score >= threshold`` (``labkit.metrics``). Raising the threshold trades
false acceptances (FA: an impostor let in) for false rejections (FR: the true speaker turned
away). Where the two rates are equal is the EER. Which threshold is *right* depends on the
application, through the detection cost function (NIST)::

    DCF(t) = C_miss * P_target * FR(t) + C_fa * (1 - P_target) * FA(t)

normalised by ``min(C_miss * P_target, C_fa * (1 - P_target))``, the cost of the better of the two
systems that need no voice at all (accept everyone, or reject everyone): 1.0 means "no better
than not listening". minDCF is the lowest normalised DCF over all thresholds, and its threshold is
where that application should operate. ``threshold_figure`` draws all of this (the report and
headless runs show it); ``threshold_explorer`` is the same with a slider (ipywidgets 7 and 8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labkit.i18n import readable, t
from labkit.metrics import ArrayLike, actual_dcf, det_curve, eer, min_dcf


@dataclass(frozen=True)
class Application:
    """Where a verification system is used: how often the claimed speaker is genuine, and what each error costs."""

    key: str  # its name and story are the texts concepts.applications.<key> of labkit/i18n.yaml, unless given
    p_target: float  # prior probability that a trial is a target (the claimed speaker is really speaking)
    c_miss: float  # cost of a false rejection
    c_fa: float  # cost of a false acceptance
    title: str = ""
    about: str = ""

    @property
    def name(self) -> str:
        return self.title or t(f"concepts.applications.{self.key}.name")

    @property
    def story(self) -> str:
        return self.about or t(f"concepts.applications.{self.key}.story")

    def formula(self) -> str:
        """The DCF of this application with its numbers in place."""
        norm = min(self.c_miss * self.p_target, self.c_fa * (1 - self.p_target))
        return (f"DCF = {self.c_miss:g} x {self.p_target:g} x FR + {self.c_fa:g} x {1 - self.p_target:g} x FA,"
                f" {t('concepts.normalised_by')} {norm:g}")


APPLICATIONS = {
    "bank": Application("bank", p_target=0.01, c_miss=1.0, c_fa=10.0),  # rare impostors, each one costly
    "speaker": Application("speaker", p_target=0.8, c_miss=1.0, c_fa=1.0),  # the owner speaks most of the time
    "lab": Application("lab", p_target=0.05, c_miss=1.0, c_fa=1.0),  # the results table's minDCF(0.05)
}


def error_rates(scores: ArrayLike, labels: ArrayLike) -> pd.DataFrame:
    """One row per realisable threshold (ascending): the FA and FR rates (fractions) when accepting ``score >= threshold``."""
    fpr, fnr, thresholds = det_curve(scores, labels)
    table = pd.DataFrame({"threshold": thresholds, "fa_rate": fpr, "fr_rate": fnr})
    return table[np.isfinite(table["threshold"])].iloc[::-1].reset_index(drop=True)  # the +inf "accept nothing" point has no place on an axis


def operating_point(scores: ArrayLike, labels: ArrayLike, threshold: float, application: Application | None = None) -> dict[str, float]:
    """What happens at ``threshold``: the confusion counts, FA and FR rates and, for an application, its normalised DCF."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    accepted = scores >= threshold
    counts = {
        "true_accepts": int((accepted & labels).sum()), "false_rejects": int((~accepted & labels).sum()),
        "false_accepts": int((accepted & ~labels).sum()), "true_rejects": int((~accepted & ~labels).sum()),
    }
    point = {"threshold": float(threshold), **counts, "fa_rate": counts["false_accepts"] / max(1, (~labels).sum()),
             "fr_rate": counts["false_rejects"] / max(1, labels.sum())}
    if application is not None:
        point["dcf"] = actual_dcf(scores, labels, threshold, application.p_target, application.c_miss, application.c_fa)
    return point


def operating_points(scores: ArrayLike, labels: ArrayLike, applications: dict[str, Application] = APPLICATIONS) -> pd.DataFrame:
    """The EER threshold and each application's minDCF threshold, with the FA and FR rates (%) there."""
    value, threshold = eer(scores, labels)
    rows = [{"point": "EER", "threshold": threshold, "cost": f"EER {100 * value:.2f} %"}]
    for key, application in applications.items():
        cost, threshold = min_dcf(scores, labels, application.p_target, application.c_miss, application.c_fa)
        rows.append({"point": f"minDCF {key}", "threshold": threshold, "cost": f"minDCF {cost:.3f}"})
    for row in rows:
        point = operating_point(scores, labels, row["threshold"])
        row.update({"fa_%": round(100 * point["fa_rate"], 2), "fr_%": round(100 * point["fr_rate"], 2)})
    return pd.DataFrame(rows, columns=["point", "threshold", "fa_%", "fr_%", "cost"])


def describe(scores: ArrayLike, labels: ArrayLike, applications: dict[str, Application] = APPLICATIONS) -> str:
    """The cost formula of each application and the thresholds of the EER and of each minDCF, as text to print."""
    lines = [f"DCF(t) = C_miss x P_target x FR(t) + C_fa x (1 - P_target) x FA(t), {t('concepts.normalisation')}"]
    lines += [f"  {key}: {app.name} ({app.story})\n    {app.formula()}" for key, app in applications.items()]
    lines.append(readable(operating_points(scores, labels, applications)).to_string(index=False))
    return "\n".join(lines)


def threshold_figure(
    scores: ArrayLike, labels: ArrayLike, applications: dict[str, Application] = APPLICATIONS, threshold: float | None = None,
) -> Figure:
    """FA and FR rates against the threshold, the EER point, each application's minDCF threshold and, if given, ``threshold``."""
    rates = error_rates(scores, labels)
    fig = Figure(figsize=(8.5, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(rates["threshold"], 100 * rates["fa_rate"], color="tab:red", label=t("concepts.fa_curve"))
    ax.plot(rates["threshold"], 100 * rates["fr_rate"], color="tab:blue", label=t("concepts.fr_curve"))
    value, at = eer(scores, labels)
    ax.plot(at, 100 * value, "ko", markersize=6, label=t("concepts.eer_point", eer=100 * value, at=at))
    for (key, application), style in zip(applications.items(), ("--", "-.", ":", (0, (5, 1)))):
        cost, where = min_dcf(scores, labels, application.p_target, application.c_miss, application.c_fa)
        if np.isfinite(where):  # +inf: rejecting everyone is this application's best choice
            ax.axvline(where, color="0.3", linestyle=style, linewidth=1, label=t("concepts.min_dcf_line", point=key, cost=cost, at=where))
    if threshold is not None:
        ax.axvline(threshold, color="tab:green", linewidth=2, label=t("threshold_value", value=threshold))
    ax.set(xlabel=t("concepts.threshold_axis"), ylabel=t("concepts.error_rate"), ylim=(0, 100), title=t("concepts.threshold_title"))
    ax.grid(True, linestyle=":", linewidth=0.6)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def explorer_text(point: dict[str, float], application: Application) -> str:
    """The explorer's readout (HTML): rates, cost and confusion counts at one threshold."""
    counts = t("concepts.explorer", threshold=point["threshold"], fa=100 * point["fa_rate"], fr=100 * point["fr_rate"], dcf=point["dcf"],
               ta=point["true_accepts"], fr_n=point["false_rejects"], fa_n=point["false_accepts"], tr=point["true_rejects"])
    return f"<b>{application.name}</b>: {application.story}<br>{application.formula()}<br>{counts}"


def threshold_explorer(scores: ArrayLike, labels: ArrayLike, applications: dict[str, Application] = APPLICATIONS):
    """An ipywidgets panel: a threshold slider and an application menu; the rates, cost, counts and figure follow live.

    Uses only what ipywidgets 7.7 (Colab) and 8 both have: FloatSlider, Dropdown, HTML, Output, VBox, observe.
    """
    import ipywidgets as widgets
    from IPython.display import display

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    _, start = eer(scores, labels)
    slider = widgets.FloatSlider(value=start, min=float(scores.min()), max=float(scores.max()), step=float(np.ptp(scores)) / 200,
                                 description=t("concepts.slider"), readout_format=".3f", continuous_update=False)
    menu = widgets.Dropdown(options=[(app.name, key) for key, app in applications.items()], description=t("concepts.menu"))
    readout, plot = widgets.HTML(), widgets.Output()

    def update(change: object = None) -> None:
        application = applications[menu.value]
        readout.value = explorer_text(operating_point(scores, labels, slider.value, application), application)
        plot.clear_output(wait=True)
        with plot:
            display(threshold_figure(scores, labels, {menu.value: application}, threshold=slider.value))

    slider.observe(update, names="value")
    menu.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([slider, menu]), readout, plot])
