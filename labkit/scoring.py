"""Scoring trials: cosine similarity between embeddings, and S-norm / AS-norm.

The x-vector recipe of the seed: each utterance becomes one embedding; a trial's score is
the cosine of the angle between its enrolment and test embeddings. Score normalisation
compares each score with the scores of the same utterances against a cohort of other
speakers (WeSpeaker's recipe: cohort = mean embedding of each training speaker, top 300).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from labkit.trials import Trials

CHUNK = 8192  # trials (or utterances) per block: bounds memory and stays in cache on Vox1-E/H sized lists


def l2_normalize(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32), so that a dot product is a cosine."""
    embeddings = np.asarray(embeddings, dtype=np.float32)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, 1e-12)


def trial_indices(trials: Trials, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Row of each trial's enrolment and test utterance in ``ids``; error listing missing ones."""
    index = pd.Index(ids)
    if not index.is_unique:
        raise ValueError(f"embedding ids are not unique: {index[index.duplicated()][:5].tolist()}")
    enroll, test = index.get_indexer(trials.enroll), index.get_indexer(trials.test)
    missing = np.unique(np.concatenate([trials.enroll[enroll < 0], trials.test[test < 0]]))
    if len(missing):
        raise KeyError(f"{len(missing)} trial utterance(s) have no embedding, e.g. {missing[:5].tolist()}")
    return enroll, test


def cosine_scores(trials: Trials, ids: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
    """Cosine score of every trial; ``embeddings[i]`` belongs to utterance ``ids[i]``."""
    enroll, test = trial_indices(trials, ids)
    unit = l2_normalize(embeddings)  # normalise once per utterance, not once per trial
    scores = np.empty(len(trials), dtype=np.float64)
    for start in range(0, len(trials), CHUNK):
        block = slice(start, start + CHUNK)
        scores[block] = np.einsum("ij,ij->i", unit[enroll[block]], unit[test[block]])  # row-wise dot
    return scores


def speaker_cohort(embeddings: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
    """One cohort vector per speaker: the mean of that speaker's (normalised) embeddings."""
    codes, _ = pd.factorize(np.asarray(speakers))
    unit = l2_normalize(embeddings)
    sums = np.zeros((codes.max() + 1, unit.shape[1]), dtype=np.float64)
    np.add.at(sums, codes, unit)
    return (sums / np.bincount(codes)[:, None]).astype(np.float32)


def cohort_statistics(embeddings: np.ndarray, cohort: np.ndarray, top_n: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each embedding's scores against the cohort.

    ``top_n=None`` uses the whole cohort (S-norm); ``top_n=N`` only the N closest cohort
    speakers of each utterance (adaptive S-norm, AS-norm).
    """
    unit, cohort_unit = l2_normalize(embeddings), l2_normalize(cohort)
    if top_n is not None and not 0 < top_n <= len(cohort_unit):
        raise ValueError(f"top_n must be in 1..{len(cohort_unit)} (cohort size), got {top_n}")
    mean, std = np.empty(len(unit)), np.empty(len(unit))
    for start in range(0, len(unit), CHUNK // 2):
        block = slice(start, start + CHUNK // 2)
        scores = unit[block] @ cohort_unit.T  # (utterances, cohort)
        if top_n is not None:
            scores = np.partition(scores, -top_n, axis=1)[:, -top_n:]  # the closest impostors only
        mean[block], std[block] = scores.mean(axis=1), scores.std(axis=1)
    return mean, std


def normalize_scores(
    trials: Trials,
    ids: Sequence[str],
    embeddings: np.ndarray,
    cohort: np.ndarray,
    top_n: int | None = 300,
    scores: np.ndarray | None = None,
) -> np.ndarray:
    """Symmetric score normalisation: ``0.5 * (z_enroll + z_test)``.

    Each raw score is standardised with the cohort statistics of its enrolment utterance
    and, separately, of its test utterance. ``top_n=300`` is AS-norm as in WeSpeaker;
    ``top_n=None`` is plain S-norm. ``scores`` defaults to the cosine scores.
    """
    if scores is None:
        scores = cosine_scores(trials, ids, embeddings)
    enroll, test = trial_indices(trials, ids)
    mean, std = cohort_statistics(embeddings, cohort, top_n)
    std = np.maximum(std, 1e-12)
    return 0.5 * ((scores - mean[enroll]) / std[enroll] + (scores - mean[test]) / std[test])
