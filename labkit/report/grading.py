"""For the instructor: every student's answers file -> one table (and CSV) for grading.

``labkit report collect answers/*.json -o grades.csv``: one row per file with the students, how
many questions are answered, which answers and figures are missing, and each answer with its
word count. A file that cannot be read is skipped with its reason, never stopping the class.
Cells are written so that a spreadsheet shows them as text: an answer such as
``=HYPERLINK(...)`` is not run as a formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from labkit.errors import LabkitError
from labkit.files import atomic_path
from labkit.report.bank import bank, is_answered, word_count
from labkit.report.store import AnswerStore, AnswersFileError, parse_answers

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as the start of a formula (OWASP)


def _row(path: Path, content: dict[str, Any]) -> dict[str, Any]:
    """The grading row of one answers file."""
    values = {q.id: content["answers"].get(q.id, {}).get("value") for q in bank().questions}
    students = content["info"].get("students", [])
    row = {
        "file": str(path),
        "students": "; ".join(s["name"] for s in students),
        "ids": "; ".join(s["id"] for s in students),
        "language": content["info"].get("language", ""),
        "data_mode": content["info"].get("data_mode", ""),
        "answered": sum(is_answered(v) for v in values.values()),
        "missing": " ".join(qid for qid, v in values.items() if not is_answered(v)),
        "missing_evidence": " ".join(e for e in bank().evidence if e not in content["evidence"]),
    }
    for qid, value in values.items():
        row[qid] = value if is_answered(value) else ""
        row[f"{qid}_words"] = word_count(value)
    return row


def collect(paths: Sequence[str | Path]) -> tuple[pd.DataFrame, list[str]]:
    """One row per readable answers file, and one line per file skipped (missing, unreadable or malformed).

    Raises LabkitError only when no file at all could be read.
    """
    rows, skipped = [], []
    for path in sorted(Path(p) for p in paths):
        try:
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such answers file")
            rows.append(_row(path, AnswerStore(path).read()))
        except (OSError, LabkitError) as error:
            skipped.append(str(error) if str(path) in str(error) else f"{path}: {error}")
    if not rows:
        raise LabkitError("no answers file could be read: " + "; ".join(skipped))
    return pd.DataFrame(rows), skipped


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, quoted so that it is shown as text."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _is_answers_file(path: Path) -> bool:
    try:
        parse_answers(path.read_bytes(), path)
        return True
    except (OSError, AnswersFileError):
        return False


def collect_to_csv(paths: Sequence[str | Path], out: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """``collect(paths)`` written atomically to the CSV file ``out``, which may not be an answers file."""
    out = Path(out)
    if out.resolve() in {Path(p).resolve() for p in paths} or _is_answers_file(out):
        raise LabkitError(f"{out}: is an answers file; the CSV would overwrite it: choose another file with -o")
    table, skipped = collect(paths)
    with atomic_path(out) as tmp:
        # CRLF rows (RFC 4180): a cell holding a lone \r or \n is then quoted, never read as two rows
        table.apply(lambda column: column.map(spreadsheet_safe)).to_csv(tmp, index=False, lineterminator="\r\n")
    return table, skipped
