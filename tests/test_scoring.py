"""Cosine scoring and S-norm / AS-norm."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import metrics
from labkit.scoring import cohort_statistics, cosine_scores, normalize_scores, speaker_cohort
from labkit.trials import Trials


def _toy(n_speakers=20, per_speaker=6, dim=32, seed=0):
    """Embeddings = speaker centre + noise, and a trial list over them."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_speakers, dim))
    speakers = np.repeat(np.arange(n_speakers), per_speaker)
    embeddings = centres[speakers] + 0.8 * rng.normal(size=(len(speakers), dim))
    ids = np.array([f"id{s:05d}/v/{i:05d}.wav" for i, s in enumerate(speakers)])
    pairs = rng.integers(0, len(ids), size=(2000, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    labels = (speakers[pairs[:, 0]] == speakers[pairs[:, 1]]).astype(np.int8)
    return ids, embeddings, speakers, Trials(labels, ids[pairs[:, 0]], ids[pairs[:, 1]])


def test_cosine_matches_direct_formula_and_ignores_id_order():
    ids, emb, _, trials = _toy()
    scores = cosine_scores(trials, ids, emb)
    lookup = dict(zip(ids, emb))
    for i in range(0, len(trials), 97):
        a, b = lookup[trials.enroll[i]], lookup[trials.test[i]]
        assert scores[i] == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-6)
    shuffled = np.random.default_rng(1).permutation(len(ids))
    assert np.allclose(cosine_scores(trials, ids[shuffled], emb[shuffled] * 3.0), scores, atol=1e-6)  # scale-free


def test_missing_utterances_are_listed():
    ids, emb, _, trials = _toy()
    keep = np.array([not u.endswith(("00003.wav", "00007.wav")) for u in ids])
    with pytest.raises(KeyError, match=r"2 trial utterance\(s\) have no embedding, e.g. \['id00000/v/00003.wav'"):
        cosine_scores(trials, ids[keep], emb[keep])


def test_duplicate_ids_are_refused():
    ids, emb, _, trials = _toy()
    ids = ids.copy()
    ids[1] = ids[0]
    with pytest.raises(ValueError, match="not unique"):
        cosine_scores(trials, ids, emb)


def test_speaker_cohort_is_mean_of_unit_vectors():
    emb = np.array([[3.0, 0.0], [0.0, 2.0], [0.0, -5.0]])
    cohort = speaker_cohort(emb, ["b", "b", "a"])
    assert np.allclose(cohort, [[0.5, 0.5], [0.0, -1.0]])  # order of first appearance


def test_cohort_statistics_top_n_uses_closest_impostors():
    emb = np.array([[1.0, 0.0]])
    cohort = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # cosines 1, 0, -1
    mean, std = cohort_statistics(emb, cohort, top_n=None)
    assert mean[0] == pytest.approx(0.0) and std[0] == pytest.approx(np.sqrt(2 / 3))
    mean, std = cohort_statistics(emb, cohort, top_n=2)
    assert mean[0] == pytest.approx(0.5) and std[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="top_n"):
        cohort_statistics(emb, cohort, top_n=4)


def test_normalize_scores_by_hand():
    """Two utterances, three cohort speakers: z-scores computed by hand from the cosines."""
    ids = ["a", "b"]
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0]])
    cohort = np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    trials = Trials(np.array([0], dtype=np.int8), np.array(["a"]), np.array(["b"]))
    r = 1 / np.sqrt(2)
    a_vs_cohort, b_vs_cohort = np.array([r, -1.0, 0.0]), np.array([r, 0.0, -1.0])  # cosines with the cohort
    raw = 0.0  # a and b are orthogonal
    expected = 0.5 * ((raw - a_vs_cohort.mean()) / a_vs_cohort.std() + (raw - b_vs_cohort.mean()) / b_vs_cohort.std())
    assert normalize_scores(trials, ids, embeddings, cohort, top_n=None)[0] == pytest.approx(expected, abs=1e-6)
    top2 = np.array([r, 0.0])  # the two closest cohort speakers of each utterance (same values for a and b)
    expected = (raw - top2.mean()) / top2.std()
    assert normalize_scores(trials, ids, embeddings, cohort, top_n=2)[0] == pytest.approx(expected, abs=1e-6)
    # the enrolment and the test side use their own statistics: give them different raw scores to tell them apart
    scores = normalize_scores(trials, ids, embeddings, cohort, top_n=None, scores=np.array([0.5]))
    assert scores[0] == pytest.approx(0.5 * ((0.5 - a_vs_cohort.mean()) / a_vs_cohort.std() + (0.5 - b_vs_cohort.mean()) / b_vs_cohort.std()), abs=1e-6)


def test_as_norm_helps_when_utterances_have_offsets():
    """A per-utterance bias (e.g. channel) inflates some scores; AS-norm removes it."""
    ids, emb, speakers, trials = _toy(n_speakers=40, per_speaker=8, seed=3)
    rng = np.random.default_rng(4)
    shared = rng.normal(size=emb.shape[1])
    biased = emb + rng.uniform(0, 3, size=(len(emb), 1)) * shared  # some utterances lean towards one direction
    raw = metrics.eer(cosine_scores(trials, ids, biased), trials.labels)[0]
    cohort = speaker_cohort(biased, speakers)
    as_norm = metrics.eer(normalize_scores(trials, ids, biased, cohort, top_n=10), trials.labels)[0]
    s_norm = metrics.eer(normalize_scores(trials, ids, biased, cohort, top_n=None), trials.labels)[0]
    assert as_norm < raw and s_norm < raw
