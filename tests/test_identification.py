"""labkit.identification: enrolment from one session, closest enrolment wins, accuracy and confusion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit.identification import confusion_figure, enrolment_split, identify


def manifest(speakers: int, sessions: int, per_session: int) -> pd.DataFrame:
    rows = [{"utt": f"id{s:05d}/v{v}/{u:05d}.wav", "speaker": f"id{s:05d}", "session": f"v{v}"}
            for s in range(speakers) for v in range(sessions) for u in range(per_session)]
    return pd.DataFrame(rows)


def clustered(table: pd.DataFrame, noise: float, seed: int = 0) -> np.ndarray:
    """One random direction per speaker plus noise."""
    rng = np.random.default_rng(seed)
    centres = {s: rng.normal(size=16) for s in table["speaker"].unique()}
    return np.stack([centres[s] + noise * rng.normal(size=16) for s in table["speaker"]])


def test_split_enrols_the_first_session_and_tests_the_others():
    table = manifest(6, 3, 2)
    enrol, test = enrolment_split(table, 4, seed=1)
    assert enrol["speaker"].nunique() == test["speaker"].nunique() == 4 and set(enrol["speaker"]) == set(test["speaker"])
    assert (enrol["session"] == "v0").all() and set(test["session"]) == {"v1", "v2"}
    assert len(enrol) == 8 and len(test) == 16
    assert enrolment_split(table, 4, seed=1)[0].equals(enrol)  # seeded
    with pytest.raises(ValueError, match="7 speakers asked for, only 6"):
        enrolment_split(table, 7)
    with pytest.raises(ValueError, match="only 0 have two sessions"):
        enrolment_split(manifest(3, 1, 2), 2)


def test_clear_clusters_are_all_identified():
    table = manifest(5, 2, 3)
    enrol, test = enrolment_split(table, 5)
    result = identify(table["utt"].tolist(), clustered(table, noise=0.1), enrol, test)
    assert result.accuracy == 1.0
    assert (result.confusion == np.diag([3] * 5)).all()
    assert result.scores.shape == (15, 5) and result.scores.max() <= 1.0 + 1e-6


def test_a_test_utterance_closer_to_another_speaker_is_one_error():
    table = manifest(3, 2, 2)
    embeddings = clustered(table, noise=0.01)
    moved = table.index[table["utt"] == "id00000/v1/00001.wav"][0]
    embeddings[moved] = embeddings[table.index[table["utt"] == "id00002/v0/00000.wav"][0]]  # sounds exactly like id00002
    enrol, test = enrolment_split(table, 3)
    result = identify(table["utt"].tolist(), embeddings, enrol, test)
    assert result.accuracy == pytest.approx(5 / 6)
    assert result.confusion[0].tolist() == [1, 0, 1] and result.speakers == ["id00000", "id00001", "id00002"]
    figure = confusion_figure(result)
    assert "83.3 %" in figure._suptitle.get_text()  # Figure.get_suptitle needs matplotlib 3.8
    figure.canvas.draw()  # the colour bar counts utterances: whole numbers only
    assert [tick.get_text() for tick in figure.axes[1].get_yticklabels()] == ["0", "1", "2"]


@pytest.mark.slow
def test_pretrained_model_identifies_the_tiny_test_speakers(tiny_corpus):
    from labkit import pretrained
    from labkit.data.voxceleb import scan
    from labkit.embed import extract

    test_speakers = scan(tiny_corpus).query("speaker.str.startswith('id1')", engine="python")
    enrol, test = enrolment_split(test_speakers, 4)
    ids, embeddings = extract(pretrained.load(), pd.concat([enrol, test]), progress=False)
    result = identify(ids, embeddings, enrol, test)
    assert len(test) == 8 and result.accuracy == 1.0  # measured: 8 of 8, across sessions
