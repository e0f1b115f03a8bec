"""Evaluation: embeddings -> trial scores -> EER / minDCF -> DET and histogram figures -> one result row.

``evaluate(model, trials, root)`` is what the notebooks, ``labkit evaluate`` and ``labkit demo``
call. Its result row (model, size, cost, training time, EER, minDCF) is a flat dict, so a list
of rows is a pandas table (``results_table``) for the notebooks and the report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from labkit.data.voxceleb import scan
from labkit.embed import extract
from labkit.metrics import summarize
from labkit.models.summary import count_macs, count_parameters
from labkit.plots import det_plot, save_figure, score_histogram
from labkit.scoring import cosine_scores, normalize_scores, speaker_cohort
from labkit.files import write_text_atomic
from labkit.trials import Trials, read_scores, write_scores

P_TARGETS = (0.01, 0.05)  # the minDCF operating points of the lab (VoxSRC uses 0.05)


def trial_manifest(root: str | Path, trials: Trials) -> pd.DataFrame:
    """The manifest rows of the utterances that ``trials`` uses, from the corpus under ``root``."""
    manifest = scan(root)
    needed = set(trials.utterances())
    missing = sorted(needed - set(manifest["utt"]))
    if missing:
        raise FileNotFoundError(f"{root}: {len(missing)} trial utterance(s) not found under wav/, e.g. {missing[:3]}")
    return manifest[manifest["utt"].isin(needed)].reset_index(drop=True)


def score_trials(
    model: nn.Module,
    trials: Trials,
    root: str | Path,
    cohort: pd.DataFrame | None = None,
    top_n: int | None = 300,
    **embed_options: Any,
) -> np.ndarray:
    """Cosine scores of ``trials``; with ``cohort`` (a manifest of training utterances), AS-norm scores.

    ``embed_options`` go to ``labkit.embed.extract`` (batch_size, crops, max_seconds, cache_dir, ...).
    """
    ids, embeddings = extract(model, trial_manifest(root, trials), **embed_options)
    if cohort is None:
        return cosine_scores(trials, ids, embeddings)
    _, cohort_embeddings = extract(model, cohort, **embed_options)
    speakers = speaker_cohort(cohort_embeddings, cohort["speaker"].tolist())  # one mean vector per training speaker
    return normalize_scores(trials, ids, embeddings, speakers, top_n=min(top_n or len(speakers), len(speakers)))


def result_row(model: nn.Module, name: str, summary: dict[str, float], n_trials: int, train_seconds: float | None) -> dict[str, Any]:
    """One line of a results table: what the model is, what it costs, how well it verifies."""
    cfg = model.config
    two_seconds = torch.zeros(1, 2 * cfg.frontend.sample_rate, device=next(model.parameters()).device)
    return {
        "model": name,
        "arch": f"{cfg.arch}{cfg.depth}-w{cfg.width}" if cfg.arch == "resnet" else cfg.arch,
        "params_M": round(count_parameters(model) / 1e6, 3),
        "GMACs_2s": round(count_macs(model, two_seconds) / 1e9, 3),  # multiply-adds for 2 s of audio
        "train_min": None if train_seconds is None else round(train_seconds / 60, 2),
        "trials": n_trials,
        "eer_%": round(100 * summary["eer"], 3),
        **{f"min_dcf_{p:g}": round(summary[f"min_dcf_{p:g}"], 4) for p in P_TARGETS},
        "eer_threshold": summary["eer_threshold"],
    }


def evaluate(
    model: nn.Module,
    trials: Trials,
    root: str | Path,
    name: str = "model",
    out_dir: str | Path | None = None,
    train_seconds: float | None = None,
    cohort: pd.DataFrame | None = None,
    **embed_options: Any,
) -> dict[str, Any]:
    """Score ``trials`` with ``model`` and return the result row.

    With ``out_dir``: writes ``scores.txt`` (trial list + score), ``det.pdf/png``,
    ``histogram.pdf/png`` and ``result.json`` there.
    """
    scores = score_trials(model, trials, root, cohort=cohort, **embed_options)
    summary = summarize(scores, trials.labels, p_targets=P_TARGETS)
    row = result_row(model, name, summary, len(trials), train_seconds)
    if out_dir is not None:
        out = Path(out_dir)
        write_scores(out / "scores.txt", trials, scores)
        save_figure(det_plot({name: (scores, trials.labels)}, title=f"DET: {name}"), out / "det")
        save_figure(score_histogram(scores, trials.labels, threshold=summary["eer_threshold"]), out / "histogram")
        write_json(out / "result.json", row)
    return row


def to_json(values: dict[str, Any]) -> str:
    """A flat dict as indented, strictly valid JSON: an infinite threshold (accept no trial) becomes the string "inf"."""
    finite = {key: str(value) if isinstance(value, float) and not math.isfinite(value) else value for key, value in values.items()}
    return json.dumps(finite, indent=2, allow_nan=False)


def write_json(path: Path, values: dict[str, Any]) -> Path:
    """A dict as indented JSON (``to_json``), written atomically."""
    return write_text_atomic(path, to_json(values) + "\n")


def score_file_report(
    path: str | Path, p_targets: tuple[float, ...] = P_TARGETS, c_miss: float = 1.0, c_fa: float = 1.0, as_json: bool = False
) -> str:
    """What ``labkit metrics`` prints for a score file: EER and minDCF with their thresholds (a table or JSON)."""
    scores = read_scores(path)
    try:
        summary = summarize(scores.scores, scores.labels, p_targets=p_targets, c_miss=c_miss, c_fa=c_fa)
    except ValueError as error:  # e.g. no non-target trials: name the file
        raise ValueError(f"{path}: {error}") from None
    if as_json:
        return to_json({"score_file": str(path), **scores.trials.stats(), **summary})
    lines = [
        f"{path}: {len(scores.labels)} trials ({int(scores.labels.sum())} target)",
        f"  EER        {100 * summary['eer']:.3f} %   (threshold {summary['eer_threshold']:.6g})",
    ]
    for p in p_targets:
        lines.append(f"  minDCF({p:g}) {summary[f'min_dcf_{p:g}']:.4f}   (threshold {summary[f'min_dcf_{p:g}_threshold']:.6g})")
    return "\n".join(lines)


def results_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Result rows stacked into a table (one system per line), without the threshold column."""
    return pd.DataFrame(rows).drop(columns=["eer_threshold"], errors="ignore")


def evaluate_checkpoint(
    checkpoint: str | Path,
    root: str | Path,
    trials: str | Path | None = None,
    out_dir: str | Path | None = None,
    as_norm: int = 0,
    device: str = "auto",
    **embed_options: Any,
) -> dict[str, Any]:
    """``evaluate`` for a saved model (``"pretrained"`` = the built-in one) on ``root``'s test trials.

    ``as_norm=N`` > 0 adds AS-norm with the N closest training speakers as cohort (three
    utterances per speaker from ``root/meta/train_list.txt``).
    """
    from labkit import models, pretrained
    from labkit.data.voxceleb import read_train_list
    from labkit.embed import pick_device
    from labkit.trials import read_trials

    path = pretrained.CHECKPOINT if str(checkpoint) == "pretrained" else Path(checkpoint)
    model = (pretrained.load() if str(checkpoint) == "pretrained" else models.load(path)).to(pick_device(device))
    root = Path(root)
    trial_list = read_trials(trials or root / "meta" / "veri_test.txt")
    cohort = read_train_list(root / "meta" / "train_list.txt", root).groupby("speaker").head(3) if as_norm else None
    return evaluate(model, trial_list, root, name=str(checkpoint), out_dir=out_dir, cohort=cohort, top_n=as_norm or None,
                    train_seconds=models.load_extra(path).get("train_seconds"), **embed_options)
