"""The answers file: one JSON file of answers, figures and tables that is never lost or half-written.

Every save re-reads the file and rewrites it atomically (temp file + fsync + rename) under a file
lock, so two kernels saving different answers keep both. The previous versions are kept as
rotating backups (``<file>.bak1`` newest .. ``.bakN``); a corrupted file, or one whose content
does not have the shape below, is set aside and the newest good backup restored. ::

    {"format": "labkit-answers", "version": 1,
     "info": {"students": [{"name": "Ana", "id": "1004"}], "language": "es", "data_mode": "quick"},
     "answers": {"s1_q1": {"value": "...", "saved": "2026-04-01T10:00:00+00:00"}},
     "evidence": {"tab_results": {"kind": "table", "columns": [...], "rows": [[...]], "saved": "..."},
                  "fig_scores": {"kind": "figure", "files": ["figures/fig_scores.png"], "saved": "..."}}}
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pandas as pd
from filelock import FileLock, Timeout

from labkit.errors import LabkitError
from labkit.files import atomic_path, write_bytes_atomic
from labkit.report.bank import LANGUAGES, bank, check_data_mode, check_language, fits, parse_value, storable_text

FORMAT = "labkit-answers"  # marks a file as ours; any other content counts as corrupted
FIGURE_SUFFIXES = (".pdf", ".png", ".jpg")  # what attach() keeps: the PDF for LaTeX, the PNG or JPG for Word
LOCK_SECONDS = 30  # a save holds the lock for milliseconds; longer means a file system that cannot lock


class AnswersFileError(LabkitError):
    """An answers file that cannot be read, or whose content is not an answers file's."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def empty_answers() -> dict[str, Any]:
    """The content of a new answers file."""
    return {"format": FORMAT, "version": 1, "info": {"students": [], "language": "es"}, "answers": {}, "evidence": {}}


# ----------------------------------------------------------------------------- the file's shape
def _storable(value: Any, where: str) -> Any:
    """``value`` (parsed JSON) with lone surrogates replaced in every string (see ``storable_text``)."""
    if isinstance(value, str):
        return storable_text(value, where)
    if isinstance(value, list):
        return [_storable(item, where) for item in value]
    if isinstance(value, dict):
        return {storable_text(key, where): _storable(item, where) for key, item in value.items()}
    return value


def _shape_problem(content: Any) -> str | None:
    """What is wrong with the shape of an answers file's content, or None when it is right."""
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        return f'not a labkit answers file (expected "format": "{FORMAT}")'
    for key in ("info", "answers", "evidence"):
        if not isinstance(content.get(key), dict):
            return f"expected a mapping under {key!r}"
    info = content["info"]
    students = info.get("students", [])
    if not isinstance(students, list) or not all(
            isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("id"), str) for s in students):
        return 'info.students: expected a list of {"name": text, "id": text}'
    if info.get("language", "es") not in LANGUAGES:
        return f"info.language: expected one of {LANGUAGES}, got {info['language']!r}"
    if info.get("data_mode") is not None and info["data_mode"] not in bank().recorded_modes():
        return f"info.data_mode: expected one of {bank().recorded_modes()}, got {info['data_mode']!r}"
    known = {question.id: question for question in bank().questions}
    for qid, entry in content["answers"].items():
        if not isinstance(entry, dict) or "value" not in entry or not isinstance(entry.get("saved", ""), str):
            return f'answers.{qid}: expected {{"value": ..., "saved": time}}, got {entry!r}'
        if qid in known and not fits(known[qid], entry["value"]):
            return f"answers.{qid}: expected a {known[qid].kind} answer, got {entry['value']!r}"
    for eid, entry in content["evidence"].items():
        if not isinstance(entry, dict) or entry.get("kind") not in ("table", "figure"):
            return f'evidence.{eid}: expected {{"kind": "table" or "figure", ...}}, got {entry!r}'
        if entry["kind"] == "figure" and not (isinstance(entry.get("files"), list)
                                              and all(isinstance(f, str) for f in entry["files"])):
            return f"evidence.{eid}: expected a list of figure files"
        if entry["kind"] == "table" and not (isinstance(entry.get("columns"), list) and isinstance(entry.get("rows"), list)
                                             and all(isinstance(r, list) and len(r) == len(entry["columns"])
                                                     for r in entry["rows"])):
            return f"evidence.{eid}: expected columns and rows of that many cells"
    return None


def parse_answers(data: bytes, path: Path) -> dict[str, Any]:
    """Decode and check an answers file; AnswersFileError names the file and what is wrong."""
    try:
        content = _storable(json.loads(data.decode("utf-8")), str(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AnswersFileError(f"{path}: not a valid answers file ({error})") from None
    problem = _shape_problem(content)
    if problem:
        raise AnswersFileError(f"{path}: {problem}")
    return content


# ----------------------------------------------------------------------------- the store
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
        lock = FileLock(self.path.with_name(self.path.name + ".lock"), timeout=LOCK_SECONDS)
        try:
            lock.acquire()
        except Timeout:
            raise AnswersFileError(f"{lock.lock_file}: still locked after {LOCK_SECONDS} s (a save takes milliseconds): "
                                   "is this folder on a file system without locks? Nothing was saved") from None
        try:
            yield
        finally:
            lock.release()

    def _newest_backup(self) -> tuple[Path, bytes, dict[str, Any]] | None:
        for n in range(1, self.backups + 1):
            with contextlib.suppress(OSError, AnswersFileError):
                raw = self.backup_path(n).read_bytes()
                return self.backup_path(n), raw, parse_answers(raw, self.backup_path(n))
        return None

    def _load(self, repair: bool) -> tuple[dict[str, Any], bytes | None]:
        """The content and its bytes; a missing or corrupted file falls back to the newest good backup.

        ``repair`` (under the lock, before a save) also keeps a corrupted file aside and writes the
        backup back in its place; without it nothing is written. None bytes: nothing saved yet.
        """
        try:
            raw = self.path.read_bytes()
            return parse_answers(raw, self.path), raw
        except FileNotFoundError:
            problem, corrupted = f"{self.path} is missing", False
        except AnswersFileError as error:
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
                raise AnswersFileError(problem)
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
            content = _storable(content, str(self.path))  # a table cell or a name with a lone surrogate
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

    def set_info(self, students: Sequence[tuple[str, str]] | None = None, language: str | None = None,
                 data_mode: str | None = None) -> None:
        """Store the students ``[(name, NIA/ID), ...]``, the report language ("es" or "en") and/or the
        data mode the results come from ("quick": the synthetic corpus, "voxceleb": real data)."""
        info: dict[str, Any] = {}
        if students is not None:
            info["students"] = [{"name": str(name), "id": str(sid)} for name, sid in students]
        if language is not None:
            info["language"] = check_language(language)
        if data_mode is not None:
            info["data_mode"] = check_data_mode(data_mode)

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
            raise LabkitError(f"{evidence_id} is a table: attach a pandas DataFrame, got {item!r}")
        if kind == "figure" and isinstance(item, pd.DataFrame):
            raise LabkitError(f"{evidence_id} is a figure: attach a matplotlib Figure or a .pdf/.png/.jpg path, "
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
                except (OSError, LabkitError) as error:
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
            raise AnswersFileError(f"evidence {evidence_id}: figure file {file!r} refused; "
                                   f"expected figures/{evidence_id}.pdf, .png or .jpg")
    return files
