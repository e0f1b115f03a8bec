"""Validation trials from held-out training speakers, and the matching reduced training list.

The test trials must stay unseen until the end, so a model is watched during training on
speakers that it does not train on: ``make_validation_split`` takes ``val_speakers`` speakers out
of a training list (``meta/train_list.txt``: the synthetic corpus and a VoxCeleb2 subset folder
have the same layout), writes trials among them in VoxCeleb's format (targets across sessions
where a speaker has several, as many non-targets), and writes the list of the remaining
speakers, optionally cut to ``train_speakers`` of them (a small training set, on which a large
network can overfit). ``labkit train --set data.train_list=... --set data.val_trials=...``
then reports the validation EER after every epoch and keeps the best epoch's model as best.pt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data.voxceleb import train_list_entries
from labkit.files import write_text_atomic
from labkit.trials import Trials, write_trials


@dataclass
class ValidationSplit:
    """The two files written by ``make_validation_split`` and what they hold."""

    train_list: Path  # voxceleb_trainer format, for data.train_list
    val_trials: Path  # VoxCeleb trial format, for data.val_trials
    train_speakers: int
    train_utterances: int
    val_speakers: int
    val_trials_count: int


def read_list(path: str | Path) -> pd.DataFrame:
    """A voxceleb_trainer list (``id00012 id00012/21Uxsk56VDQ/00001.wav``) as columns utt, speaker, session (no audio read)."""
    utts = train_list_entries(path)
    if not utts:
        raise ValueError(f"{path}: empty training list")
    speakers, sessions, _ = zip(*(utt.split("/") for utt in utts))
    return pd.DataFrame({"utt": utts, "speaker": speakers, "session": sessions})


def validation_trials(utterances: pd.DataFrame, targets_per_speaker: int, seed: int = 0) -> Trials:
    """Target trials of each speaker (pairs from different sessions first) and as many non-targets, seeded."""
    rng = np.random.default_rng(seed)
    targets = []
    for _, own in utterances.groupby("speaker", sort=True):
        pairs = [(a.utt, b.utt, a.session != b.session) for i, a in enumerate(own.itertuples()) for b in own.iloc[i + 1 :].itertuples()]
        order = sorted(rng.permutation(len(pairs)), key=lambda k: not pairs[k][2])  # cross-session pairs first
        targets += [pairs[k][:2] for k in order[:targets_per_speaker]]
    if not targets:
        raise ValueError("no target trials: every held-out speaker has a single utterance")
    utts, speakers = utterances["utt"].to_numpy(), utterances["speaker"].to_numpy()
    sizes = utterances["speaker"].value_counts().to_numpy()
    wanted = min(len(targets), int((sizes.sum() ** 2 - (sizes**2).sum()) // 2))  # no more than the different-speaker pairs there are
    nontargets: set[tuple[str, str]] = set()
    while len(nontargets) < wanted:
        a, b = rng.integers(len(utts), size=2)
        if speakers[a] != speakers[b]:
            nontargets.add((utts[min(a, b)], utts[max(a, b)]))
    pairs = targets + sorted(nontargets)
    labels = np.r_[np.ones(len(targets), dtype=np.int8), np.zeros(len(nontargets), dtype=np.int8)]
    return Trials(labels=labels, enroll=np.array([a for a, _ in pairs]), test=np.array([b for _, b in pairs]))


def make_validation_split(
    root: str | Path, out_dir: str | Path, val_speakers: int = 20, train_speakers: int = 0, targets_per_speaker: int = 10,
    train_list: str | Path | None = None, seed: int = 0,
) -> ValidationSplit:
    """Write ``out_dir/train_list.txt`` and ``out_dir/val_trials.txt`` from ``root``'s training list.

    ``val_speakers`` speakers are held out for validation; ``train_speakers`` > 0 keeps only that many
    of the others (a seeded choice), 0 keeps them all. ``train_list`` defaults to ``root/meta/train_list.txt``.
    """
    list_path = Path(train_list or Path(root) / "meta" / "train_list.txt")
    listed = read_list(list_path)
    speakers = listed["speaker"].nunique()
    if not 0 < val_speakers < speakers or train_speakers > speakers - val_speakers:
        raise ValueError(f"{list_path}: {speakers} speakers cannot give {val_speakers} for validation and "
                         f"{train_speakers or 'the rest'} for training (each needs at least one)")
    order = np.random.default_rng(seed).permutation(sorted(listed["speaker"].unique()))  # a seeded draw of the speakers
    held_out, training = order[:val_speakers], order[val_speakers:][: train_speakers or None]
    kept, held = listed[listed["speaker"].isin(training)], listed[listed["speaker"].isin(held_out)]
    trials = validation_trials(held, targets_per_speaker, seed)
    out = Path(out_dir)
    train_path = write_text_atomic(out / "train_list.txt", "".join(f"{s} {u}\n" for s, u in zip(kept["speaker"], kept["utt"])))
    trials_path = write_trials(out / "val_trials.txt", trials)
    return ValidationSplit(train_path, trials_path, kept["speaker"].nunique(), len(kept), held["speaker"].nunique(), len(trials))
