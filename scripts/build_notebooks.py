"""Write the lab notebooks, one per session and language, from their bilingual sources.

    notebooks/src/session1.py  ->  notebooks/es/session1.ipynb, notebooks/en/session1.ipynb

A source is a jupytext "percent" script (``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell) that carries both languages:

* a markdown cell holds ``<!-- es -->`` and ``<!-- en -->`` blocks; text before the first marker
  is common to both languages;
* in a code cell, a comment ``# [es] texto [en] text`` becomes ``# texto`` or ``# text``; a line
  exists only in the languages tagged in its comment, so ``print("hola")  # [es]`` is a Spanish-only
  line and ``x = 1  # [es] uno [en]`` keeps its code in both with a Spanish-only comment;
* ``LANGUAGE = "es"`` (the notebook's language setting) is written with the notebook's language;
* a code cell that holds only ``# @include shared/setup.py`` stands for the cells of that file
  (``notebooks/src/shared/``: the setup and data cells every session opens with, written once);
* a code cell that holds only ``# @questions N`` becomes session N's questions, taken from the
  question bank (``labkit/report/questions.yaml``) in the notebook's language (a text that names
  the data names both data sets: the mode is chosen when the notebook runs), each followed by its
  ``answer(...)`` cell.

Spanish is the course language (``notebooks/es``); English is beside it (``notebooks/en``).

    python scripts/build_notebooks.py [--check]     # (`make notebooks`)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's labkit, for the question bank

from labkit.files import write_text_atomic  # noqa: E402
from labkit.i18n import in_language, t  # noqa: E402
from labkit.report.bank import ANY_MODE, Question, bank  # noqa: E402

LANGUAGES = ("es", "en")  # the first is the course's language
SOURCES = ROOT / "notebooks" / "src"
MARKDOWN_TAG = re.compile(r"^<!-- (es|en) -->$", re.M)
COMMENT_TAG = re.compile(r"#\s*\[(?:es|en)\]")  # where a bilingual comment starts
LANGUAGE_LINE = re.compile(r'^LANGUAGE = "es"', re.M)
QUESTIONS = re.compile(r"^# @questions (\d+)$")
INCLUDE = re.compile(r"^# @include (\S+)$")
METADATA = {  # what Colab needs: a GPU runtime by default, the plain Python 3 kernel
    "accelerator": "GPU",
    "colab": {"provenance": []},
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}

def notebook_path(source: Path, language: str) -> Path:
    """``notebooks/src/session1.py`` -> ``notebooks/<language>/session1.ipynb``."""
    return source.parents[1] / language / f"{source.stem}.ipynb"


def markdown_in(text: str, language: str) -> str:
    """The part of a bilingual markdown cell in ``language`` (after the common part, if any)."""
    pieces = MARKDOWN_TAG.split(text)  # [common, lang, text, lang, text, ...]
    if len(pieces) == 1:
        return text.strip()
    blocks = dict(zip(pieces[1::2], pieces[2::2]))
    if set(blocks) != set(LANGUAGES):
        raise ValueError(f"a markdown cell must carry both {LANGUAGES} blocks, found {sorted(blocks)}:\n{text[:200]}")
    return "\n\n".join(part.strip() for part in (pieces[0], blocks[language]) if part.strip())


def code_line_in(line: str, language: str) -> str | None:
    """One code line in ``language``; None when the line belongs to the other language only."""
    tag = COMMENT_TAG.search(line)
    if tag is None:
        return line
    parts = re.split(r"\[(es|en)\]", line[tag.start():])[1:]  # [lang, text, lang, text]
    comments = {lang: text.strip() for lang, text in zip(parts[::2], parts[1::2])}
    if language not in comments:
        return None
    code = line[: tag.start()].rstrip()
    comment = comments[language]
    if not code.strip():  # a comment line: indented like the original
        return f"{line[: tag.start()]}# {comment}" if comment else None
    return f"{code}  # {comment}" if comment else code


def code_in(text: str, language: str) -> str:
    """A bilingual code cell in ``language``: comments chosen, the language setting written."""
    lines = [code_line_in(line, language) for line in text.splitlines()]
    code = "\n".join(line for line in lines if line is not None)
    return LANGUAGE_LINE.sub(f'LANGUAGE = "{language}"', code)


def question_cells(session: int, language: str) -> list[nbformat.NotebookNode]:
    """The bank's questions of ``session``: the text above, the ``answer(...)`` cell below."""
    with in_language(language):  # the generator's own words (labkit/i18n.yaml) in the notebook's language
        return [cell for question in bank().questions if question.session == session for cell in question_pair(question, language)]


def question_pair(question: Question, language: str) -> list[nbformat.NotebookNode]:
    """One question's markdown cell (text, options, evidence) and its empty ``answer(...)`` cell."""
    asked = bank().fill(question.text[language], ANY_MODE, language)  # the mode is chosen later: both data sets named
    text = f"**{question.id}** ({question.section[language]}). {asked}"
    if question.choices:  # what each key means, in the notebook's language
        options = " · ".join(f"`{key}`: {labels[language]}" for key, labels in question.choices.items())
        text += f"\n\n*{t('notebook.options')}:* {options}"
    if question.evidence:
        text += f"\n\n*{t('notebook.evidence')}:* {', '.join(question.evidence)}"
    return [nbformat.v4.new_markdown_cell(text), nbformat.v4.new_code_cell(answer_call(question))]


def answer_call(question: Question) -> str:
    """The empty answer cell of a question, with a hint for numbers and choices (in the language in use)."""
    if question.kind == "text":
        return f'answer("{question.id}", """\n""")'
    if question.kind == "choice":
        keys = ", ".join(repr(key) for key in question.choices)
        return f'answer("{question.id}", "")  # {t("notebook.one_of")}: {keys}'
    unit = f" ({question.unit})" if question.unit else ""
    return f'answer("{question.id}", "")  # {t("notebook.number")}{unit}'


def bilingual_cells(source: Path) -> list[nbformat.NotebookNode]:
    """The cells of a source, each ``# @include`` replaced by the cells of the file it names (relative to the source)."""
    cells = []
    for cell in jupytext.read(source, fmt="py:percent").cells:
        include = INCLUDE.match(cell.source.strip()) if cell.cell_type == "code" else None
        if include and not (source.parent / include[1]).is_file():
            raise FileNotFoundError(f"{source}: # @include {include[1]}: no such file")
        cells += bilingual_cells(source.parent / include[1]) if include else [cell]
    return cells


def build(source: Path, language: str) -> nbformat.NotebookNode:
    """The notebook of ``source`` in ``language``: clean (no outputs), stable cell ids."""
    cells = []
    for cell in bilingual_cells(source):
        questions = QUESTIONS.match(cell.source.strip()) if cell.cell_type == "code" else None
        if questions:
            cells += question_cells(int(questions[1]), language)
        elif cell.cell_type == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(markdown_in(cell.source, language)))
        else:
            cells.append(nbformat.v4.new_code_cell(code_in(cell.source, language)))
    for i, cell in enumerate(cells):
        cell.id = f"{source.stem}-{i:03d}"  # stable: a rebuild without changes rewrites nothing
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=METADATA)
    nbformat.validate(notebook)
    return notebook


def rendered(source: Path, language: str) -> str:
    """The ``.ipynb`` text written for ``source`` in ``language``."""
    return nbformat.writes(build(source, language)) + "\n"


def outputs(sources: Path = SOURCES) -> dict[Path, str]:
    """Every generated notebook path and its text."""
    return {notebook_path(source, lang): rendered(source, lang) for source in sorted(sources.glob("*.py")) for lang in LANGUAGES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is out of date with its source")
    args = parser.parse_args(argv)
    stale = {path: text for path, text in outputs().items() if not path.is_file() or path.read_text(encoding="utf-8") != text}
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)} (run `make notebooks`)")
        return 1 if stale else 0
    for path, text in stale.items():
        write_text_atomic(path, text)  # a notebook is never half written
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
