"""Two systems side by side: what each network is and how it was trained.

A result only means something with its recipe: the architecture (depth, width, embedding size,
features), the loss, the optimiser, the crops and batches, how long it trained and on what. The
built-in pretrained model ships its own ``config.yaml`` and ``history.csv``
(``labkit/pretrained/``), every training run writes the same two files, so both can be read the
same way and compared line by line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labkit.config import ExperimentConfig, load_config
from labkit.i18n import label


def architecture(cfg: ExperimentConfig) -> str:
    """The network in a few words, e.g. ``resnet10, width 16, embedding 128, 40 mel bands``."""
    model = cfg.model
    name = f"{model.arch}{model.depth}, width {model.width}" if model.arch == "resnet" else model.arch
    if model.plain:
        name += " (plain: no shortcuts)"
    return f"{name}, {model.pooling} pooling, embedding {model.embed_dim}, {model.frontend.n_mels} mel bands ({model.frontend.kind})"


def recipe(cfg: ExperimentConfig, history: pd.DataFrame | None = None) -> dict[str, str]:
    """One system's recipe as labelled lines: network, loss, optimiser, data, and what the history shows was done."""
    loss = cfg.loss.kind + (f" (scale {cfg.loss.scale:g}, margin {cfg.loss.margin:g})" if cfg.loss.kind in ("am", "aam") else "")
    budget = f"{cfg.run.max_minutes:g} min budget" if cfg.run.max_minutes else "no time budget"
    lines = {
        "network": architecture(cfg),
        "loss_kind": loss,
        "optimiser": f"{cfg.optim.name}, lr {cfg.optim.lr:g} -> {cfg.optim.final_lr:g} ({cfg.optim.schedule}), weight decay {cfg.optim.weight_decay:g}",
        "data": f"{cfg.data.root}: {cfg.data.crop_seconds:g} s crops, batches of {cfg.data.batch_size}" + (", augmented" if cfg.data.augment else ""),
        "schedule": f"up to {cfg.run.epochs} epochs, {budget}",
    }
    if history is not None and len(history):
        done = history.iloc[-1]
        lines["trained"] = f"{int(done['step'])} steps, {float(done['epoch']):.1f} epochs, {float(done['elapsed_s']) / 60:.1f} min"
    return lines


def run_recipe(folder: str | Path) -> dict[str, str]:
    """The recipe of a run folder (or ``labkit/pretrained``): its ``config.yaml`` and ``history.csv``."""
    folder = Path(folder)
    history = pd.read_csv(folder / "history.csv") if (folder / "history.csv").is_file() else None
    return recipe(load_config(folder / "config.yaml"), history)


def compare_recipes(recipes: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Recipes side by side: one row per line (network, loss, ...; named in the language in use), one column per system."""
    return pd.DataFrame(recipes).rename(index=label)
