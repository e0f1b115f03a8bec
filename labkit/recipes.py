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
from labkit.i18n import MISSING, label, t


def architecture(cfg: ExperimentConfig) -> str:
    """The network in a few words, e.g. ``resnet10, width 16, embedding 128, 40 mel bands`` (in the language in use)."""
    model = cfg.model
    name = t("recipe.resnet", arch=f"{model.arch}{model.depth}", width=model.width) if model.arch == "resnet" else model.arch
    if model.plain:
        name += t("recipe.plain")
    return t("recipe.network", name=name, pooling=model.pooling, embed=model.embed_dim, mels=model.frontend.n_mels, kind=model.frontend.kind)


def recipe(cfg: ExperimentConfig, history: pd.DataFrame | None = None) -> dict[str, str]:
    """One system's recipe as labelled lines: network, loss, optimiser, data, and what the history shows was done."""
    margin = cfg.loss.kind in ("am", "aam")
    loss = cfg.loss.kind + (t("recipe.margin", scale=cfg.loss.scale, margin=cfg.loss.margin) if margin else "")
    budget = t("recipe.budget", minutes=cfg.run.max_minutes) if cfg.run.max_minutes else t("recipe.no_budget")
    optim = cfg.optim
    lines = {
        "network": architecture(cfg),
        "loss_kind": loss,
        "optimiser": t("recipe.optimiser", name=optim.name, lr=optim.lr, final=optim.final_lr, schedule=optim.schedule, decay=optim.weight_decay),
        "data": t("recipe.data", root=cfg.data.root, crop=cfg.data.crop_seconds, batch=cfg.data.batch_size)
        + (t("recipe.augmented") if cfg.data.augment else ""),
        "schedule": t("recipe.schedule", epochs=cfg.run.epochs, budget=budget),
    }
    steps = history.dropna(subset=["elapsed_s"]) if history is not None and "elapsed_s" in history else None  # not validation rows
    if steps is not None and len(steps):
        done = steps.iloc[-1]
        lines["trained"] = t("recipe.trained", steps=int(done["step"]), epochs=float(done["epoch"]), minutes=float(done["elapsed_s"]) / 60)
    return lines


def run_recipe(folder: str | Path) -> dict[str, str]:
    """The recipe of a run folder (or ``labkit/pretrained``): its ``config.yaml`` and ``history.csv``."""
    folder = Path(folder)
    history = pd.read_csv(folder / "history.csv") if (folder / "history.csv").is_file() else None
    return recipe(load_config(folder / "config.yaml"), history)


def compare_recipes(recipes: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Recipes side by side: one row per line (network, loss, ...; named in the language in use), one column per system;
    a line that a system does not have (``trained`` before its run, or not known) is ``MISSING``."""
    return pd.DataFrame(recipes).fillna(MISSING).rename(index=label)
