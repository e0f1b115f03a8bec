"""A training-free baseline: how hard a corpus is before any network is trained.

Each utterance becomes its average log-mel spectrum over its louder frames; two utterances are
compared by the cosine of those vectors. It hears the long-term spectrum (the vocal tract and the
channel together), so it suffers most when the same voice is recorded in another session.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from labkit.data.voxceleb import SAMPLE_RATE
from labkit.features import htk_mel_banks
from labkit.metrics import eer
from labkit.scoring import cosine_scores
from labkit.trials import Trials, read_trials

def mean_logmel(audio: np.ndarray, n_mels: int = 40) -> np.ndarray:
    """The average log-mel spectrum of an utterance's speech frames (25-ms Hamming frames, 10-ms hop).

    Speech frames are the louder half of the frames (a crude energy voice-activity detector), so
    that pauses, which hold only the session's noise, do not dominate the average.
    """
    frames = np.lib.stride_tricks.sliding_window_view(audio, 400)[::160] * np.hamming(400)
    banks = htk_mel_banks(n_mels, 512, SAMPLE_RATE).numpy()  # the melspec front-end's filters, (257, n_mels)
    logmel = np.log(np.abs(np.fft.rfft(frames, 512, axis=1)) ** 2 @ banks + 1e-8)
    energy = logmel.sum(axis=1)
    return logmel[energy >= np.median(energy)].mean(axis=0)


def baseline_scores(root: str | Path, trials: Trials) -> np.ndarray:
    """Cosine scores of ``trials`` between mean log-mel vectors (level removed, centred on the corpus average)."""
    utts = trials.utterances()
    vectors = np.stack([mean_logmel(sf.read(Path(root) / "wav" / utt, dtype="float32")[0]) for utt in utts])
    vectors -= vectors.mean(axis=1, keepdims=True)  # a recording's level adds the same constant to every band
    vectors -= vectors.mean(axis=0)  # centre on the corpus average spectrum
    return cosine_scores(trials, utts, vectors)


def session_eers(scores: np.ndarray, trials: Trials) -> dict[str, float]:
    """``eer`` (all trials), ``eer_cross_session`` and ``eer_same_session`` (each with all non-targets
    but only the targets across / within a session: the video is the second part of an utterance id)."""
    video = lambda utts: np.array([u.split("/")[1] for u in utts])  # noqa: E731
    same_session = video(trials.enroll) == video(trials.test)
    targets = trials.labels == 1
    result = {"eer": eer(scores, trials.labels)[0]}
    for name, keep in (("eer_cross_session", ~same_session), ("eer_same_session", same_session)):
        subset = ~targets | keep
        result[name] = eer(scores[subset], trials.labels[subset])[0]
    return result


def baseline_eer(root: str | Path) -> dict[str, float]:
    """``session_eers`` of the mean log-mel baseline on root/meta/veri_test.txt."""
    trials = read_trials(Path(root) / "meta" / "veri_test.txt")
    return session_eers(baseline_scores(root, trials), trials)
