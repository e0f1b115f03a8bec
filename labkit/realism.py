"""How real do the synthetic voices sound? A real speaker encoder's verdict beside the training-free baseline.

Resemblyzer (``labkit.models.resemblyzer``) learned speaker identity from thousands of real
voices and never heard a synthetic one. If it tells our synthetic speakers apart about as well as
real ones, they differ in what real speakers differ in, and what quick mode teaches carries over
to VoxCeleb. The training-free baseline (mean log-mel cosine) says how much the sessions' channels
still hide the voices: it should stay far from perfect.

    realism("data/synthetic-lab")      # a table: EER, minDCF, cross/same-session EER per system
    labkit realism data/synthetic-lab  # the same from the command line
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data.synthetic.baseline import baseline_scores, session_eers
from labkit.evaluate import P_TARGETS, score_trials
from labkit.metrics import summarize
from labkit.trials import Trials, read_trials

RESEMBLYZER_EER_MAX = 0.12  # issue 14: a real encoder must tell the synthetic speakers apart this well ...
BASELINE_EER_RANGE = (0.15, 0.35)  # ... while the channels keep the naive baseline this far from perfect


def sample_trials(trials: Trials, count: int, seed: int = 0) -> Trials:
    """``count`` trials drawn at random without replacement (all of them if there are fewer), in list order."""
    if count <= 0 or count >= len(trials):
        return trials
    keep = np.sort(np.random.default_rng(seed).choice(len(trials), count, replace=False))
    return Trials(labels=trials.labels[keep], enroll=trials.enroll[keep], test=trials.test[keep])


def realism(
    root: str | Path,
    trials: str | Path | None = None,
    max_trials: int = 0,
    device: str = "auto",
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Resemblyzer and the mean log-mel baseline on ``root``'s trial list (default meta/veri_test.txt).

    ``max_trials`` > 0 scores a random subset (quicker; fewer utterances to embed). One row per
    system: trials, EER (all, cross-session targets only, same-session targets only), minDCF.
    """
    from labkit import models
    from labkit.embed import pick_device

    root = Path(root)
    trial_list = sample_trials(read_trials(trials or root / "meta" / "veri_test.txt"), max_trials)
    encoder = models.load("resemblyzer").to(pick_device(device))
    systems = {
        "Resemblyzer (GE2E, real speech)": score_trials(encoder, trial_list, root, cache_dir=cache_dir, progress=progress),
        "training-free baseline (mean log-mel)": baseline_scores(root, trial_list),
    }
    rows = []
    for name, scores in systems.items():
        summary, eers = summarize(scores, trial_list.labels, p_targets=P_TARGETS), session_eers(scores, trial_list)
        rows.append({
            "system": name,
            "trials": len(trial_list),
            "eer_%": round(100 * eers["eer"], 2),
            "eer_cross_session_%": round(100 * eers["eer_cross_session"], 2),
            "eer_same_session_%": round(100 * eers["eer_same_session"], 2),
            **{f"min_dcf_{p:g}": round(summary[f"min_dcf_{p:g}"], 4) for p in P_TARGETS},
        })
    return pd.DataFrame(rows)

