"""Embeddings you can look at: a 2-D map of utterance embeddings, one colour per speaker.

An embedding has hundreds of dimensions; principal component analysis (PCA) finds the two
directions along which the (length-normalised) embeddings vary most and projects every
utterance onto them. A good model puts each speaker's utterances in a tight cluster, away from
the others, whatever the session; a weak one mixes them. The two axes keep only part of the
variance (shown on each axis), so clusters that touch on the map may still be apart in the
full space. numpy only (no scikit-learn at run time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labkit.i18n import t
from labkit.scoring import l2_normalize


def pca_2d(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The normalised embeddings projected on their first two principal axes, and the fraction of variance each keeps."""
    centred = l2_normalize(embeddings).astype(np.float64)
    centred -= centred.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)  # rows of ``axes``: principal directions, largest first
    variance = singular**2
    return centred @ axes[:2].T, variance[:2] / variance.sum()


def separation(embeddings: np.ndarray, speakers: Sequence[str]) -> float:
    """Mean over utterances of (cosine to the mean of its speaker's *other* utterances) minus (mean cosine to the
    other speakers' means): about 0 for embeddings that ignore the speaker, towards 1 for tight, distant clusters."""
    unit = l2_normalize(embeddings).astype(np.float64)
    codes, _ = pd.factorize(np.asarray(speakers))
    sums = np.zeros((codes.max() + 1, unit.shape[1]))
    np.add.at(sums, codes, unit)
    own = l2_normalize(sums[codes] - unit)  # leave the utterance itself out of its speaker's mean
    cosines = unit @ l2_normalize(sums).T
    others = (cosines.sum(axis=1) - cosines[np.arange(len(unit)), codes]) / max(1, len(sums) - 1)
    alone = np.bincount(codes)[codes] < 2  # a speaker's only utterance has nothing to be close to
    return float(np.mean(((unit * own).sum(axis=1) - others)[~alone]))


def embedding_map(systems: Mapping[str, tuple[np.ndarray, Sequence[str]]], max_speakers: int | None = 10, title: str = "PCA") -> Figure:
    """One PCA map per system (``name: (embeddings, speaker of each row)``), each speaker in its own colour and marker.

    ``max_speakers``: only the first speakers (sorted by name), so that the colours stay readable.
    """
    fig = Figure(figsize=(4.6 * len(systems), 4.4), layout="constrained")
    for i, (name, (embeddings, speakers)) in enumerate(systems.items()):
        speakers = np.asarray(speakers)
        shown = np.isin(speakers, sorted(set(speakers))[:max_speakers])
        embeddings, speakers = np.asarray(embeddings)[shown], speakers[shown]
        ax = fig.add_subplot(1, len(systems), i + 1)
        points, kept = pca_2d(embeddings)
        codes, names = pd.factorize(speakers, sort=True)
        for code, speaker in enumerate(names):
            rows = codes == code
            ax.scatter(points[rows, 0], points[rows, 1], s=16, color=f"C{code % 10}", marker="os^vD"[(code // 10) % 5], label=speaker)
        score = round(separation(embeddings, speakers), 2) + 0.0  # + 0.0: a tiny negative shows as 0.00, not -0.00
        ax.set(xlabel=t("concepts.pc_axis", n=1, kept=100 * kept[0]), ylabel=t("concepts.pc_axis", n=2, kept=100 * kept[1]),
               title=t("concepts.map_panel", name=name, speakers=len(names), separation=score))
        ax.grid(True, linestyle=":", linewidth=0.6)
    fig.suptitle(title)
    return fig
