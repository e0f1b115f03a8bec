"""The lab's questions and the students' answers, kept in one JSON file that is never lost.

In a notebook cell::

    from labkit.report.questions import answer, attach, progress, set_info
    set_info(students=[("Ana García", "100456789")], language="es")
    answer("s1_q1", \"\"\"La verificación de locutor decide si ...\"\"\")   # saved at once
    attach("fig_det_pretrained", fig)                                # a figure or a DataFrame
    progress()                                                       # what is still missing

The question bank is the data file ``questions.yaml`` beside this module. The answers live in
one JSON file (on Google Drive when it is mounted, so a Colab disconnect loses nothing; answers
saved before Drive was mounted are merged into it at the next save) that every save rewrites
atomically (temp file + fsync + rename) under a file lock, re-reading it first, so two kernels
saving different answers keep both. The previous versions are kept as
rotating backups; a corrupted file is set aside and the newest good backup restored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import re
import shutil
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pandas as pd
import yaml

from labkit.files import COLAB_DRIVE, atomic_path, write_bytes_atomic

try:  # POSIX file locks (Linux, macOS, Colab); without them saves are still atomic
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

BANK_FILE = Path(__file__).with_name("questions.yaml")
COLAB_DIR = Path("/content")  # the Colab VM's local disk: wiped when the runtime is recycled
DRIVE_DIR = COLAB_DRIVE / "MyDrive"  # the student's own Drive folder
FORMAT = "labkit-answers"  # marks a file as ours; any other content counts as corrupted
LANGUAGES = ("es", "en")
KINDS = ("text", "number", "choice")
EVIDENCE_KINDS = ("figure", "table")
FIGURE_SUFFIXES = (".pdf", ".png", ".jpg")  # what attach() keeps: the PDF for LaTeX, the PNG or JPG for Word


# ----------------------------------------------------------------------------- question bank
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
    """The whole question bank: report labels, session titles, evidence and questions in order."""

    labels: dict[str, dict[str, str]]
    sessions: dict[int, dict[str, str]]
    evidence: dict[str, Evidence]
    questions: tuple[Question, ...]

    def question(self, qid: str) -> Question:
        """The question called ``qid``; a clear error lists the valid ids otherwise."""
        for question in self.questions:
            if question.id == qid:
                return question
        raise KeyError(f"no question {qid!r}; the questions are {', '.join(q.id for q in self.questions)}")


def _bilingual(value: Any, where: str) -> dict[str, str]:
    """Check an ``{en: ..., es: ...}`` mapping."""
    if not isinstance(value, dict) or any(not isinstance(value.get(lang), str) for lang in LANGUAGES):
        raise ValueError(f"{where}: expected a mapping with 'en' and 'es' texts, got {value!r}")
    return {lang: value[lang] for lang in LANGUAGES}


def load_bank(path: str | Path = BANK_FILE) -> Bank:
    """Read and check a question bank YAML file; errors name the file and the faulty entry."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict) or not {"report", "sessions", "evidence", "questions"} <= set(raw):
        raise ValueError(f"{path}: expected the keys report, sessions, evidence and questions")
    labels = {key: _bilingual(value, f"{path}: report.{key}") for key, value in raw["report"].items()}
    sessions = {int(key): _bilingual(value, f"{path}: sessions.{key}") for key, value in raw["sessions"].items()}
    evidence = {}
    for eid, entry in raw["evidence"].items():
        if entry.get("kind") not in EVIDENCE_KINDS:
            raise ValueError(f"{path}: evidence {eid}: kind must be one of {EVIDENCE_KINDS}")
        evidence[eid] = Evidence(eid, entry["kind"], _bilingual(entry, f"{path}: evidence {eid}"))
    questions = []
    for entry in raw["questions"]:
        where = f"{path}: question {entry.get('id', '?')}"
        if entry.get("kind") not in KINDS or entry.get("session") not in sessions:
            raise ValueError(f"{where}: kind must be one of {KINDS} and session one of {sorted(sessions)}")
        unknown = [eid for eid in entry.get("evidence", []) if eid not in evidence]
        if unknown:
            raise ValueError(f"{where}: unknown evidence {unknown}; expected some of {sorted(evidence)}")
        choices = {key: _bilingual(label, f"{where}: choice {key}") for key, label in entry.get("choices", {}).items()}
        if (entry["kind"] == "choice") != bool(choices):
            raise ValueError(f"{where}: choices are required for kind 'choice' and only for it")
        questions.append(Question(
            id=entry["id"], session=entry["session"], section=_bilingual(entry["section"], where), kind=entry["kind"],
            text=_bilingual(entry["text"], where), evidence=tuple(entry.get("evidence", [])),
            choices=choices, unit=entry.get("unit", ""),
        ))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: question ids must be unique")
    return Bank(labels, sessions, evidence, tuple(questions))


@lru_cache(maxsize=1)
def bank() -> Bank:
    """The lab's question bank (read once)."""
    return load_bank()


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


# ----------------------------------------------------------------------------- answer values
def parse_value(question: Question, value: Any) -> Any:
    """Check an answer against its question's kind: text -> str, number -> float, choice -> key.

    An empty value (None, "" or blank) is stored as "not answered".
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return "" if question.kind == "text" else None
    if question.kind == "text":
        if not isinstance(value, str):
            raise ValueError(f"{question.id}: expected text (a string), got {type(value).__name__}")
        return value.strip()
    if question.kind == "number":
        if isinstance(value, str):
            value = value.strip().replace(",", ".")  # "3,2" is how Spanish writes 3.2
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{question.id}: expected a number, got {value!r}") from None
    for key, labels in question.choices.items():  # a choice: by key or by its label in either language
        if str(value).strip().lower() in {key.lower(), *(label.lower() for label in labels.values())}:
            return key
    raise ValueError(f"{question.id}: expected one of {list(question.choices)}, got {value!r}")


def is_answered(value: Any) -> bool:
    """Whether a stored answer counts: empty text and missing numbers do not."""
    return value is not None and value != ""


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


# ----------------------------------------------------------------------------- the store
def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def empty_answers() -> dict[str, Any]:
    """The content of a new answers file."""
    return {"format": FORMAT, "version": 1, "info": {"students": [], "language": "es"}, "answers": {}, "evidence": {}}


def _parse(data: bytes, path: Path) -> dict[str, Any]:
    """Decode an answers file; ValueError names the file and what is wrong."""
    try:
        content = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a valid answers file ({error})") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ValueError(f"{path}: not a labkit answers file (expected \"format\": \"{FORMAT}\")")
    for key in ("info", "answers", "evidence"):
        if not isinstance(content.get(key), dict):
            raise ValueError(f"{path}: expected a mapping under {key!r}")
    return content


class AnswerStore:
    """One answers JSON file with its lock and rotating backups (``<file>.bak1`` newest .. ``.bakN``)."""

    def __init__(self, path: str | Path, backups: int = 3):
        self.path = Path(path).expanduser().absolute()
        self.backups = backups

    def backup_path(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.bak{n}")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on ``<file>.lock`` (released by the OS even if the process is killed)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                except OSError as error:  # some network file systems refuse locks: stay atomic, warn once
                    warnings.warn(f"{self.path}: no file lock ({error}); do not save from two kernels at once", stacklevel=3)
            yield
        finally:
            os.close(handle)

    def _newest_backup(self) -> tuple[Path, bytes, dict[str, Any]] | None:
        for n in range(1, self.backups + 1):
            with contextlib.suppress(OSError, ValueError):
                raw = self.backup_path(n).read_bytes()
                return self.backup_path(n), raw, _parse(raw, self.backup_path(n))
        return None

    def _load(self, repair: bool) -> tuple[dict[str, Any], bytes | None]:
        """The content and its bytes; a missing or corrupted file falls back to the newest good backup.

        ``repair`` (under the lock, before a save) also keeps a corrupted file aside and writes the
        backup back in its place; without it nothing is written. None bytes: nothing saved yet.
        """
        try:
            raw = self.path.read_bytes()
            return _parse(raw, self.path), raw
        except FileNotFoundError:
            problem, corrupted = f"{self.path} is missing", False
        except ValueError as error:
            problem, corrupted = str(error), True
        if corrupted and repair:  # the damaged file is kept for inspection, never deleted
            kept = self.path.with_name(f"{self.path.name}.corrupt-{dt.datetime.now():%Y%m%d-%H%M%S}")
            shutil.copyfile(self.path, kept)
            problem += f" (kept as {kept.name})"
        found = self._newest_backup()
        if found is None:
            if not corrupted:  # a new answers file
                return empty_answers(), None
            if not repair:
                raise ValueError(problem)
            warnings.warn(f"{problem}; no good backup, starting an empty answers file", stacklevel=3)
            return empty_answers(), None
        backup, raw, content = found
        warnings.warn(f"{problem}; {'restored' if repair else 'using'} the backup {backup.name}", stacklevel=3)
        if repair:
            write_bytes_atomic(self.path, raw, fsync=True)
        return content, raw

    def read(self) -> dict[str, Any]:
        """The stored answers, without writing anything: from the file, else from the newest good backup."""
        return self._load(repair=False)[0]

    def update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Apply ``change`` to the freshly read content and save it, all under the lock."""
        with self._locked():
            unique = "?" * 8  # the random part of atomic_path's temporary names (tempfile.mkstemp)
            for pattern in (f".{self.path.stem}.{unique}.tmp{self.path.suffix}", f".{self.path.name}.{unique}.tmp.bak*"):
                for stale in self.path.parent.glob(pattern):  # left by a writer killed before its rename
                    stale.unlink(missing_ok=True)
            content, previous = self._load(repair=True)
            change(content)
            if previous is not None:  # rotate: bak1 -> bak2 -> ... and the previous file becomes bak1
                existing = [path for n in range(1, self.backups + 1) if (path := self.backup_path(n)).exists()]
                for n, path in reversed(list(enumerate(existing[: self.backups - 1], start=2))):
                    os.replace(path, self.backup_path(n))  # oldest first; closes a gap left by a killed writer
                write_bytes_atomic(self.backup_path(1), previous, fsync=True)
            write_bytes_atomic(self.path, json.dumps(content, ensure_ascii=False, indent=1).encode("utf-8"), fsync=True)
            return content

    def save_answer(self, qid: str, value: Any) -> Any:
        """Check ``value`` against question ``qid`` and store it; returns the stored value."""
        value = parse_value(bank().question(qid), value)

        def put(content: dict[str, Any]) -> None:
            content["answers"][qid] = {"value": value, "saved": _now()}

        self.update(put)
        return value

    def set_info(self, students: Sequence[tuple[str, str]] | None = None, language: str | None = None) -> None:
        """Store the students ``[(name, NIA/ID), ...]`` and/or the report language ("es" or "en")."""
        info: dict[str, Any] = {}
        if students is not None:
            info["students"] = [{"name": str(name), "id": str(sid)} for name, sid in students]
        if language is not None:
            info["language"] = _language(language)
        def put(content: dict[str, Any]) -> None:
            content["info"].update(info)

        self.update(put)

    def attach(self, evidence_id: str, item: Any) -> None:
        """Keep a figure (matplotlib Figure or .pdf/.png path) or a table (DataFrame) for ``evidence_id``.

        Figures are copied beside the answers file (``figures/<id>.pdf`` and ``.png``) so they
        survive with it; tables are stored inside the JSON.
        """
        if evidence_id not in bank().evidence:
            raise KeyError(f"no evidence {evidence_id!r}; expected one of {', '.join(bank().evidence)}")
        kind = bank().evidence[evidence_id].kind
        if kind == "table" and not isinstance(item, pd.DataFrame):
            raise ValueError(f"{evidence_id} is a table: attach a pandas DataFrame, got {item!r}")
        if kind == "figure" and isinstance(item, pd.DataFrame):
            raise ValueError(f"{evidence_id} is a figure: attach a matplotlib Figure or a .pdf/.png/.jpg path, "
                             "got a DataFrame")
        if kind == "table":
            table = json.loads(item.to_json(orient="split", index=False))  # NaN -> null, numpy -> JSON
            entry = {"kind": "table", "columns": table["columns"], "rows": table["data"]}
        else:
            entry = {"kind": "figure", "files": self._copy_figure(evidence_id, item)}
        entry["saved"] = _now()

        def put(content: dict[str, Any]) -> None:
            content["evidence"][evidence_id] = entry

        self.update(put)

    def merge(self, other: AnswerStore) -> list[str]:
        """Bring into this file what ``other`` holds newer (answers, figures, tables) and its students when
        this file has none; ``other`` is left as it is. Returns the ids taken."""
        theirs, ours = other.read(), self.read()

        def newer(section: str) -> dict[str, Any]:
            return {key: entry for key, entry in theirs[section].items()
                    if entry.get("saved", "") > ours[section].get(key, {}).get("saved", "")}

        answers = newer("answers")
        evidence = {eid: entry for eid, entry in newer("evidence").items() if eid in bank().evidence}
        for eid, entry in list(evidence.items()):  # figure files move with their entry
            if entry.get("files"):
                try:
                    source = other.path.parent / figure_files(theirs, eid)[0]
                    evidence[eid] = {**entry, "files": self._copy_figure(eid, source)}
                except (OSError, ValueError) as error:
                    warnings.warn(f"{other.path}: figure {eid} not merged ({error})", stacklevel=2)
                    del evidence[eid]

        def take(content: dict[str, Any]) -> None:
            content["answers"].update(answers)
            content["evidence"].update(evidence)
            if not content["info"].get("students"):
                content["info"] = theirs["info"]

        self.update(take)
        return [*answers, *evidence]

    def _copy_figure(self, evidence_id: str, item: Any) -> list[str]:
        """Figure files for ``evidence_id`` beside the store; returns their paths relative to it."""
        target = self.path.parent / "figures" / evidence_id
        if hasattr(item, "savefig"):
            from labkit.plots import save_figure

            written = save_figure(item, target)
        else:
            source = Path(item)
            siblings = [source.with_suffix(s) for s in FIGURE_SUFFIXES if source.with_suffix(s).is_file()]
            if not siblings:
                raise FileNotFoundError(f"{source}: no such figure (.pdf, .png or .jpg)")
            written = []
            for file in siblings:  # the PDF for LaTeX and the PNG for Word, when both exist
                with atomic_path(target.with_suffix(file.suffix)) as tmp:
                    shutil.copyfile(file, tmp)
                written.append(target.with_suffix(file.suffix))
        return [str(file.relative_to(self.path.parent)) for file in written]


# ----------------------------------------------------------------------------- report content
@dataclass(frozen=True)
class ReportItem:
    """One question as the report shows it: text, formatted answer (None = missing) and evidence ids."""

    question: Question
    text: str
    answer: str | None
    evidence: tuple[str, ...]


def report_items(content: dict[str, Any], language: str) -> list[ReportItem]:
    """Every question of the bank, in order, with its answer from ``content`` in ``language``."""
    items = []
    for question in bank().questions:
        value = content["answers"].get(question.id, {}).get("value")
        answer = format_value(question, value, language) if is_answered(value) else None
        items.append(ReportItem(question, question.text[language], answer, question.evidence))
    return items


def report_outline(content: dict[str, Any], language: str) -> list[tuple[str, list[tuple[str, list[ReportItem]]]]]:
    """The report's structure: ``[(session title, [(section title, [items])])]`` in bank order."""
    outline: list[tuple[str, list[tuple[str, list[ReportItem]]]]] = []
    for item in report_items(content, language):
        session = bank().sessions[item.question.session][language]
        section = item.question.section[language]
        if not outline or outline[-1][0] != session:
            outline.append((session, []))
        sections = outline[-1][1]
        if not sections or sections[-1][0] != section:
            sections.append((section, []))
        sections[-1][1].append(item)
    return outline


def format_number(value: float, language: str) -> str:
    """A number as the report prints it: 4 significant digits (integers whole), decimal comma in Spanish."""
    text = str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return text.replace(".", ",") if language == "es" else text


def cell_text(value: Any, language: str) -> str:
    """A table cell as text: numbers via ``format_number``, missing values as an en dash."""
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return "–"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value, language)
    return str(value)


def table_frame(entry: dict[str, Any]) -> pd.DataFrame:
    """A stored table evidence entry as a DataFrame."""
    return pd.DataFrame(entry["rows"], columns=entry["columns"])


def figure_files(content: dict[str, Any], evidence_id: str) -> list[str]:
    """The stored figure files of ``evidence_id`` (relative to the answers file), checked.

    Only ``figures/<evidence_id>.pdf``, ``.png`` or ``.jpg`` of an evidence of the bank is accepted
    (what ``attach()`` writes), so an edited answers file cannot make the report copy or read any
    other file (``body.tex``, ``latexmkrc``, ``../../etc/...``). The LaTeX and Word exports both use it.
    """
    allowed = [f"figures/{evidence_id}{suffix}" for suffix in FIGURE_SUFFIXES] if evidence_id in bank().evidence else []
    files = content["evidence"].get(evidence_id, {}).get("files", [])
    for file in files:
        if file not in allowed:
            raise ValueError(f"evidence {evidence_id}: figure file {file!r} refused; "
                             f"expected figures/{evidence_id}.pdf, .png or .jpg")
    return files


def figure_file(content: dict[str, Any], evidence_id: str, suffixes: tuple[str, ...]) -> str | None:
    """The stored figure of ``evidence_id`` in the first of ``suffixes`` available (checked by ``figure_files``)."""
    files = figure_files(content, evidence_id)
    return next((file for suffix in suffixes for file in files if file.endswith(suffix)), None)


# ----------------------------------------------------------------------------- notebook API
_store: AnswerStore | None = None
_store_is_default = False  # chosen by default_store_path(): follows it when it changes (Drive mounted later)


def default_store_path() -> Path:
    """``$LABKIT_ANSWERS``, else ``MyDrive/labkit/answers.json`` when Drive is mounted, else ``./answers/answers.json``."""
    if os.environ.get("LABKIT_ANSWERS"):
        return Path(os.environ["LABKIT_ANSWERS"])
    if DRIVE_DIR.is_dir():
        return DRIVE_DIR / "labkit" / "answers.json"
    return Path.cwd() / "answers" / "answers.json"


def use_store(path: str | Path | None = None) -> AnswerStore:
    """Choose the answers file for ``answer()``/``progress()`` (default: ``default_store_path()``).

    Warns when the file is on the Colab VM's disk rather than on Drive: it would not survive the runtime.
    """
    global _store, _store_is_default
    _store, _store_is_default = AnswerStore(path or default_store_path()), path is None
    print(f"answers file: {_store.path}")
    if _store.path.is_relative_to(COLAB_DIR) and not _store.path.is_relative_to(DRIVE_DIR.parent):
        warnings.warn(f"Google Drive is not mounted: {_store.path} is on this Colab VM's disk and is lost when the "
                      "runtime is recycled. Mount Drive (from google.colab import drive; drive.mount('/content/drive')):"
                      " the answers saved so far move there at the next save.", stacklevel=3)
    return _store


def store() -> AnswerStore:
    """The answers file in use, chosen on first use.

    While it is the default one, it follows ``default_store_path()``: when that changes (Drive was
    mounted after the first answers), the answers saved so far are merged into the new file, with a warning.
    """
    if _store is None:
        return use_store()
    if _store_is_default and AnswerStore(default_store_path()).path != _store.path:
        previous = _store.path
        try:
            merged = use_store().merge(AnswerStore(previous))
            warnings.warn(f"the answers file is now {_store.path}: merged {', '.join(merged) or 'nothing'} from "
                          f"{previous} (kept as it was)", stacklevel=3)
        except (OSError, ValueError) as error:
            warnings.warn(f"the answers file is now {_store.path}; {previous} could not be merged ({error}): "
                          "its answers stay there", stacklevel=3)
    return _store


def answer(qid: str, value: Any, clear: bool = False) -> None:
    """Save the answer to question ``qid`` now (re-running the cell overwrites it).

    An empty answer never replaces a saved one ("Run all" on a fresh copy of the notebook must not
    erase earlier work); pass ``clear=True`` to really empty it.
    """
    saved = store().read()["answers"].get(qid, {}).get("value")
    if not clear and not is_answered(parse_value(bank().question(qid), value)) and is_answered(saved):
        print(f"kept the saved answer to {qid} (this cell is empty; answer({qid!r}, '', clear=True) empties it)")
        return
    stored = store().save_answer(qid, value)
    print(f"saved {qid}: {word_count(stored)} words" if bank().question(qid).kind == "text" else f"saved {qid}: {stored}")


def set_info(students: Sequence[tuple[str, str]] | None = None, language: str | None = None) -> None:
    """Save the students ``[(name, NIA), ...]`` and the report language ("es" or "en")."""
    store().set_info(students, language)


def attach(evidence_id: str, item: Any) -> None:
    """Save a figure or a table that the report needs (see ``progress()`` for the ids)."""
    store().attach(evidence_id, item)
    print(f"saved {evidence_id}")


def progress(answers: AnswerStore | None = None, language: str | None = None) -> pd.DataFrame:
    """Print what is answered and what is missing (answers, figures, tables); return it as a table."""
    content = (answers or store()).read()
    language = _language(language or content["info"].get("language", "es"))
    items = report_items(content, language)
    missing_evidence = {item.question.id: [e for e in item.evidence if e not in content["evidence"]] for item in items}
    table = pd.DataFrame([{
        "id": item.question.id,
        "session": item.question.session,
        "question": item.text,
        "answered": item.answer is not None,
        "words": word_count(content["answers"].get(item.question.id, {}).get("value")),
        "missing_evidence": ", ".join(missing_evidence[item.question.id]),
    } for item in items])
    missing = [item.question.id for item in items if item.answer is None]
    evidence = sorted({e for ids in missing_evidence.values() for e in ids})
    print(f"{len(items) - len(missing)}/{len(items)} questions answered")
    print(f"missing answers: {', '.join(missing) or 'none'}")
    print(f"missing figures/tables: {', '.join(evidence) or 'none'}")
    return table


def collect(paths: Sequence[str | Path]) -> pd.DataFrame:
    """One row per answers file for grading: students, counts, missing ids, each answer and its words."""
    rows = []
    for path in sorted(Path(p) for p in paths):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such answers file")
        content = AnswerStore(path).read()
        values = {q.id: content["answers"].get(q.id, {}).get("value") for q in bank().questions}
        students = content["info"].get("students", [])
        row = {
            "file": str(path),
            "students": "; ".join(s.get("name", "") for s in students),
            "ids": "; ".join(s.get("id", "") for s in students),
            "language": content["info"].get("language", ""),
            "answered": sum(is_answered(v) for v in values.values()),
            "missing": " ".join(qid for qid, v in values.items() if not is_answered(v)),
            "missing_evidence": " ".join(e for e in bank().evidence if e not in content["evidence"]),
        }
        for qid, value in values.items():
            row[qid] = value if is_answered(value) else ""
            row[f"{qid}_words"] = word_count(value)
        rows.append(row)
    return pd.DataFrame(rows)


def collect_to_csv(paths: Sequence[str | Path], out: str | Path) -> pd.DataFrame:
    """``collect(paths)`` written atomically to the CSV file ``out``."""
    table = collect(paths)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    return table


# ----------------------------------------------------------------------------- widgets
def answer_widget(qid: str, language: str | None = None, delay: float = 1.0):
    """An ipywidgets box (7.x and 8.x) bound to the store: it saves ``delay`` s after the last edit."""
    import ipywidgets as widgets

    question = bank().question(qid)
    answers = store()
    language = _language(language or answers.read()["info"].get("language", "es"))
    stored = answers.read()["answers"].get(qid, {}).get("value")
    layout = widgets.Layout(width="100%")
    if question.kind == "choice":
        options = [("—", "")] + [(labels[language], key) for key, labels in question.choices.items()]
        editor = widgets.Dropdown(options=options, value=stored or "", layout=layout)
    else:
        text = "" if stored is None else (f"{stored:g}" if question.kind == "number" else stored)
        editor = widgets.Textarea(value=text, rows=8 if question.kind == "text" else 1, layout=layout)
    status = widgets.HTML(value="<i>saved</i>" if is_answered(stored) else "")
    pending: list[threading.Timer] = []

    def save() -> None:
        try:
            store().save_answer(qid, editor.value)  # store(): follows the answers file to Drive once mounted
            status.value = f"<i>saved {dt.datetime.now():%H:%M:%S}</i>"
        except Exception as error:  # a bad value or a failed write (OSError): shown, never lost in the timer thread
            status.value = f"<b style='color:red'>not saved: {html.escape(str(error))}</b>"

    def on_change(change: dict[str, Any]) -> None:  # debounce: only the last edit in `delay` s is saved
        for timer in pending:
            timer.cancel()
        pending[:] = [threading.Timer(delay, save)]
        pending[0].start()
        status.value = "<i>editing…</i>"

    editor.observe(on_change, names="value")
    title = widgets.HTML(value=f"<b>{qid}</b>: {html.escape(question.text[language])}")
    box = widgets.VBox([title, editor, status])

    def flush() -> None:  # save a pending edit now (e.g. before closing the notebook)
        if pending and pending[0].is_alive():
            pending[0].cancel()
            save()

    box.flush = flush
    return box
