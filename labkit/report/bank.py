"""The question bank: the lab's questions, the figures and tables they ask for, and what an answer is.

The bank is the data file ``questions.yaml`` beside this module: every question in Spanish and
English, its kind (text, number or choice) and its evidence. A text that names a dataset holds
a placeholder (``{test_set}``, ``{train_set}``) filled from the data mode of the answers (quick
mode: the synthetic corpus; real mode: VoxCeleb), so a quick-mode report never calls its numbers
VoxCeleb results.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from labkit.errors import LabkitError

BANK_FILE = Path(__file__).with_name("questions.yaml")
LANGUAGES = ("es", "en")
KINDS = ("text", "number", "choice")
EVIDENCE_KINDS = ("figure", "table")
UNKNOWN_MODE = "unknown"  # answers saved without a data mode (set_info(data_mode=...) was never called)
ANY_MODE = "any"  # texts written before the mode is known (the notebooks' question cells) name both data sets
MODE_FIELDS = ("name", "train_set", "test_set", "models")  # what each data mode of the bank defines
_SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair: no UTF-8 file can hold one alone


@dataclass(frozen=True)
class Question:
    """One question of the bank (see questions.yaml for the meaning of each field)."""

    id: str
    session: int
    section: dict[str, str]
    kind: str
    text: dict[str, str]
    evidence: tuple[str, ...]
    choices: dict[str, dict[str, str]]
    unit: str = ""


@dataclass(frozen=True)
class Evidence:
    """A figure or table that answers point to, with its caption in each language."""

    id: str
    kind: str
    caption: dict[str, str]


@dataclass(frozen=True)
class Bank:
    """The whole question bank: report labels, data modes, session titles, evidence and questions in order."""

    labels: dict[str, dict[str, str]]
    data_modes: dict[str, dict[str, dict[str, str]]]
    sessions: dict[int, dict[str, str]]
    evidence: dict[str, Evidence]
    questions: tuple[Question, ...]

    def question(self, qid: str) -> Question:
        """The question called ``qid``; a clear error lists the valid ids otherwise."""
        for question in self.questions:
            if question.id == qid:
                return question
        raise KeyError(f"no question {qid!r}; the questions are {', '.join(q.id for q in self.questions)}")

    def recorded_modes(self) -> list[str]:
        """The data modes an answers file can record ("quick", "voxceleb")."""
        return [mode for mode in self.data_modes if mode not in (UNKNOWN_MODE, ANY_MODE)]

    def fill(self, text: str, data_mode: str | None, language: str) -> str:
        """``text`` with ``{train_set}``/``{test_set}`` named for ``data_mode`` (None: not recorded;
        "any": both data sets, for a text written before the mode is known)."""
        mode = self.data_modes[data_mode or UNKNOWN_MODE]
        return text.format(train_set=mode["train_set"][language], test_set=mode["test_set"][language])


def _bilingual(value: Any, where: str) -> dict[str, str]:
    """Check an ``{en: ..., es: ...}`` mapping."""
    if not isinstance(value, dict) or any(not isinstance(value.get(lang), str) for lang in LANGUAGES):
        raise LabkitError(f"{where}: expected a mapping with 'en' and 'es' texts, got {value!r}")
    return {lang: value[lang] for lang in LANGUAGES}


def _placeholders_known(text: dict[str, str], where: str) -> dict[str, str]:
    """Check that a bank text names no placeholder but ``{train_set}`` and ``{test_set}``."""
    for language, sentence in text.items():
        try:
            sentence.format(train_set="", test_set="")
        except (KeyError, IndexError, ValueError) as error:
            raise LabkitError(f"{where} ({language}): unknown placeholder {error}; expected {{train_set}} or "
                              "{test_set} (write a literal brace twice: {{ }})") from None
    return text


def load_bank(path: str | Path = BANK_FILE) -> Bank:
    """Read and check a question bank YAML file; errors name the file and the faulty entry."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise LabkitError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict) or not {"report", "data_modes", "sessions", "evidence", "questions"} <= set(raw):
        raise LabkitError(f"{path}: expected the keys report, data_modes, sessions, evidence and questions")
    labels = {key: _bilingual(value, f"{path}: report.{key}") for key, value in raw["report"].items()}
    data_modes = {}
    for mode, fields in raw["data_modes"].items():
        if not isinstance(fields, dict) or set(fields) != set(MODE_FIELDS):
            raise LabkitError(f"{path}: data mode {mode}: expected the fields {', '.join(MODE_FIELDS)}")
        data_modes[mode] = {field: _bilingual(fields[field], f"{path}: data_modes.{mode}.{field}") for field in MODE_FIELDS}
    if not {UNKNOWN_MODE, ANY_MODE} <= set(data_modes):
        raise LabkitError(f"{path}: data_modes needs the entries {UNKNOWN_MODE!r} (answers that never recorded their "
                          f"mode) and {ANY_MODE!r} (texts written before the mode is known)")
    sessions = {int(key): _bilingual(value, f"{path}: sessions.{key}") for key, value in raw["sessions"].items()}
    evidence = {}
    for eid, entry in raw["evidence"].items():
        if entry.get("kind") not in EVIDENCE_KINDS:
            raise LabkitError(f"{path}: evidence {eid}: kind must be one of {EVIDENCE_KINDS}")
        where = f"{path}: evidence {eid}"
        evidence[eid] = Evidence(eid, entry["kind"], _placeholders_known(_bilingual(entry, where), where))
    questions = []
    for entry in raw["questions"]:
        where = f"{path}: question {entry.get('id', '?')}"
        if entry.get("kind") not in KINDS or entry.get("session") not in sessions:
            raise LabkitError(f"{where}: kind must be one of {KINDS} and session one of {sorted(sessions)}")
        unknown = [eid for eid in entry.get("evidence", []) if eid not in evidence]
        if unknown:
            raise LabkitError(f"{where}: unknown evidence {unknown}; expected some of {sorted(evidence)}")
        choices = {key: _bilingual(label, f"{where}: choice {key}") for key, label in entry.get("choices", {}).items()}
        if (entry["kind"] == "choice") != bool(choices):
            raise LabkitError(f"{where}: choices are required for kind 'choice' and only for it")
        questions.append(Question(
            id=entry["id"], session=entry["session"], section=_bilingual(entry["section"], where), kind=entry["kind"],
            text=_placeholders_known(_bilingual(entry["text"], where), where), evidence=tuple(entry.get("evidence", [])),
            choices=choices, unit=entry.get("unit", ""),
        ))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise LabkitError(f"{path}: question ids must be unique")
    return Bank(labels, data_modes, sessions, evidence, tuple(questions))


@lru_cache(maxsize=1)
def bank() -> Bank:
    """The lab's question bank (read once)."""
    return load_bank()


def check_language(language: str) -> str:
    """``language`` if the report can be written in it; a clear error otherwise."""
    if language not in LANGUAGES:
        raise LabkitError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


def check_data_mode(data_mode: str) -> str:
    """``data_mode`` if the bank knows it ("quick" or "voxceleb"); a clear error otherwise."""
    if data_mode not in bank().recorded_modes():
        raise LabkitError(f"data_mode must be one of {bank().recorded_modes()}, got {data_mode!r}")
    return data_mode


# ----------------------------------------------------------------------------- answer values
def storable_text(text: str, where: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (UTF-8 cannot store one), with a warning.

    They come from undecodable bytes (``os.fsdecode(b"f\\xff")``) or a JSON ``"\\ud800"``; left in,
    every later save of the answers file would fail.
    """
    repaired, count = _SURROGATE.subn("\ufffd", text)
    if count:
        warnings.warn(f"{where}: {count} character(s) that no UTF-8 file can hold (lone surrogates, e.g. from "
                      "an undecodable file name) replaced by U+FFFD (�)", stacklevel=3)
    return repaired


def parse_value(question: Question, value: Any) -> Any:
    """Check an answer against its question's kind: text -> str, number -> float, choice -> key.

    An empty value (None, "" or blank) is stored as "not answered".
    """
    if isinstance(value, str):
        value = storable_text(value, question.id)
    if value is None or (isinstance(value, str) and not value.strip()):
        return "" if question.kind == "text" else None
    if question.kind == "text":
        if not isinstance(value, str):
            raise LabkitError(f"{question.id}: expected text (a string), got {type(value).__name__}")
        return value.strip()
    if question.kind == "number":
        if isinstance(value, str):
            value = value.strip().replace(",", ".")  # "3,2" is how Spanish writes 3.2
        try:
            return float(value)
        except (TypeError, ValueError):
            raise LabkitError(f"{question.id}: expected a number, got {value!r}") from None
    for key, labels in question.choices.items():  # a choice: by key or by its label in either language
        if str(value).strip().lower() in {key.lower(), *(label.lower() for label in labels.values())}:
            return key
    raise LabkitError(f"{question.id}: expected one of {list(question.choices)}, got {value!r}")


def is_answered(value: Any) -> bool:
    """Whether a stored answer counts: empty text and missing numbers do not."""
    return value is not None and value != ""


def fits(question: Question, value: Any) -> bool:
    """Whether a stored value has its question's kind (text: a string, number: a number, choice: a key)."""
    if not is_answered(value):
        return True
    if question.kind == "text":
        return isinstance(value, str)
    if question.kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str) and value in question.choices


def format_number(value: float, language: str) -> str:
    """A number as the report prints it: 4 significant digits (integers whole), decimal comma in Spanish."""
    text = str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return text.replace(".", ",") if language == "es" else text


def format_value(question: Question, value: Any, language: str) -> str:
    """An answered value as report text (numbers with their unit, choices by their label)."""
    if question.kind == "number":
        return format_number(value, language) + (f" {question.unit}" if question.unit else "")
    if question.kind == "choice":
        return question.choices[value][language]
    return value


def word_count(text: Any) -> int:
    """Words in an answer as a word processor counts them (numbers and choices count as one)."""
    if not is_answered(text):
        return 0
    return sum(bool(re.search(r"\w", token)) for token in text.split()) if isinstance(text, str) else 1
