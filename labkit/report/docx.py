"""The same report as ``labkit.report.latex``, written as a Word file with python-docx.

For students who write their report in Word (the course accepts Word or LaTeX): title page,
one section per session, every question with its answer or a red placeholder, tables and
figures (PNG) with captions. Word sets any Unicode, so answers need no escaping beyond
dropping the control characters that XML forbids.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor

from labkit.files import atomic_path
from labkit.report.bank import bank
from labkit.report.content import caption, cell_text, data_lines, figure_file, report_outline, table_frame

ACCENT = RGBColor(0x00, 0x3D, 0x7A)  # the LaTeX template's accent colour
RED = RGBColor(0xC0, 0x00, 0x00)


def xml_text(text: str) -> str:
    """``text`` without the control characters XML cannot hold (tab and newline are kept)."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text)


def _red(paragraph: Any, text: str) -> None:
    run = paragraph.add_run(text)
    run.font.color.rgb = RED
    run.bold = True


def _title_page(document: Any, content: dict[str, Any], language: str, date: str | None) -> None:
    labels = {key: text[language] for key, text in bank().labels.items()}
    course = document.add_paragraph()
    course.alignment = WD_ALIGN_PARAGRAPH.CENTER
    course.paragraph_format.space_before = Pt(120)
    run = course.add_run(labels["course"])
    run.font.size, run.font.color.rgb = Pt(16), ACCENT
    title = document.add_paragraph(labels["title"], style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    students = content["info"].get("students", [])
    table = document.add_table(rows=1, cols=2, style="Light List Accent 1")
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = labels["student_name"], labels["student_id"]
    for student in students:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = xml_text(student.get("name", "")), xml_text(student.get("id", ""))
    for label, text in data_lines(content, language):  # where the results come from
        line = document.add_paragraph()
        line.paragraph_format.space_before = Pt(12)
        line.add_run(f"{label}: ").bold = True
        line.add_run(text)
    when = document.add_paragraph(f"{labels['date']}: {date or dt.date.today().strftime('%d/%m/%Y')}")
    when.alignment = WD_ALIGN_PARAGRAPH.CENTER
    when.paragraph_format.space_before = Pt(60)
    document.add_page_break()


def _evidence(document: Any, content: dict[str, Any], store_dir: Path, eid: str, language: str, placed: set[str]) -> None:
    """The table or figure of ``eid`` (first time), a 'see ...' line (later) or a red 'missing' line."""
    evidence = bank().evidence[eid]
    text = caption(content, eid, language)
    labels = bank().labels
    if eid in placed:
        document.add_paragraph(f"({labels['see'][language]}: {text})")
        return
    stored = content["evidence"].get(eid)
    picture = figure_file(content, eid, (".png", ".jpg"))
    if stored is None or (evidence.kind == "figure" and picture is None):
        _red(document.add_paragraph(), f"[{labels['missing_evidence'][language]}: {text}]")
        return
    placed.add(eid)
    if evidence.kind == "figure":
        document.add_picture(str(store_dir / picture), width=Cm(14))
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    else:
        document.add_paragraph(text, style="Caption")
        frame = table_frame(stored)
        table = document.add_table(rows=1, cols=len(frame.columns), style="Light List Accent 1")
        for cell, name in zip(table.rows[0].cells, frame.columns):
            cell.text = xml_text(str(name))
        for row in frame.itertuples(index=False):
            for cell, value in zip(table.add_row().cells, row):
                cell.text = xml_text(cell_text(value, language))
        return
    document.add_paragraph(text, style="Caption")


def write_docx(content: dict[str, Any], store_dir: Path, path: str | Path, language: str, date: str | None = None) -> Path:
    """Write the report of ``content`` (figures relative to ``store_dir``) as a .docx file, atomically."""
    document = Document()
    document.styles["Normal"].font.name = "Calibri"
    document.styles["Normal"].font.size = Pt(11)
    _title_page(document, content, language, date)
    placed: set[str] = set()
    for session, sections in report_outline(content, language):
        document.add_heading(session, level=1)
        for section, items in sections:
            document.add_heading(section, level=2)
            for item in items:
                question = document.add_paragraph()
                run = question.add_run(f"{item.question.id}  ")
                run.bold, run.font.color.rgb = True, ACCENT
                question.add_run(item.text).italic = True
                if item.answer is None:
                    _red(document.add_paragraph(), f"[{bank().labels['not_answered'][language]}]")
                for paragraph in re.split(r"\n\s*\n", xml_text(item.answer or "").strip()):
                    if paragraph:
                        document.add_paragraph(paragraph)  # a single newline stays a line break
                for eid in item.evidence:
                    _evidence(document, content, store_dir, eid, language, placed)
    with atomic_path(path) as tmp:
        document.save(str(tmp))
    return Path(path)
