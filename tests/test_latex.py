"""LaTeX export: escaping that no answer can break or abuse, the report sources, the PDF and the Overleaf zip."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.cli import main
from labkit.i18n import MISSING
from labkit.report import latex
from labkit.report.latex import SETTABLE, build_report, compile_pdf, escape, latex_table, render_body, tex_installed
from labkit.report.bank import bank
from labkit.report.content import table_frame
from labkit.report.store import AnswerStore, AnswersFileError, empty_answers

SPECIALS = "_ % $ # & { } ~ ^ \\ ñ á ¿ ¡ « » θ ≈ 😀"
INJECTIONS = "\\input{/etc/passwd} \\write18{touch PWNED} \\catcode`\\{=12 \\def\\x{y} ^^5c"
LONG = " ".join(f"w{i}" for i in range(3000))  # 3,000 numbered words too short to hyphenate

# Every command escape() may emit; anything else after a backslash would be student-controlled LaTeX.
ALLOWED = {"textbackslash", "textasciicircum", "textasciitilde", "textless", "textgreater", "textbar",
           "textquotedbl", "textasciigrave", "ensuremath", "par", "noindent", "allowbreak", *latex._GREEK.values(),
           *(name for name in latex._MATH.values() if name != "-")}


def _assert_inert(source: str) -> None:
    """``source`` only prints text: known commands, escaped specials, balanced braces."""
    rest = re.sub(r"\\([a-zA-Z]+)", lambda m: "" if m.group(1) in ALLOWED else m.group(), source)
    rest = re.sub(r"\\[{}$&#%_,]", "", rest)
    assert "\\" not in rest, source
    assert not set(rest) & set("$&#%^_"), source
    depth = 0
    for char in rest:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, source
    assert depth == 0, source


# ----------------------------------------------------------------------------- escaping
def test_escape_turns_specials_and_commands_into_text():
    assert escape("\\input{/etc/passwd}") == r"\textbackslash{}input\{/etc/passwd\}"
    assert escape("50% of $x_1$ & #2") == r"50\% of \$x\_1\$ \& \#2"
    assert escape("a~b^c") == r"a\textasciitilde{}b\textasciicircum{}c"
    assert escape("θ ≈ 0.5") == r"\ensuremath{\theta} \ensuremath{\approx} 0.5"
    assert escape("ñ á ¿ ¡ « »") == "ñ á ¿ ¡ « »"  # Latin-1 goes through: T1 sets it
    assert escape("[32, 64]") == "{[}32, 64{]}"  # never an optional argument of the command before it


def test_escape_marks_what_pdflatex_cannot_set():
    assert escape("ok 😀 👨‍👩‍👧 👍🏽!") == "ok {[}emoji{]} {[}emoji{]} {[}emoji{]}!"  # one marker per emoji sequence
    assert escape("中文 𝔸") == "{[}?{]}{[}?{]} {[}?{]}"
    assert escape("✓ done") == r"\ensuremath{\checkmark} done"
    assert escape("bell\x07 zero\u200bwidth") == "bell zerowidth"


def test_escape_lets_long_words_break():
    url = "https://example.org/" + "a" * 40
    assert escape(url).replace(r"\allowbreak{}", "") == url
    assert escape(url).count(r"\allowbreak{}") == 5  # every 10 characters


def test_escape_keeps_lines_and_paragraphs_and_breaks_ligatures():
    assert escape("one\ntwo\n \n\nthree") == "one\n\\par\\noindent two\n\nthree"
    assert escape("a--b ,,c ?`d") == r"a-{}-b ,{},c ?\textasciigrave{}d"
    assert escape("name\nline", inline=True) == "name line"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
       | st.lists(st.sampled_from(["\\", "{", "}", "$", "%", "^^5c", "\\input", "\n", "\n\n", "😀", "θ", "-", "`", "~"]),
                  max_size=30).map("".join))
def test_escape_output_is_always_inert_text(text):
    source = escape(text)
    _assert_inert(source)
    marked = re.sub(r"\\[a-zA-Z]+|\\[{}$&#%_,]|\{\[\}(\?|emoji)\{\]\}|[{}~\s]", "", source)
    assert set(marked) <= SETTABLE, source  # every character left is one pdflatex can set


# ----------------------------------------------------------------------------- sources
@pytest.fixture(scope="module")
def figure(tmp_path_factory) -> Path:
    """A DET-like figure saved once as .pdf and .png (by labkit.plots.save_figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.plots import save_figure

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0.1, 1, 10], [10, 1, 0.1])
    path = save_figure(fig, tmp_path_factory.mktemp("figure") / "det")[0]
    plt.close(fig)
    return path


def _answers(folder: Path, language: str, figure: Path) -> AnswerStore:
    """An answers file with every hard case of the issue, a figure and a table."""
    store = AnswerStore(folder / "answers.json")
    store.set_info(students=[("Ana García Núñez", "100456789"), ("Joan_O'Brien & Co", "100#999")], language=language)
    store.save_answer("s1_q1", f"Specials: {SPECIALS} end.")
    store.save_answer("s1_q2", LONG)
    store.save_answer("s1_q3", "")
    store.save_answer("s1_q4", INJECTIONS.replace("PWNED", str(folder / "pwned")))
    store.save_answer("s1_q5", "f_plus_x")
    store.save_answer("s2_q2", "3,25")
    store.attach("fig_det_pretrained", figure)
    store.attach("tab_results", pd.DataFrame({"channels": ["[32, 64, 128, 256]", "[16, 32, 64, 128]"],
                                              "system": ["ResNet34_pre", "ResNet10 & 50%"],
                                              "params": [6634432, 1200000], "EER (%)": [0.87, float("nan")],
                                              "threshold": [-0.5, 1.2e-05]}))
    return store


def test_table_escapes_headers_and_cells():
    table = pd.DataFrame({"model_name": ["[32, 64, 128, 256]", "a&b", "中 c"], "EER (%)": [1.5, float("nan"), 2],
                          "params": [10, 20, 30]})
    source = latex_table(table, "Results 100%", "tab:x", language="es")
    # numbers in siunitx S columns wide enough for them (it prints the decimal comma), text columns left-aligned
    assert r"\begin{tabular}{lS[table-format=1.1]S[table-format=2.0]}" in source
    assert r"\textbf{model\_name} & {\textbf{EER (\%)}} & {\textbf{params}} \\" in source  # S headers: braced text
    assert "\\midrule\n{[}32, 64, 128, 256{]} & 1.5 & 10 \\\\\n" in source  # rows may start with [
    assert r"a\&b & {–} & 20 \\" in source and "{[}?{]} c & 2 & 30" in source and r"\caption{Results 100\%}" in source
    assert r"\resizebox" not in source
    signed = latex_table(pd.DataFrame({"score": [-0.5, 1.2e-05, 12345.6, float("inf")]}), "x", "tab:y")
    assert r"\begin{tabular}{S[table-format=-1.3e-1]}" in signed  # sign, 1 digit . 3 decimals, exponent -5 / +4
    assert r"-0.5 \\" in signed and r"1.2e-05 \\" in signed and r"1.235e+04 \\" in signed and r"{inf} \\" in signed


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_label_of_the_bank_reaches_the_report(language):
    metadata = latex.render_metadata(empty_answers(), language)
    for key, text in bank().labels.items():
        assert "{" + escape(text[language]) + "}" in metadata, key


def test_body_has_every_question_placeholders_and_each_evidence_once(tmp_path, figure):
    content = _answers(tmp_path, "es", figure).read()
    body = render_body(content, "es")
    assert body.count(r"\Question{") == len(bank().questions)
    assert body.count(r"\NotAnswered") == len(bank().questions) - 5  # 5 answered; s1_q3 was saved empty
    assert body.count(r"\section{") == 2
    assert body.count(r"\includegraphics") == 1 and body.count(r"\begin{tabular}") == 1
    assert body.count(r"\SeeTable{tab:tab-results}") == 3  # asked by s2_q3, s2_q5, s2_q6, s2_q7: placed once
    assert body.count(r"\SeeFigure{fig:fig-det-pretrained}") == 1  # asked by s2_q2 (placed) and s2_q3
    assert body.count(r"\MissingEvidence{") == 5  # tab_data, fig_scores, fig_training (s2_q4, s2_q5), fig_det_systems
    assert "3,25 \\%" in body and "F(x) + x" in body
    _assert_inert(body.split(r"\Question{s1\_q4}")[1].split(r"\subsection")[0])


@pytest.mark.parametrize("file", ["body.tex", "latexmkrc", "figures/fig_training.pdf", "../../etc/passwd.pdf",
                                  "/etc/passwd"])
def test_answers_file_cannot_put_other_files_among_the_latex_sources(tmp_path, file):
    (tmp_path / "body.tex").write_text("\\input{/etc/passwd}", encoding="utf-8")  # raw LaTeX over the escaped body
    (tmp_path / "latexmkrc").write_text(f"system('touch {tmp_path / 'pwned'}');", encoding="utf-8")  # Perl for latexmk
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "fig_training.pdf").write_bytes(b"%PDF-1.4 not this evidence's figure")
    content = empty_answers()
    content["evidence"]["fig_scores"] = {"kind": "figure", "files": [file]}
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(content), encoding="utf-8")
    refused = rf"answers.json: evidence fig_scores: figure file '{re.escape(file)}' refused; expected figures/fig_scores"
    with pytest.raises(AnswersFileError, match=refused):
        build_report(answers, tmp_path / "out", pdf=False, word=False)
    assert not (tmp_path / "out" / "latex").exists()
    content["evidence"] = {"fig_renamed": {"kind": "figure", "files": [file]}}  # not in the bank: never copied
    answers.write_text(json.dumps(content), encoding="utf-8")
    build_report(answers, tmp_path / "out", pdf=False, word=False)
    assert sorted(p.name for p in (tmp_path / "out" / "latex").iterdir()) == ["body.tex", "metadata.tex", "report.tex"]
    assert "textbackslash" not in (tmp_path / "out" / "latex" / "body.tex").read_text(encoding="utf-8")


def test_missing_template_says_where_it_is_expected(tmp_path, monkeypatch):
    monkeypatch.setattr(latex, "TEMPLATE_DIR", tmp_path / "report_template")
    with pytest.raises(FileNotFoundError, match=r"report_template/report.tex: report template not found.*"
                                                r"clone the repository and pip install -e \."):
        latex.write_sources(empty_answers(), tmp_path, tmp_path / "latex", "en")


def test_without_tex_the_zip_and_docx_are_still_built(tmp_path, monkeypatch, capsys, figure):
    store = _answers(tmp_path, "en", figure)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tex-here"))
    written = build_report(store.path, tmp_path / "out")
    assert sorted(written) == ["docx", "latex", "zip"]
    names = zipfile.ZipFile(written["zip"]).namelist()
    assert {"report.tex", "metadata.tex", "body.tex", "figures/fig_det_pretrained.pdf"} <= set(names)
    with pytest.raises(FileNotFoundError, match="install-tex.sh"):
        build_report(store.path, tmp_path / "out", pdf=True)
    assert main(["report", "build", str(store.path), "--out-dir", str(tmp_path / "cli"), "--no-docx"]) == 0
    assert "no PDF: TeX is not installed" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == [".labkit-report", "latex", "report-overleaf.zip"]
    with pytest.raises(FileNotFoundError, match="no such answers file"):
        build_report(tmp_path / "missing.json", tmp_path / "out")


def test_report_build_never_deletes_a_folder_labkit_did_not_create(tmp_path, capsys):
    store = AnswerStore(tmp_path / "answers.json")
    store.save_answer("s1_q1", "hola")
    build = ["report", "build", str(store.path), "--no-pdf", "--no-docx", "--out-dir"]
    theirs = tmp_path / "D"
    (theirs / "latex").mkdir(parents=True)
    (theirs / "latex" / "thesis.tex").write_text("my thesis", encoding="utf-8")
    assert main([*build, str(theirs)]) == 1
    assert "D: not empty and not made by labkit (no .labkit-report in it)" in capsys.readouterr().err
    assert (theirs / "latex" / "thesis.tex").read_text(encoding="utf-8") == "my thesis"
    assert sorted(p.name for p in theirs.iterdir()) == ["latex"]  # nothing added either

    ours = tmp_path / "E"
    ours.mkdir()  # empty: labkit takes it and marks it
    assert main([*build, str(ours)]) == 0 and (ours / ".labkit-report").is_file()
    (ours / "notes.txt").write_text("mine, beside the outputs", encoding="utf-8")
    (ours / "latex" / "notes.tex").write_text("mine, inside latex/", encoding="utf-8")
    assert main([*build, str(ours)]) == 1
    assert "notes.tex: not written by labkit" in capsys.readouterr().err
    assert (ours / "latex" / "notes.tex").is_file()
    (ours / "latex" / "notes.tex").unlink()
    assert main([*build, str(ours)]) == 0  # rebuilt; the student's file beside the outputs stays
    assert (ours / "notes.txt").is_file() and (ours / "latex" / "body.tex").is_file()

    earlier = tmp_path / "F"  # built by a labkit without the mark: recognised by its body.tex
    shutil.copytree(ours / "latex", earlier / "latex")
    assert main([*build, str(earlier)]) == 0 and (earlier / ".labkit-report").is_file()


def test_latex_source_lines_stay_short_whatever_the_answer(tmp_path):
    store = AnswerStore(tmp_path / "answers.json")
    store.save_answer("s1_q1", " ".join(["palabra"] * 25_000))  # one 200,000-character line
    store.save_answer("s1_q4", "\\" * 13_000)  # 208,000 characters once escaped
    store.save_answer("s1_q6", "x" * 200_000)  # one word
    body = render_body(store.read(), "es")
    assert max(map(len, body.splitlines())) <= latex.LINE_LIMIT + 20
    unwrapped = re.sub(r"%\n", "", body)  # the comments that join a word split across lines
    assert unwrapped.count(r"\textbackslash{}") == 13_000 and len(re.findall(r"\bpalabra\b", body)) == 25_000
    assert unwrapped.replace(r"\allowbreak{}", "").count("x" * 200_000) == 1


# ----------------------------------------------------------------------------- PDF (needs TeX)
def _require_tex() -> None:
    assert tex_installed(), "TeX is not installed: run scripts/install-tex.sh (make test does)"


def _pdf_text(pdf: Path) -> str:
    """pdftotext output with hyphenated line ends joined and whitespace collapsed."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", " ", re.sub(r"-\n", "", text))


@pytest.mark.slow
@pytest.mark.parametrize("language", ["es", "en"])
def test_pdf_shows_every_answer_and_runs_no_injected_command(tmp_path, language, figure):
    _require_tex()
    store = _answers(tmp_path, language, figure)
    written = build_report(store.path, tmp_path / "out")
    text = _pdf_text(written["pdf"])
    assert "Specials: _ % $ # & { } ~ ^ \\ ñ á ¿ ¡ « » θ ≈ [emoji] end." in text
    assert re.findall(r"\bw(\d+)\b", text) == [str(i) for i in range(3000)]  # the 3,000 words, in order
    placeholder = "[sin responder]" if language == "es" else "[not answered]"
    assert text.count(placeholder) == len(bank().questions) - 5
    assert re.search(r"s1_q3 .{0,300}?" + re.escape(placeholder), text)  # the empty answer
    assert "\\input{/etc/passwd} \\write18{touch " in text and "\\catcode`\\{=12 \\def\\x{y} ^^5c" in text
    assert "root:x:0:0" not in text and not (tmp_path / "pwned").exists()
    assert ("3,25 %" if language == "es" else "3.25 %") in text
    assert "Ana García Núñez" in text and "Joan_O’Brien & Co" in text and "100#999" in text
    assert ("Tabla 1" if language == "es" else "Table 1") in text and "ResNet10 & 50%" in text
    assert "[32, 64, 128, 256]" in text and "[16, 32, 64, 128]" in text  # cells that start with [
    comma = "," if language == "es" else "."  # siunitx: the language's decimal marker, digits grouped by 3
    assert f"0{comma}87" in text and "6 634 432" in text and f"−0{comma}5" in text and f"1{comma}2 × 10−5" in text
    assert ("Figura 1" if language == "es" else "Figure 1") in text
    fonts = subprocess.run(["pdffonts", str(written["pdf"])], capture_output=True, text=True, check=True).stdout
    assert "LMRoman10-Regular" in fonts and "Type 3" not in fonts  # T1 Latin Modern outlines, no bitmap fonts
    pages = subprocess.run(["pdftoppm", "-r", "40", "-png", "-l", "2", str(written["pdf"]), str(tmp_path / "page")])
    assert pages.returncode == 0 and len(list(tmp_path.glob("page-*.png"))) == 2


@pytest.mark.slow
def test_overleaf_zip_compiles_on_its_own(tmp_path, figure):
    _require_tex()
    written = build_report(_answers(tmp_path, "es", figure).path, tmp_path / "out", pdf=False, word=False)
    unpacked = tmp_path / "overleaf"
    zipfile.ZipFile(written["zip"]).extractall(unpacked)
    pdf = compile_pdf(unpacked / "report.tex")
    assert "Memoria de la práctica" in _pdf_text(pdf)


@pytest.mark.slow
def test_every_settable_character_compiles(tmp_path):
    _require_tex()
    store = AnswerStore(tmp_path / "answers.json")
    every = "".join(sorted(SETTABLE - {"\n"})) + "".join(latex._ESCAPES)
    store.save_answer("s1_q1", every)
    text = _pdf_text(build_report(store.path, tmp_path / "out", word=False)["pdf"])
    assert "[?]" not in text and "[emoji]" not in text
    for char in "ñÿžŁőŒß€™θ≈":  # glyphs of their own (Ā is A + an accent: pdftotext splits it)
        assert char in text, char


@pytest.mark.slow
def test_compiler_runs_without_shell_escape_or_file_access_outside(tmp_path):
    _require_tex()
    source = tmp_path / "attack.tex"
    (tmp_path / "latexmkrc").write_text(f"system('touch {tmp_path / 'rc-ran'}');", encoding="utf-8")
    source.write_text("\\documentclass{article}\\begin{document}\n"
                      f"\\immediate\\write18{{touch {tmp_path / 'pwned'}}}\nok\n\\input{{/etc/passwd}}\n\\end{{document}}\n")
    with pytest.raises(latex.ReportBuildError, match="/etc/passwd.tex' not found"):  # openin_any=p
        compile_pdf(source)
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "rc-ran").exists()  # -norc: no Perl from the folder
    assert "runsystem(touch" in (tmp_path / "attack.log").read_text() and "disabled" in (tmp_path / "attack.log").read_text()


@pytest.mark.slow
def test_over_long_lines_reach_the_pdf(tmp_path, capsys):
    _require_tex()
    store = AnswerStore(tmp_path / "answers.json")
    store.save_answer("s1_q1", " ".join(f"p{i}" for i in range(40_000)))  # a 268,890-character line
    store.save_answer("s1_q4", "\\" * 13_000)
    assert main(["report", "build", str(store.path), "--out-dir", str(tmp_path / "out"), "--no-docx"]) == 0
    text = _pdf_text(tmp_path / "out" / "report.pdf")
    assert re.findall(r"\bp(\d+)\b", text) == [str(i) for i in range(40_000)]
    assert text.count("\\") == 13_000


@pytest.mark.slow
def test_a_failed_pdflatex_run_names_its_first_error_line(tmp_path):
    _require_tex()
    source = tmp_path / "long.tex"  # a line longer than pdflatex's buffer: the cause is only on its stdout
    source.write_text("\\documentclass{article}\\begin{document}\n" + "a" * 300_000 + "\n\\end{document}\n")
    with pytest.raises(latex.ReportBuildError, match=r"long.tex: pdflatex failed: ! Unable to read an entire line"):
        compile_pdf(source)
    source.write_text("\\documentclass{article}\\begin{document}\n\\undefinedcommand\n\\end{document}\n")
    with pytest.raises(latex.ReportBuildError) as failed:
        compile_pdf(source)
    assert "long.tex:2: Undefined control sequence." in str(failed.value) and "\n" not in str(failed.value)


def _first_page(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", " ", text)


@pytest.mark.slow
@pytest.mark.parametrize("language, mode", [("es", "quick"), ("en", "quick"), ("en", "voxceleb")])
def test_a_quick_mode_report_never_claims_voxceleb_results(tmp_path, figure, capsys, language, mode):
    _require_tex()
    store = AnswerStore(tmp_path / "answers.json")
    store.set_info(students=[("Ana García", "100456789")], language=language, data_mode=mode)
    store.save_answer("s1_q2", "VoxCeleb son entrevistas de YouTube.")  # the student may name it; labkit may not
    store.save_answer("s2_q2", "4,25")
    store.save_answer("s2_q4", "9.5")
    for eid, evidence in bank().evidence.items():
        store.attach(eid, figure if evidence.kind == "figure" else pd.DataFrame({"system": ["a"], "EER (%)": [4.25]}))
    assert main(["report", "build", str(store.path), "--out-dir", str(tmp_path / "out"), "--no-docx"]) == 0
    pdf = tmp_path / "out" / "report.pdf"
    first, text = _first_page(pdf), _pdf_text(pdf)
    names = {("es", "quick"): ("Datos: modo rápido: corpus sintético de labkit (no VoxCeleb)", "(corpus sintético, locutores"),
             ("en", "quick"): ("Data: quick mode: labkit's synthetic corpus (not VoxCeleb)", "(synthetic corpus, "),
             ("en", "voxceleb"): ("Data: real data: VoxCeleb", "(VoxCeleb")}
    stated, data = names[language, mode]
    assert stated in first.replace("’", "'") and ("Modelos:" if language == "es" else "Models:") in first
    captions = re.findall(r"\b(?:Figur[ae]|Tabl[ae]) \d+: (.*?\.)", text)
    assert len(captions) == len(bank().evidence) and all(data in caption for caption in captions), captions
    assert all(data in bank().fill(bank().question(qid).text[language], mode, language) and
               bank().fill(bank().question(qid).text[language], mode, language) in text for qid in ("s2_q2", "s2_q4"))
    if mode == "quick":  # VoxCeleb only where the course and its dataset question name it, and in "not VoxCeleb"
        allowed = [bank().labels["course"][language], bank().question("s1_q2").text[language], "VoxCeleb son entrevistas",
                   "(no VoxCeleb)", "(not VoxCeleb)"]
        rest = re.sub(r"\b1\.2\.? VoxCeleb\b", "", text)  # the heading of that question, and its line in the contents
        for sentence in allowed:
            rest = rest.replace(sentence, "")
        assert "VoxCeleb" not in rest, rest[max(0, rest.find("VoxCeleb") - 200):rest.find("VoxCeleb") + 100]


def test_report_files_follow_the_umask(tmp_path):
    store = AnswerStore(tmp_path / "answers.json")
    store.save_answer("s1_q1", "para el profesor")
    previous = os.umask(0o027)
    try:
        assert main(["report", "build", str(store.path), "--out-dir", str(tmp_path / "out"), "--no-pdf"]) == 0
    finally:
        os.umask(previous)
    out = tmp_path / "out"
    modes = {path.relative_to(out).as_posix(): path.stat().st_mode & 0o777 for path in out.rglob("*")}
    assert modes == {".labkit-report": 0o640, "report-overleaf.zip": 0o640, "report.docx": 0o640, "latex": 0o750,
                     "latex/report.tex": 0o640, "latex/metadata.tex": 0o640, "latex/body.tex": 0o640}, modes


def test_a_dash_from_readable_is_a_missing_number_again_in_the_report():
    entry = {"columns": ["model", "training (min)"], "rows": [["pretrained", 44.92], ["resemblyzer", MISSING]]}  # as readable() stores it
    frame = table_frame(entry)
    assert pd.api.types.is_float_dtype(frame["training (min)"]) and frame["training (min)"].isna().tolist() == [False, True]
    table = latex_table(frame, "caption", "tab:x")
    assert "S[table-format=2.2]" in table and "{–}" in table  # aligned on the decimal marker; the gap a braced dash
