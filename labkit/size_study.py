"""The seed's question, answered by experiment: "is a smaller model better as we have a small subset
of data, or will we get better performance adding layers and filters?"

Several systems (``configs/size-study.yaml``, the one place that names them) train for the same
number of *epochs* on the same small training set: the same data, seen the same number of times;
only the network differs. After every epoch each is scored on the same validation trials, from
training speakers held out of training (``labkit.data.validation``), so overfitting can be seen:
the training loss keeps falling while the validation EER stops falling or rises. At the end every
system is evaluated on the test trials: parameters, FLOPs, training time, EER, minDCF, DET curves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml
from matplotlib.figure import Figure

from labkit import models
from labkit.config import ExperimentConfig, apply_overrides, load_config
from labkit.data.validation import ValidationSplit, make_validation_split
from labkit.demo import CONFIGS
from labkit.embed import pick_device
from labkit.evaluate import evaluate
from labkit.i18n import label, t
from labkit.train import train
from labkit.trials import Trials

STUDY_FILE = CONFIGS / "size-study.yaml"
MODE_KEYS = {"base": str, "epochs": int, "train_speakers": int, "val_speakers": int, "targets_per_speaker": int, "overrides": list}


@dataclass
class SizeStudy:
    """One mode of ``configs/size-study.yaml``: the systems and how they are trained and validated."""

    systems: dict[str, list[str]]  # name -> overrides of the base recipe
    base: str  # a file in configs/
    epochs: int
    train_speakers: int  # 0 = every training speaker that is not held out
    val_speakers: int
    targets_per_speaker: int
    overrides: list[str]  # for every system (e.g. a smaller batch on a tiny corpus)


def load_study(mode: str, path: str | Path = STUDY_FILE) -> SizeStudy:
    """The ``mode`` ("lab", "tiny", "real") of the study file, checked key by key."""
    values = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    modes, systems = values.get("modes", {}), values.get("systems", {})
    if mode not in modes:
        raise ValueError(f"{path}: no mode {mode!r} under 'modes'; expected one of {sorted(modes)}")
    settings = modes[mode]
    for key, kind in MODE_KEYS.items():
        if not isinstance(settings.get(key), kind):
            raise ValueError(f"{path}: modes.{mode}.{key} must be a {kind.__name__}, got {settings.get(key)!r}")
    if not systems or not all(isinstance(o, list) for o in systems.values()):
        raise ValueError(f"{path}: 'systems' must map each system's name to a list of overrides")
    return SizeStudy(systems=systems, **{key: settings[key] for key in MODE_KEYS})


def prepare(study: SizeStudy, root: str | Path, out_dir: str | Path, seed: int = 0) -> ValidationSplit:
    """The study's training list and validation trials, written to ``out_dir`` (see ``labkit.data.validation``)."""
    return make_validation_split(root, out_dir, val_speakers=study.val_speakers, train_speakers=study.train_speakers,
                                 targets_per_speaker=study.targets_per_speaker, seed=seed)


def system_config(study: SizeStudy, name: str, root: str | Path, split: ValidationSplit, out_dir: str | Path) -> ExperimentConfig:
    """The full recipe of one system: base file, the study's settings, the system's own overrides."""
    settings = [f"data.root={root}", f"data.train_list={split.train_list}", f"data.val_trials={split.val_trials}",
                f"run.epochs={study.epochs}", "run.max_minutes=0", f"run.out_dir={Path(out_dir) / name}"]
    return apply_overrides(load_config(CONFIGS / study.base), settings + study.overrides + study.systems[name])


def train_system(study: SizeStudy, name: str, root: str | Path, split: ValidationSplit, out_dir: str | Path,
                 on_log: Callable[[dict[str, Any]], None] | None = None, progress: bool = True) -> Path:
    """Train one system (or resume or reuse its finished run) and return its run folder."""
    return train(system_config(study, name, root, split, out_dir), progress=progress, on_log=on_log)


def validation_history(run_dir: str | Path) -> pd.DataFrame:
    """The epoch-end rows of a run's history: epoch and validation EER (fraction)."""
    history = pd.read_csv(Path(run_dir) / "history.csv")
    return history.loc[history["val_eer"].notna(), ["epoch", "val_eer"]].reset_index(drop=True)


def study_row(name: str, run_dir: str | Path, trials: Trials, root: str | Path, out_dir: str | Path, device: str = "auto",
              **embed_options: Any) -> dict[str, Any]:
    """Evaluate a finished system on the test trials (on ``device``): the results row plus FLOPs and its validation EERs."""
    path = Path(run_dir) / "model.pt"
    model = models.load(path).to(pick_device(device))
    row = evaluate(model, trials, root, name=name, out_dir=out_dir, train_seconds=models.load_extra(path).get("train_seconds"), **embed_options)
    val = validation_history(run_dir)
    best = val.loc[val["val_eer"].idxmin()] if len(val) else None
    return {**row, "GFLOPs_2s": round(2 * row["GMACs_2s"], 3), "epochs": int(val["epoch"].max()) if len(val) else 0,
            "val_eer_%": round(100 * val["val_eer"].iloc[-1], 3) if len(val) else np.nan,
            "best_val_eer_%": round(100 * best["val_eer"], 3) if best is not None else np.nan,
            "best_epoch": int(best["epoch"]) if best is not None else 0}


STUDY_COLUMNS = ["model", "params_M", "GMACs_2s", "GFLOPs_2s", "epochs", "train_min", "val_eer_%", "best_val_eer_%",
                 "best_epoch", "eer_%", "min_dcf_0.01", "min_dcf_0.05"]


def study_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per system: size (parameters, MACs and FLOPs for 2 s), training time, validation and test results."""
    return pd.DataFrame(rows)[STUDY_COLUMNS]


def curves_figure(run_dirs: dict[str, Path], title: str = "Same epochs, same data") -> Figure:
    """Training loss and validation EER per epoch of every system, one colour each."""
    fig = Figure(figsize=(10.0, 3.6), layout="constrained")
    loss_ax, val_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for name, run_dir in run_dirs.items():
        history = pd.read_csv(Path(run_dir) / "history.csv")
        steps = history[history["loss"].notna()]
        (line,) = loss_ax.plot(steps["epoch"], steps["loss"], label=name)
        val = validation_history(run_dir)
        val_ax.plot(val["epoch"], 100 * val["val_eer"], marker="o", color=line.get_color(), label=name)
    loss_ax.set(xlabel=label("epoch"), ylabel=t("concepts.training_loss"), title=t("concepts.training_loss"))
    val_ax.set(xlabel=label("epoch"), ylabel=t("concepts.val_eer_axis"), title=t("concepts.val_eer_title"))
    for ax in (loss_ax, val_ax):
        ax.grid(True, linestyle=":", linewidth=0.6)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    return fig

