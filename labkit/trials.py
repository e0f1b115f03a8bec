"""Trial lists and score files: read, validate, write.

A VoxCeleb trial list (``veri_test2.txt``: 37,611 lines) has one trial per line::

    1 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav

label (1 = same speaker, 0 = different), enrolment utterance, test utterance. A score file
is the same line with a fourth column, the system's score. Blank lines, Windows line ends
and trailing spaces are accepted; anything else that does not fit is an error naming the
file and line.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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
    """Split a whitespace-separated text file into rows of ``n_fields``; return rows and line numbers."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such trial/score file")
    rows, line_numbers = [], []
    with open(path, encoding="utf-8", newline=None) as handle:  # newline=None turns CRLF into LF
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue  # blank lines are harmless
            if len(fields) != n_fields:
                expected = "<1|0> <enroll> <test>" + (" <score>" if n_fields == 4 else "")
                raise TrialFormatError(f"{path}:{number}: expected {n_fields} fields ({expected}), found {len(fields)}: {line.strip()!r}")
            if fields[0] not in ("0", "1"):
                raise TrialFormatError(f"{path}:{number}: label must be 0 or 1, found {fields[0]!r}")
            rows.append(fields)
            line_numbers.append(number)
    if not rows:
        raise TrialFormatError(f"{path}: empty file, expected lines '<1|0> <enroll> <test>'")
    return rows, line_numbers


def _to_trials(path: str | Path, rows: list[list[str]], line_numbers: list[int]) -> Trials:
    """Build Trials from parsed rows, warning about repeated (enroll, test) pairs."""
    columns = list(zip(*rows))
    trials = Trials(
        labels=np.array(columns[0], dtype=np.int8),
        enroll=np.array(columns[1], dtype=str),
        test=np.array(columns[2], dtype=str),
    )
    seen: dict[tuple[str, str], int] = {}
    duplicates = []
    for number, pair in zip(line_numbers, zip(columns[1], columns[2])):
        if pair in seen:
            duplicates.append(f"line {number} repeats line {seen[pair]}")
        seen.setdefault(pair, number)
    if duplicates:
        warnings.warn(f"{path}: {len(duplicates)} duplicate trial(s): " + "; ".join(duplicates[:3]), stacklevel=3)
    return trials


def read_trials(path: str | Path) -> Trials:
    """Read a VoxCeleb trial list (``<1|0> <enroll> <test>`` per line)."""
    rows, line_numbers = _parse(path, 3)
    return _to_trials(path, rows, line_numbers)


def read_scores(path: str | Path) -> Scores:
    """Read a score file (``<1|0> <enroll> <test> <score>`` per line)."""
    rows, line_numbers = _parse(path, 4)
    values = np.empty(len(rows), dtype=np.float64)
    for i, (row, number) in enumerate(zip(rows, line_numbers)):
        try:
            values[i] = float(row[3])
        except ValueError:
            raise TrialFormatError(f"{path}:{number}: score must be a number, found {row[3]!r}") from None
        if not np.isfinite(values[i]):
            raise TrialFormatError(f"{path}:{number}: score must be finite, found {row[3]!r}")
    return Scores(trials=_to_trials(path, [row[:3] for row in rows], line_numbers), scores=values)


def _write_lines(path: str | Path, lines: list[str]) -> Path:
    """Write text lines atomically: a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_trials(path: str | Path, trials: Trials) -> Path:
    """Write a trial list in VoxCeleb's format."""
    return _write_lines(path, [f"{label} {e} {t}\n" for label, e, t in zip(trials.labels, trials.enroll, trials.test)])


def write_scores(path: str | Path, trials: Trials, scores: np.ndarray) -> Path:
    """Write a score file: each trial line plus its score (full precision, so no artificial ties)."""
    if len(scores) != len(trials):
        raise ValueError(f"{len(scores)} scores for {len(trials)} trials")
    lines = [f"{label} {e} {t} {s:.9g}\n" for label, e, t, s in zip(trials.labels, trials.enroll, trials.test, scores)]
    return _write_lines(path, lines)
