"""Property test (issue 15): any answer text goes through answer(), `report build` and `report collect`.

Random texts, with the hostile pieces students really produce (lone surrogates from undecodable
file names, NUL, right-to-left scripts and controls, LaTeX specials, 200,000-character lines),
never end in a traceback, never lose an answer, and always give a PDF and a Word file.
"""

from __future__ import annotations

import os
import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.cli import main
from labkit.report import questions
from labkit.report.bank import bank
from labkit.report.grading import spreadsheet_safe
from labkit.report.latex import tex_installed
from labkit.report.store import AnswerStore

PIECES = ["\x00", "\ud800", "\udfff", os.fsdecode(b"f\xff"), "مرحبا بالعالم", "שלום", "\u202e", "\u200f", "😀", "中文",
          "θ", "\\", "{", "}", "%", "$", "&", "#", "^^5c", "\\input{/etc/passwd}", "[", "]", "=", "-", "@", "+",
          "\n", "\n\n", "\r", "\t", " ", "\u00a0", "\ufeff", "\ufffe"]
LONG = [" ".join(["palabra"] * 25_000), "\\" * 13_000, "x" * 200_000]  # pdflatex's buffer holds 200,000 characters
TEXTS = st.one_of(st.text(max_size=80),  # any code point, surrogates included
                  st.lists(st.sampled_from(PIECES) | st.text(max_size=5), max_size=40).map("".join),
                  st.sampled_from(LONG))
TEXT_QUESTIONS = [q.id for q in bank().questions if q.kind == "text"]


def _expected(text: str) -> str:
    """What the answers file keeps of ``text``: lone surrogates as U+FFFD, the ends stripped."""
    return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text).strip()


@pytest.mark.slow
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                 HealthCheck.function_scoped_fixture])  # capsys: read out at every example
@given(st.fixed_dictionaries({qid: TEXTS for qid in TEXT_QUESTIONS[:4]}))
def test_any_answer_text_is_kept_and_reaches_the_report(tmp_path_factory, capsys, texts):
    assert tex_installed(), "TeX is not installed: run scripts/install-tex.sh (make test does)"
    folder = tmp_path_factory.mktemp("answers")
    questions.use_store(folder / "answers.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "lone surrogates replaced": expected here
        for qid, text in texts.items():
            questions.answer(qid, text)
    stored = AnswerStore(folder / "answers.json").read()["answers"]
    assert {qid: stored[qid]["value"] for qid in texts} == {qid: _expected(text) for qid, text in texts.items()}
    capsys.readouterr()

    assert main(["report", "build", str(folder / "answers.json"), "--out-dir", str(folder / "report")]) == 0, \
        capsys.readouterr().err
    assert (folder / "report" / "report.pdf").stat().st_size > 0 and (folder / "report" / "report.docx").is_file()

    assert main(["report", "collect", str(folder / "answers.json"), "-o", str(folder / "grades.csv")]) == 0
    row = pd.read_csv(folder / "grades.csv", keep_default_na=False, dtype=str).iloc[0]
    assert {qid: row[qid] for qid in texts} == {qid: spreadsheet_safe(_expected(text)) for qid, text in texts.items()}
