"""Answers, tables and figures -> ``report_template/report.tex`` -> PDF, Overleaf zip and Word file.

Everything a student typed reaches LaTeX through ``escape()``: one pass over the text that
turns every LaTeX special into text (so ``\\input{/etc/passwd}`` is printed, never run, and a
``[`` is braced so that no table row starts an optional argument), maps the Unicode that
pdflatex cannot set (``θ`` -> ``\\ensuremath{\\theta}``) and replaces the rest with a visible
marker (``[emoji]``, ``[?]``), so no answer can break the build. Source lines are kept short
(pdflatex stops at a line longer than its 200,000-character buffer).

The report goes to a folder labkit owns: a new or empty one, marked with ``.labkit-report``; a
folder holding anything else is refused rather than overwritten.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.errors import LabkitError
from labkit.files import REPOSITORY, atomic_path, write_text_atomic
from labkit.report.bank import bank, check_language
from labkit.report.content import caption, cell_text, data_lines, figure_file, report_outline, table_frame
from labkit.report.store import AnswerStore, AnswersFileError, figure_files

# report_template/ stays at the repository root (like configs/): labkit is used from a checkout
# (git clone + pip install -e .), so students and instructors find and edit the template there.
TEMPLATE_DIR = REPOSITORY / "report_template"
TODAY = r"\today"  # the build date, in the report's language
LATEXMK = ["latexmk", "-norc", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
           "-file-line-error"]  # -norc: no latexmkrc (Perl) from the build folder or the user's home
LINE_LIMIT = 1000  # characters per line of LaTeX source that escape() writes
OWNED_MARK = ".labkit-report"  # in an output folder labkit created: it may replace its build outputs there

# ----------------------------------------------------------------------------- escaping
_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "%": r"\%",
    "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", '"': r"\textquotedbl{}",
    "`": r"\textasciigrave{}",  # also stops the ?` and !` ligatures (¿ ¡)
    "[": "{[}", "]": "{]}",  # braced: never read as the optional argument of \\, \midrule or \item
    "\t": " ", "\u00a0": "~", "\u2009": r"\,", "\u202f": r"\,",
}
_GREEK = {  # letter -> LaTeX math command; capitals that look Latin are printed as Latin letters
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
    "ρ": "rho", "ς": "varsigma", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "χ": "chi",
    "ψ": "psi", "ω": "omega", "ϑ": "vartheta", "ϕ": "phi", "ϵ": "epsilon",
    "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma",
    "Υ": "Upsilon", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}
_MATH = {
    "≈": "approx", "≤": "leq", "≥": "geq", "≠": "neq", "≡": "equiv", "∼": "sim", "∝": "propto",
    "→": "rightarrow", "←": "leftarrow", "↔": "leftrightarrow", "⇒": "Rightarrow", "⇔": "Leftrightarrow",
    "↑": "uparrow", "↓": "downarrow", "∞": "infty", "∑": "sum", "∏": "prod", "∫": "int", "∂": "partial",
    "∇": "nabla", "√": "surd", "∈": "in", "∉": "notin", "⊂": "subset", "⊆": "subseteq", "∪": "cup",
    "∩": "cap", "∀": "forall", "∃": "exists", "∅": "emptyset", "⋅": "cdot", "∘": "circ", "′": "prime",
    "−": "-", "∗": "ast", "✓": "checkmark", "✔": "checkmark", "★": "star", "⊕": "oplus", "⊗": "otimes",
}
_ESCAPES = {
    **_SPECIALS,
    **{char: rf"\ensuremath{{\{name}}}" for char, name in {**_GREEK, **_MATH}.items() if name != "-"},
    "−": r"\ensuremath{-}",
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΧο", "ABEZHIKMNOPTXo")),
    "\u200b": r"\allowbreak{}",  # put by escape() into long words (URLs, paths) so that lines can break
}
# Text characters that pdflatex sets with T1 + lmodern: ASCII and every character that LaTeX's UTF-8
# tables define for the T1, TS1 and OMS encodings (t1enc.dfu, ts1enc.dfu, omsenc.dfu of TeX Live 2022).
# tests/test_latex.py compiles every one of them.
SETTABLE = set(
    " !'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]abcdefghijklmnopqrstuvwxyz\n"
    "¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¹º»¼½¾¿ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûü"
    "ýþÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİıĲĳĴĵĶķĹĺĻļĽľŁłŃńŅņŇňŊŋŌōŎŏŐőŒœŔŕŖŗŘřŚśŜ"
    "ŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƒǄǅǆǇǈǉǊǋǌǍǎǏǐǑǒǓǔǢǣǦǧǨǩǪǫǰǴǵȘșȚțȲȳȷˇ˘˙˛˝฿ḂḃḍḞḟḠḡḥḰḱḷṃṅṇṛṣ"
    "ṭẎẏẐẑẞỲỳ‐‑‒–—―‖‘’‚“”„†‡•‰‱‹›※‽⁄⁎⁒₡₤₦₩₫€₱℃№℗℞℠™Ω℧℮←↑→↓〈〉␢␣◦◯⟨⟩〈〉ﬀﬁﬂﬃﬄﬅﬆ"
)
_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff"
_EMOJI_WITH_LATEX = "".join(char for char in _ESCAPES if re.match(f"[{_EMOJI}]", char))  # ✓ ✔ ★
_TOKEN = re.compile(
    rf"(?P<symbol>[{_EMOJI_WITH_LATEX}])"  # mapped by _ESCAPES
    rf"|(?P<emoji>[{_EMOJI}](?:[\ufe0f\U0001f3fb-\U0001f3ff{_EMOJI}])*)"  # one emoji sequence -> one marker
    r"|(?P<paragraph>\n[ \t]*\n\s*)"  # a blank line ends a paragraph
    r"|(?P<newline>\n)"  # a single newline: a line break
    r"|(?P<ligature>-(?=-)|,(?=,))"  # -- and ,, would become ligatures (– and „)
    r"|(?P<char>.)",
    re.DOTALL,
)
_TOKEN_TEXT = {"emoji": "{[}emoji{]}", "paragraph": "\n\n", "newline": "\n\\par\\noindent ", "ligature": "{}"}


def _escape_token(match: re.Match) -> str:
    char = match.group("char")
    if match.group() in _ESCAPES:  # incl. symbols in the emoji blocks that LaTeX has (✓ ★)
        return _ESCAPES[match.group()]
    if char is None:
        return (match.group("ligature") or "") + _TOKEN_TEXT[match.lastgroup]
    if char in SETTABLE:
        return char
    if unicodedata.category(char) == "Zs":  # exotic spaces
        return " "
    if unicodedata.category(char) == "Mn":  # a combining mark left over after NFC
        return ""
    return "{[}?{]}"  # visible: the reader sees that a character could not be printed


def _short_lines(pieces: list[str]) -> str:
    """Join escaped pieces into source lines of at most about ``LINE_LIMIT`` characters.

    A line ends at a space (a newline is a space to TeX) or with ``%`` inside a word (the comment
    swallows the newline); a piece (``\\textbackslash{}``) is never split.
    """
    out, length = [], 0
    for piece in pieces:
        if length + len(piece) > LINE_LIMIT and piece[0] not in "\n":
            out.append("\n" if piece == " " else "%\n")
            length = 0
            if piece == " ":
                continue
        out.append(piece)
        length = len(piece) - piece.rfind("\n") - 1 if "\n" in piece else length + len(piece)
    return "".join(out)


def escape(text: str, inline: bool = False) -> str:
    """Plain text -> LaTeX source that prints exactly that text; newlines become line/paragraph breaks.

    ``inline`` turns newlines into spaces (for titles and table cells, where a paragraph cannot start).
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf"))  # invisible controls
    text = re.sub(r"\s+", " ", text) if inline else text
    text = re.sub(r"\S{30,}", lambda word: "\u200b".join(re.findall(".{1,10}", word.group())), text)
    return _short_lines([_escape_token(match) for match in _TOKEN.finditer(text.strip())])


# ----------------------------------------------------------------------------- tables and figures
_NUMBER = re.compile(r"(?P<sign>-?)(?P<integer>\d+)(?:\.(?P<decimals>\d+))?(?:e(?P<exp_sign>[-+]?)0*(?P<exponent>\d+))?")


def _number_column(values: pd.Series) -> tuple[str, list[str]]:
    """A siunitx ``S`` column: its spec, with a ``table-format`` that fits every number, and its cells.

    Numbers go in with a decimal point; siunitx aligns them on the decimal marker and prints the
    report language's marker (set in report.tex). Anything else (a missing value, inf) is braced text.
    """
    texts = [cell_text(value, "en") for value in values]
    numbers = [match for match in map(_NUMBER.fullmatch, texts) if match]

    def widest(part: str) -> int:
        return max((len(match[part] or "") for match in numbers), default=0)

    form = f"{'-' if widest('sign') else ''}{widest('integer')}.{widest('decimals')}"
    if widest("exponent"):
        form += f"e{'-' if widest('exp_sign') else ''}{widest('exponent')}"
    cells = [text if _NUMBER.fullmatch(text) else f"{{{escape(text, inline=True)}}}" for text in texts]
    return f"S[table-format={form}]", cells


def latex_table(table: pd.DataFrame, caption: str, label: str, language: str = "en") -> str:
    """A DataFrame as a booktabs table float: escaped headers and text, numbers in siunitx columns."""
    specs, headers, columns = [], [], []
    for name, values in table.items():
        header = rf"\textbf{{{escape(str(name), inline=True)}}}"
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            spec, cells = _number_column(values)
            header = f"{{{header}}}"  # braced: text, not a number, in an S column
        else:
            spec, cells = "l", [escape(cell_text(value, language), inline=True) for value in values]
        specs.append(spec)
        headers.append(header)
        columns.append(cells)
    rows = [" & ".join(row) + r" \\" for row in zip(*columns)]
    tabular = "\n".join([rf"\begin{{tabular}}{{{''.join(specs)}}}", r"\toprule", " & ".join(headers) + r" \\",
                         r"\midrule", *rows, r"\bottomrule", r"\end{tabular}"])
    if len(table.columns) > 6:  # wide tables shrink to the text width
        tabular = rf"\resizebox{{\linewidth}}{{!}}{{{tabular}}}"
    return "\n".join([r"\begin{table}[htbp]", r"\centering\small", rf"\caption{{{escape(caption)}}}",
                      rf"\label{{{label}}}", tabular, r"\end{table}"])


def latex_figure(path: str, caption: str, label: str) -> str:
    """A figure float for ``path`` (relative to the .tex file)."""
    return "\n".join([r"\begin{figure}[htbp]", r"\centering",
                      rf"\includegraphics[width=0.8\linewidth]{{{path}}}", rf"\caption{{{escape(caption)}}}",
                      rf"\label{{{label}}}", r"\end{figure}"])


# ----------------------------------------------------------------------------- the document
def render_metadata(content: dict[str, Any], language: str, date: str | None = None) -> str:
    """``metadata.tex``: language switch, course, title, students, date and labels."""
    labels = {key: escape(text[language]) for key, text in bank().labels.items()}
    students = "".join(rf"{escape(s.get('name', ''), True)} & {escape(s.get('id', ''), True)} \\" + "\n"
                       for s in content["info"].get("students", []))
    (data_label, data_text), (models_label, models_text) = data_lines(content, language)
    lines = [
        r"\newif\ifspanish", r"\spanishtrue" if language == "es" else r"\spanishfalse",
        rf"\newcommand{{\ReportCourse}}{{{labels['course']}}}",
        rf"\newcommand{{\ReportTitle}}{{{labels['title']}}}",
        rf"\newcommand{{\ReportDate}}{{{escape(date, True) if date else TODAY}}}",
        rf"\newcommand{{\ReportStudents}}{{{students}}}",
        rf"\newcommand{{\StudentsLabel}}{{{labels['students']}}}",
        rf"\newcommand{{\NameLabel}}{{{labels['student_name']}}}",
        rf"\newcommand{{\IdLabel}}{{{labels['student_id']}}}",
        rf"\newcommand{{\DateLabel}}{{{labels['date']}}}",
        rf"\newcommand{{\NotAnsweredLabel}}{{{labels['not_answered']}}}",
        rf"\newcommand{{\MissingLabel}}{{{labels['missing_evidence']}}}",
        rf"\newcommand{{\SeeLabel}}{{{labels['see']}}}",
        rf"\newcommand{{\DataLabel}}{{{escape(data_label, True)}}}",  # title page: where the results come from
        rf"\newcommand{{\ReportData}}{{{escape(data_text, True)}}}",
        rf"\newcommand{{\ModelsLabel}}{{{escape(models_label, True)}}}",
        rf"\newcommand{{\ReportModels}}{{{escape(models_text, True)}}}",
    ]
    return "% Written by labkit report build.\n" + "\n".join(lines) + "\n"


def render_body(content: dict[str, Any], language: str) -> str:
    """``body.tex``: one section per session; each question, its answer (or a red placeholder) and its evidence."""
    placed: set[str] = set()
    out = ["% Written by labkit report build: every question of labkit/report/questions.yaml with its answer."]
    for session, sections in report_outline(content, language):
        out.append(rf"\section{{{escape(session)}}}")
        for section, items in sections:
            out.append(rf"\subsection{{{escape(section)}}}")
            for item in items:
                out.append(rf"\Question{{{escape(item.question.id)}}}{{{escape(item.text)}}}")
                out.append(escape(item.answer) if item.answer is not None else r"\NotAnswered")
                for eid in item.evidence:
                    out.append(_render_evidence(content, eid, language, placed))
    return "\n\n".join(out) + "\n"


def _render_evidence(content: dict[str, Any], eid: str, language: str, placed: set[str]) -> str:
    """The float of evidence ``eid`` the first time it is needed, a reference after that."""
    evidence = bank().evidence[eid]
    label = f"{'fig' if evidence.kind == 'figure' else 'tab'}:{eid.replace('_', '-')}"
    if eid in placed:
        return rf"\See{evidence.kind.capitalize()}{{{label}}}"
    stored = content["evidence"].get(eid)
    figure = figure_file(content, eid, (".pdf", ".png", ".jpg"))
    if stored is None or (evidence.kind == "figure" and figure is None):
        return rf"\MissingEvidence{{{escape(caption(content, eid, language))}}}"
    placed.add(eid)
    if evidence.kind == "table":
        return latex_table(table_frame(stored), caption(content, eid, language), label, language)
    return latex_figure(figure, caption(content, eid, language), label)


# ----------------------------------------------------------------------------- build
class ReportBuildError(LabkitError):
    """pdflatex failed or timed out; the message quotes its first error line."""


def write_sources(content: dict[str, Any], store_dir: Path, tex_dir: Path, language: str, date: str | None = None) -> Path:
    """Fill ``tex_dir`` with report.tex, metadata.tex, body.tex and the figures; returns report.tex."""
    template = TEMPLATE_DIR / "report.tex"
    if not template.is_file():
        raise FileNotFoundError(f"{template}: report template not found; the folder {TEMPLATE_DIR} is expected "
                                "at the root of the labkit repository: clone the repository and pip install -e .")
    tex_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, tex_dir / "report.tex")
    (tex_dir / "metadata.tex").write_text(render_metadata(content, language, date), encoding="utf-8")
    (tex_dir / "body.tex").write_text(render_body(content, language), encoding="utf-8")
    for eid in bank().evidence:  # only figures/<id>.pdf|png|jpg of the bank's evidence, nothing else
        for file in figure_files(content, eid):
            (tex_dir / "figures").mkdir(exist_ok=True)
            shutil.copyfile(store_dir / file, tex_dir / file)
    return tex_dir / "report.tex"


def overleaf_zip(tex_dir: Path, zip_path: Path) -> Path:
    """Zip the LaTeX sources (report.tex at the top) for upload to Overleaf; written atomically."""
    with atomic_path(zip_path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(tex_dir.rglob("*")):
            if file.is_file() and file.suffix in (".tex", ".pdf", ".png", ".jpg") and file.name != "report.pdf":
                archive.write(file, file.relative_to(tex_dir).as_posix())
    return zip_path


def compile_pdf(tex_file: Path, timeout: float = 180.0) -> Path:
    """Run latexmk (no shell escape, paranoid file access) on ``tex_file``; returns the PDF."""
    if not tex_installed():
        raise FileNotFoundError("latexmk/pdflatex not found: run scripts/install-tex.sh or upload the zip to Overleaf")
    env = {**os.environ, "openin_any": "p", "openout_any": "p", "shell_escape": "f"}
    process = subprocess.Popen([*LATEXMK, tex_file.name], cwd=tex_file.parent, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output = process.communicate(timeout=timeout)[0].decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # latexmk and its pdflatex
        process.communicate()
        raise ReportBuildError(f"{tex_file}: latexmk did not finish within {timeout:.0f} s") from None
    log = tex_file.with_suffix(".log")
    if process.returncode != 0:
        error = first_error(output + "\n" + (log.read_text("utf-8", "replace") if log.is_file() else ""))
        raise ReportBuildError(f"{tex_file}: pdflatex failed: {error} (log: {log})")
    return tex_file.with_suffix(".pdf")


def first_error(text: str) -> str:
    """The first TeX error line of pdflatex's output or log (``! ...`` or ``file.tex:12: ...``)."""
    for line in text.splitlines():
        error = re.search(r"(?:^|\))(! .*)|^(\S+\.tex:\d+: .*)", line)  # "(./report.aux)! Unable to ..." too
        if error:
            return (error[1] or error[2]).strip()
    tail = [line for line in text.splitlines() if line.strip()][-1:]
    return f"no error line found; last line: {tail[0].strip()}" if tail else "no output"


def tex_installed() -> bool:
    """Whether latexmk and pdflatex are on PATH."""
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def _labkit_wrote(file: Path) -> bool:
    """Whether ``file`` (relative to ``latex/``) is one that a report build writes there."""
    return (file.parts[0] == "figures" or file.name in ("body.tex", "metadata.tex")
            or (len(file.parts) == 1 and file.name.startswith("report.")))  # report.tex and latexmk's report.*


def claim_out_dir(out_dir: Path) -> None:
    """Make ``out_dir`` labkit's output folder, or refuse: nothing labkit did not write is ever replaced.

    A new or empty folder gets the mark ``.labkit-report``; a marked folder (or one with the
    ``latex/body.tex`` of an earlier labkit) is reused, unless its ``latex/`` holds a file that
    labkit does not write there. Any other non-empty folder is refused.
    """
    latex = out_dir / "latex"
    body = latex / "body.tex"
    earlier = body.is_file() and body.read_text("utf-8", "replace").startswith("% Written by labkit report build")
    if out_dir.exists() and not (out_dir / OWNED_MARK).is_file() and not earlier:
        if not out_dir.is_dir() or any(out_dir.iterdir()):
            raise LabkitError(f"{out_dir}: not empty and not made by labkit (no {OWNED_MARK} in it): the report "
                              "would overwrite files there; choose a new or empty folder (--out-dir)")
    foreign = sorted(file for file in latex.rglob("*") if not file.is_dir() and not _labkit_wrote(file.relative_to(latex)))
    if foreign:
        raise LabkitError(f"{foreign[0]}: not written by labkit, and {latex} is rebuilt by every report build; "
                          "move it out of that folder or choose another --out-dir")
    write_text_atomic(out_dir / OWNED_MARK, "labkit report build writes latex/, report.pdf, report.docx and "
                      "report-overleaf.zip here, and replaces them at every build.\n")


def build_report(answers: str | Path, out_dir: str | Path, language: str | None = None, pdf: bool | None = None,
                 word: bool = True, date: str | None = None) -> dict[str, Path]:
    """Build the report of the answers file ``answers`` into ``out_dir``.

    Always writes ``latex/`` (sources) and ``report-overleaf.zip``; ``report.docx`` when ``word``;
    ``report.pdf`` when ``pdf`` (None: when TeX is installed; True without TeX: FileNotFoundError).
    Returns the paths written by kind ("latex", "zip", "docx", "pdf").
    """
    store = AnswerStore(answers)
    if not store.path.is_file():
        raise FileNotFoundError(f"{store.path}: no such answers file")
    content = store.read()
    language = check_language(language or content["info"].get("language", "es"))
    out_dir = Path(out_dir)
    claim_out_dir(out_dir)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as scratch:  # never a half-written latex/
        try:
            tex_file = write_sources(content, store.path.parent, Path(scratch) / "latex", language, date)
        except AnswersFileError as error:  # a figure path the answers file must not hold
            raise AnswersFileError(f"{store.path}: {error}") from None
        shutil.rmtree(out_dir / "latex", ignore_errors=True)  # only labkit's own files: claim_out_dir checked
        os.replace(tex_file.parent, out_dir / "latex")
    written = {"latex": out_dir / "latex", "zip": overleaf_zip(out_dir / "latex", out_dir / "report-overleaf.zip")}
    if word:
        from labkit.report.docx import write_docx

        written["docx"] = write_docx(content, store.path.parent, out_dir / "report.docx", language, date)
    if pdf or (pdf is None and tex_installed()):
        os.replace(compile_pdf(out_dir / "latex" / "report.tex"), out_dir / "report.pdf")
        written["pdf"] = out_dir / "report.pdf"
    return written
