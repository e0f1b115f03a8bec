"""Verification vs identification: the same embeddings, a different question.

*Verification* asks "is this the claimed speaker?" (one trial, one score, a threshold).
*Identification* asks "which of N enrolled speakers is this?": each speaker is enrolled with the
mean of a few of their embeddings (normalised, as the cosine needs), every held-out utterance is
scored against all N enrolments (cosine, ``labkit.scoring``), and the closest one is the answer.
No threshold is needed (closed set), but the task gets harder as N grows: more speakers, more
chances that another voice lies closer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from labkit.i18n import t
from labkit.scoring import l2_normalize, speaker_cohort


@dataclass
class Identification:
    """The outcome of ``identify``: who was enrolled, who was tested, and the answers."""

    speakers: list[str]  # the enrolled speakers; row/column order of ``confusion``
    utterances: list[str]  # the held-out (test) utterances
    truth: np.ndarray  # index into ``speakers`` of each test utterance's speaker
    predicted: np.ndarray  # index of the closest enrolment
    scores: np.ndarray  # (test utterances, speakers) cosine scores

    @property
    def accuracy(self) -> float:
        """Top-1 accuracy: the fraction of test utterances whose closest enrolment is their own speaker."""
        return float(np.mean(self.truth == self.predicted))

    @property
    def confusion(self) -> np.ndarray:
        """counts[i, j]: test utterances of speaker i identified as speaker j."""
        counts = np.zeros((len(self.speakers), len(self.speakers)), dtype=int)
        np.add.at(counts, (self.truth, self.predicted), 1)
        return counts


def enrolment_split(manifest: pd.DataFrame, n_speakers: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_speakers`` speakers (seeded choice) with two sessions or more: their first session enrols, the others test.

    Enrolling and testing on different sessions (videos) keeps the channel from giving the answer away.
    """
    sessions = manifest.groupby("speaker")["session"].nunique()
    eligible = np.array(sorted(sessions[sessions >= 2].index))
    if len(eligible) < n_speakers:
        raise ValueError(f"{n_speakers} speakers asked for, only {len(eligible)} have two sessions or more")
    chosen = np.sort(np.random.default_rng(seed).permutation(eligible)[:n_speakers])
    part = manifest[manifest["speaker"].isin(chosen)]
    first = part.groupby("speaker")["session"].transform("min")
    return part[part["session"] == first].reset_index(drop=True), part[part["session"] != first].reset_index(drop=True)


def identify(ids: list[str], embeddings: np.ndarray, enrol: pd.DataFrame, test: pd.DataFrame) -> Identification:
    """Closed-set identification: each ``test`` utterance goes to the ``enrol`` speaker of highest cosine score.

    ``embeddings[i]`` belongs to utterance ``ids[i]``; ``enrol`` and ``test`` are manifests (``utt``, ``speaker``).
    """
    row = {utt: i for i, utt in enumerate(ids)}
    enrol_sorted = enrol.sort_values("speaker", kind="stable")  # speaker_cohort numbers speakers in order of appearance
    speakers = list(dict.fromkeys(enrol_sorted["speaker"]))
    models = speaker_cohort(embeddings[[row[u] for u in enrol_sorted["utt"]]], enrol_sorted["speaker"].tolist())
    scores = l2_normalize(embeddings[[row[u] for u in test["utt"]]]) @ l2_normalize(models).T
    truth = np.array([speakers.index(s) for s in test["speaker"]])
    return Identification(speakers, test["utt"].tolist(), truth, scores.argmax(axis=1), scores)


def confusion_figure(result: Identification) -> Figure:
    """The confusion matrix: rows the true speaker, columns the identified one; the diagonal is correct."""
    n = len(result.speakers)
    fig = Figure(figsize=(max(4.5, 2.0 + 0.35 * n), max(3.6, 1.6 + 0.35 * n)), layout="constrained")  # the title fits a few speakers too
    ax = fig.add_subplot()
    image = ax.imshow(result.confusion, cmap="Blues")
    ax.set_xticks(range(n), result.speakers, rotation=90, fontsize="small")
    ax.set_yticks(range(n), result.speakers, fontsize="small")
    ax.set(xlabel=t("concepts.identified_as"), ylabel=t("concepts.true_speaker"))
    fig.suptitle(t("concepts.identification_title", accuracy=100 * result.accuracy))  # over the colour bar too
    bar = fig.colorbar(image, ax=ax, label=t("concepts.test_utterances"))
    bar.locator = MaxNLocator(integer=True)  # counts of utterances
    bar.update_ticks()
    return fig
