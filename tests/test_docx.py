"""Word export: the same questions, answers, tables and figures as the LaTeX report, read back with python-docx."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pandas as pd
import pytest
from docx import Document

from labkit.report.docx import RED, write_docx
from labkit.report.bank import bank
from labkit.report.store import AnswerStore, AnswersFileError, empty_answers


def _png(path: Path, width: int = 40, height: int = 30) -> Path:
    """A real (grey) PNG image written by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def test_docx_has_title_page_answers_placeholders_table_and_figure(tmp_path):
    store = AnswerStore(tmp_path / "answers.json")
    store.set_info(students=[("Ana García", "100456789")], language="es", data_mode="quick")
    store.save_answer("s1_q1", "Primera línea con θ ≈ 😀 y \\input{/etc/passwd}\nsegunda línea\n\nOtro párrafo\x07.")
    store.save_answer("s2_q2", "3,25")
    store.attach("fig_det_pretrained", _png(tmp_path / "det.png"))
    store.attach("tab_results", pd.DataFrame({"system": ["ResNet34"], "EER (%)": [0.8712345], "params": [6634432]}))
    path = write_docx(store.read(), tmp_path, tmp_path / "report.docx", "es", date="25/04/2026")

    document = Document(str(path))
    texts = [p.text for p in document.paragraphs]
    assert "Práctica 2: Reconocimiento de Locutor en VoxCeleb" in texts and "Memoria de la práctica" in texts
    assert "Fecha: 25/04/2026" in texts
    assert "Datos: modo rápido: corpus sintético de labkit (no VoxCeleb)" in texts  # the title page names the data
    assert [c.text for c in document.tables[0].rows[1].cells] == ["Ana García", "100456789"]
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == [bank().sessions[1]["es"], bank().sessions[2]["es"]]
    # the answer as typed (Word sets any Unicode), with its line break and paragraphs; the bell character dropped
    assert "Primera línea con θ ≈ 😀 y \\input{/etc/passwd}\nsegunda línea" in texts and "Otro párrafo." in texts
    assert "3,25 %" in texts
    placeholders = [r for p in document.paragraphs for r in p.runs if r.text == "[sin responder]"]
    assert len(placeholders) == len(bank().questions) - 2 and all(r.font.color.rgb == RED for r in placeholders)
    assert [[c.text for c in row.cells] for row in document.tables[1].rows] == [["system", "EER (%)", "params"],
                                                                                 ["ResNet34", "0,8712", "6634432"]]
    assert len(document.inline_shapes) == 1
    assert "Curva DET del modelo preentrenado sobre los trials de test (corpus sintético, locutores de test)." in texts
    missing = [p.text for p in document.paragraphs if p.text.startswith("[falta: ")]
    assert len(missing) == 5  # tab_data, fig_scores, fig_training (asked twice), fig_det_systems
    assert not list(tmp_path.glob(".report*"))  # the temp file was renamed into place


def test_docx_reads_no_picture_outside_figures_of_its_evidence(tmp_path):
    (tmp_path / "store").mkdir()
    _png(tmp_path / "private.png")  # a picture beside the answers folder, not attached to anything
    content = empty_answers()
    content["evidence"]["fig_det_pretrained"] = {"kind": "figure", "files": ["../private.png"]}
    with pytest.raises(AnswersFileError, match=r"evidence fig_det_pretrained: figure file '\.\./private\.png' refused"):
        write_docx(content, tmp_path / "store", tmp_path / "report.docx", "en")
    assert not (tmp_path / "report.docx").exists()
