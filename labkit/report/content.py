"""What the report says, shared by the LaTeX and the Word export: questions, answers, captions, data.

Both exports walk ``report_outline`` (sessions -> sections -> questions with their answers) and
name the data through the answers' data mode: question texts, figure and table captions and the
title page's "Data" and "Models" lines say "synthetic corpus" for quick-mode results, so a
report can never present them as VoxCeleb results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from labkit.i18n import MISSING
from labkit.report.bank import UNKNOWN_MODE, Question, bank, format_number, format_value, is_answered
from labkit.report.store import figure_files


@dataclass(frozen=True)
class ReportItem:
    """One question as the report shows it: text, formatted answer (None = missing) and evidence ids."""

    question: Question
    text: str
    answer: str | None
    evidence: tuple[str, ...]


def data_mode(content: dict[str, Any]) -> str | None:
    """The data mode the answers were saved in ("quick", "voxceleb"), None when never recorded."""
    return content["info"].get("data_mode")


def report_items(content: dict[str, Any], language: str) -> list[ReportItem]:
    """Every question of the bank, in order, with its answer from ``content`` in ``language``."""
    items = []
    for question in bank().questions:
        value = content["answers"].get(question.id, {}).get("value")
        answer = format_value(question, value, language) if is_answered(value) else None
        text = bank().fill(question.text[language], data_mode(content), language)
        items.append(ReportItem(question, text, answer, question.evidence))
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


def caption(content: dict[str, Any], evidence_id: str, language: str) -> str:
    """The caption of a figure or table, naming the data it was made from."""
    return bank().fill(bank().evidence[evidence_id].caption[language], data_mode(content), language)


def data_lines(content: dict[str, Any], language: str) -> list[tuple[str, str]]:
    """The title page's ``(label, text)`` lines: which data the results come from and which models."""
    mode = bank().data_modes[data_mode(content) or UNKNOWN_MODE]
    labels = bank().labels
    return [(labels["data_mode"][language], mode["name"][language]), (labels["models"][language], mode["models"][language])]


def cell_text(value: Any, language: str) -> str:
    """A table cell as text: numbers via ``format_number``, missing values as an en dash."""
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return MISSING
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value, language)
    return str(value)


def table_frame(entry: dict[str, Any]) -> pd.DataFrame:
    """A stored table evidence entry as a DataFrame; ``MISSING`` (``readable``'s dash) is a missing value again,
    so that a number column with a gap stays a number column (aligned on the decimal marker in the report)."""
    frame = pd.DataFrame(entry["rows"], columns=entry["columns"])
    return frame.mask(frame.eq(MISSING)).infer_objects()


def figure_file(content: dict[str, Any], evidence_id: str, suffixes: tuple[str, ...]) -> str | None:
    """The stored figure of ``evidence_id`` in the first of ``suffixes`` available (checked by ``figure_files``)."""
    files = figure_files(content, evidence_id)
    return next((file for suffix in suffixes for file in files if file.endswith(suffix)), None)
