"""labkit.data.validation: held-out training speakers -> validation trials + the reduced training list."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.data.validation import make_validation_split, read_list, validation_trials
from labkit.trials import read_trials


def vox2_subset_folder(root: Path) -> Path:
    """The meta/train_list.txt of a VoxCeleb2 subset folder as ``labkit subset`` writes it (no audio is read)."""
    lines = [f"id{s:05d} id{s:05d}/vid{s:02d}{v}aaaaaaa/{u:05d}.wav" for s in range(1, 31) for v in range(3) for u in range(1, 3)]
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "train_list.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def check_split(split, listed) -> None:
    trials = read_trials(split.val_trials)
    train = read_list(split.train_list)
    held = {utt.split("/")[0] for utt in trials.utterances()}
    assert len(held) == split.val_speakers and not held & set(train["speaker"])  # speaker-disjoint
    assert set(train["speaker"]) | held <= set(listed["speaker"])
    assert trials.stats()["targets"] == trials.stats()["nontargets"] == split.val_trials_count // 2
    for label, enroll, test in zip(trials.labels, trials.enroll, trials.test):
        assert (enroll.split("/")[0] == test.split("/")[0]) == bool(label)


def test_split_of_a_voxceleb2_subset_folder(tmp_path):
    root = vox2_subset_folder(tmp_path / "voxceleb2-subset")
    split = make_validation_split(root, tmp_path / "split", val_speakers=5, train_speakers=10, targets_per_speaker=4)
    assert (split.train_speakers, split.train_utterances, split.val_speakers, split.val_trials_count) == (10, 60, 5, 40)
    check_split(split, read_list(root / "meta" / "train_list.txt"))
    trials = read_trials(split.val_trials)
    targets = [(e, t) for label, e, t in zip(trials.labels, trials.enroll, trials.test) if label]
    assert all(e.split("/")[1] != t.split("/")[1] for e, t in targets)  # enough cross-session pairs: all targets cross sessions
    again = make_validation_split(root, tmp_path / "again", val_speakers=5, train_speakers=10, targets_per_speaker=4)
    assert again.val_trials.read_text() == split.val_trials.read_text()  # seeded
    assert make_validation_split(root, tmp_path / "other", val_speakers=5, seed=1).val_trials.read_text() != split.val_trials.read_text()
    all_kept = make_validation_split(root, tmp_path / "all", val_speakers=5)
    assert all_kept.train_speakers == 25 and all_kept.train_utterances == 150


def test_split_of_the_synthetic_corpus(tiny_corpus, tmp_path):
    split = make_validation_split(tiny_corpus, tmp_path, val_speakers=2, targets_per_speaker=6)
    assert (split.train_speakers, split.train_utterances, split.val_speakers, split.val_trials_count) == (6, 24, 2, 24)
    check_split(split, read_list(tiny_corpus / "meta" / "train_list.txt"))


def test_fewer_non_targets_when_there_are_not_enough_pairs():
    import pandas as pd

    utterances = pd.DataFrame({"utt": [f"a/s{i}/x.wav" for i in range(5)] + ["b/s0/x.wav"], "speaker": ["a"] * 5 + ["b"],
                               "session": [f"s{i}" for i in range(5)] + ["s0"]})
    trials = validation_trials(utterances, targets_per_speaker=10)
    assert trials.stats()["targets"] == 10 and trials.stats()["nontargets"] == 5  # only 5 pairs across a and b exist


def test_bad_lists_name_the_line(tmp_path):
    bad = tmp_path / "meta" / "train_list.txt"
    bad.parent.mkdir()
    bad.write_text("id00001 id00001/v/00001.wav\nid00002 id00003/v/00001.wav\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"train_list.txt, line 2: expected '<speaker> <speaker>/<video>/<file>.wav'"):
        make_validation_split(tmp_path, tmp_path / "out", val_speakers=1)
    folder = vox2_subset_folder(tmp_path / "v")
    with pytest.raises(ValueError, match=r"v/meta/train_list.txt: 30 speakers cannot give 30 for validation and the rest for training"):
        make_validation_split(folder, tmp_path / "out", val_speakers=30)
    with pytest.raises(ValueError, match="30 speakers cannot give 5 for validation and 26 for training"):
        make_validation_split(folder, tmp_path / "out", val_speakers=5, train_speakers=26)
