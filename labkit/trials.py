"""Trial lists and score files: read, validate, write.

A VoxCeleb trial list (``veri_test2.txt``: 37,611 lines) has one trial per line::

    1 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav

label (1 = same speaker, 0 = different), enrolment utterance, test utterance. A score file
is the same line with a fourth column, the system's score. Blank lines, Windows line ends
and trailing spaces are accepted; anything else that does not fit is an error naming the
file and line.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.files import write_text_atomic


class TrialFormatError(ValueError):
    """A trial list or score file line that does not have the expected form."""


@dataclass
class Trials:
    """A list of verification trials: ``labels[i]`` says whether ``enroll[i]`` and ``test[i]``
    share a speaker."""

    labels: np.ndarray  # int8, 1 = target (same speaker), 0 = non-target
    enroll: np.ndarray  # utterance ids such as "id10270/x6uYqmx31kE/00001.wav"
    test: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def utterances(self) -> np.ndarray:
        """Every utterance that appears in a trial, sorted."""
        return np.unique(np.concatenate([self.enroll, self.test]))

    def stats(self) -> dict[str, int]:
        """Counts a student can check against the published list (e.g. Vox1-O cleaned: 37,611 trials, 18,802 targets)."""
        utterances = self.utterances()
        speakers = {utt.split("/", 1)[0] for utt in utterances}  # VoxCeleb ids start with the speaker
        return {
            "trials": len(self),
            "targets": int(self.labels.sum()),
            "nontargets": int(len(self) - self.labels.sum()),
            "utterances": len(utterances),
            "speakers": len(speakers),
        }


@dataclass
class Scores:
    """Trials with one score each (higher = more likely the same speaker)."""

    trials: Trials
    scores: np.ndarray  # float64

    @property
    def labels(self) -> np.ndarray:
        return self.trials.labels


def _parse(path: str | Path, n_fields: int) -> tuple[list[list[str]], list[int]]:
    """Split a whitespace-separated text file into ``n_fields`` columns; return the columns and line numbers."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such trial/score file")
    columns: list[list[str]] = [[] for _ in range(n_fields)]
    line_numbers = []
    with open(path, "rb") as handle:  # bytes, so that a line that is not UTF-8 can be named
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")  # -sig drops a BOM
            except UnicodeDecodeError as error:
                raise TrialFormatError(f"{path}:{number}: not UTF-8 text (byte {raw[error.start]:#04x} at column {error.start + 1})") from None
            fields = line.split()  # also drops the \r of Windows line ends
            if not fields:
                continue  # blank lines are harmless
            if len(fields) != n_fields:
                expected = "<1|0> <enroll> <test>" + (" <score>" if n_fields == 4 else "")
                raise TrialFormatError(f"{path}:{number}: expected {n_fields} fields ({expected}), found {len(fields)}: {line.strip()!r}")
            if fields[0] not in ("0", "1"):
                raise TrialFormatError(f"{path}:{number}: label must be 0 or 1, found {fields[0]!r}")
            for column, field in zip(columns, fields):
                column.append(field)
            line_numbers.append(number)
    if not line_numbers:
        raise TrialFormatError(f"{path}: empty file, expected lines '<1|0> <enroll> <test>'")
    return columns, line_numbers


def _to_trials(path: str | Path, columns: list[list[str]], line_numbers: list[int]) -> Trials:
    """Build Trials from the label, enroll and test columns. A pair listed twice with both labels is an error;
    listed twice with the same label, a warning."""
    trials = Trials(
        labels=np.array(columns[0], dtype=np.int8),
        enroll=np.array(columns[1], dtype=str),
        test=np.array(columns[2], dtype=str),
    )
    pairs = pd.DataFrame({"enroll": trials.enroll, "test": trials.test})
    repeated = np.flatnonzero(pairs.duplicated().to_numpy())  # vectorised: Vox1-E/H lists have 550,000+ lines
    if len(repeated):
        first = {pair: i for i, pair in reversed(list(enumerate(zip(columns[1], columns[2]))))}  # first line of each pair
        earlier = [first[(columns[1][i], columns[2][i])] for i in repeated]
        for i, j in zip(repeated, earlier):
            if columns[0][i] != columns[0][j]:
                raise TrialFormatError(f"{path}:{line_numbers[i]}: trial '{columns[1][i]} {columns[2][i]}' is labelled "
                                       f"{columns[0][i]} here and {columns[0][j]} on line {line_numbers[j]}; keep one")
        examples = [f"line {line_numbers[i]} repeats line {line_numbers[j]}" for i, j in zip(repeated[:3], earlier)]
        warnings.warn(f"{path}: {len(repeated)} duplicate trial(s): " + "; ".join(examples), stacklevel=3)
    return trials


def read_trials(path: str | Path) -> Trials:
    """Read a VoxCeleb trial list (``<1|0> <enroll> <test>`` per line)."""
    columns, line_numbers = _parse(path, 3)
    return _to_trials(path, columns, line_numbers)


def read_scores(path: str | Path) -> Scores:
    """Read a score file (``<1|0> <enroll> <test> <score>`` per line)."""
    columns, line_numbers = _parse(path, 4)
    column = columns[3]
    try:
        values = np.array(column, dtype=np.float64)  # one conversion for the whole column
    except ValueError:
        values = None
    if values is None or not np.isfinite(values).all():  # find the first bad line to name it
        for text, number in zip(column, line_numbers):
            try:
                value = float(text)
            except ValueError:
                raise TrialFormatError(f"{path}:{number}: score must be a number, found {text!r}") from None
            if not np.isfinite(value):
                raise TrialFormatError(f"{path}:{number}: score must be finite, found {text!r}")
    return Scores(trials=_to_trials(path, columns[:3], line_numbers), scores=values)


def write_trials(path: str | Path, trials: Trials) -> Path:
    """Write a trial list in VoxCeleb's format."""
    return write_text_atomic(path, "".join(f"{label} {e} {t}\n" for label, e, t in zip(trials.labels, trials.enroll, trials.test)))


def write_scores(path: str | Path, trials: Trials, scores: np.ndarray) -> Path:
    """Write a score file: each trial line plus its score (full precision, so no artificial ties)."""
    if len(scores) != len(trials):
        raise ValueError(f"{len(scores)} scores for {len(trials)} trials")
    lines = [f"{label} {e} {t} {s:.9g}\n" for label, e, t, s in zip(trials.labels, trials.enroll, trials.test, scores)]
    return write_text_atomic(path, "".join(lines))
