"""The lab notebooks: written from their bilingual sources, questions from the bank, run headless end to end.

Each session has one source, ``notebooks/src/sessionN.py`` (jupytext percent format, both
languages), from which ``scripts/build_notebooks.py`` (`make notebooks`) writes
``notebooks/es/sessionN.ipynb`` and ``notebooks/en/sessionN.ipynb``.

The slow test executes the notebooks with a real Jupyter kernel (this venv's Python) in quick
mode: the synthetic ``tiny`` corpus, two epochs of training per model (a fixed amount of work, not a
time budget), answers and outputs in a temporary folder.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from labkit.report.bank import bank
from labkit.report.store import AnswerStore
import notebook_concepts
from notebook_kernel import NotebookClient, kernel, outputs

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = ("es", "en")
SESSIONS = (1, 2)
NOTEBOOKS = {(session, lang): REPO / "notebooks" / lang / f"session{session}.ipynb" for session in SESSIONS for lang in LANGUAGES}
HELPERS = {"show", "train_system", "evaluate_run"}  # the only functions a notebook defines: glue, never library code


def _generator():
    """scripts/build_notebooks.py as a module."""
    spec = importlib.util.spec_from_file_location("build_notebooks", REPO / "scripts" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cells(session: int, lang: str = "es") -> list[nbformat.NotebookNode]:
    return nbformat.read(NOTEBOOKS[session, lang], as_version=4).cells


def test_every_notebook_is_up_to_date_with_its_source():
    generator = _generator()
    expected = generator.outputs()
    assert set(expected) == set(NOTEBOOKS.values())
    stale = [str(path.relative_to(REPO)) for path, text in expected.items() if path.read_text(encoding="utf-8") != text]
    assert not stale, f"out of date with notebooks/src: {stale}; run `make notebooks` and commit the result"


def test_a_changed_source_makes_its_notebooks_stale(tmp_path):
    generator = _generator()
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    source = tmp_path / "notebooks" / "src" / "session1.py"
    source.write_text(source.read_text(encoding="utf-8").replace("## 2. Explorar los datos", "## 2. Explorar"), encoding="utf-8")
    stale = [path.relative_to(tmp_path) for path, text in generator.outputs(tmp_path / "notebooks" / "src").items()
             if path.read_text(encoding="utf-8") != text]
    assert stale == [Path("notebooks/es/session1.ipynb")]  # the Spanish text changed, the English did not


def test_a_changed_shared_cell_makes_every_session_stale(tmp_path):
    generator = _generator()
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    shared = tmp_path / "notebooks" / "src" / "shared" / "setup.py"
    shared.write_text(shared.read_text(encoding="utf-8").replace("USE_DRIVE = True", "USE_DRIVE = False"), encoding="utf-8")
    stale = {path.relative_to(tmp_path) for path, text in generator.outputs(tmp_path / "notebooks" / "src").items()
             if path.read_text(encoding="utf-8") != text}
    assert stale == {Path(f"notebooks/{lang}/session{n}.ipynb") for n in SESSIONS for lang in LANGUAGES}


def test_language_tags_of_a_source():
    generator = _generator()
    line = generator.code_line_in
    assert line('x = 1  # [es] uno [en] one', "es") == "x = 1  # uno"
    assert line('x = 1  # [es] uno [en] one', "en") == "x = 1  # one"
    assert line('print("hola")  # [es]', "en") is None and line('print("hola")  # [es]', "es") == 'print("hola")'
    assert line('x = 1  # [es] uno [en]', "en") == "x = 1"
    assert line("    # [es] comentario [en] comment", "en") == "    # comment"
    assert line('y = 2  # plain', "es") == "y = 2  # plain"
    assert generator.code_in('LANGUAGE = "es"  # [es] idioma [en] language', "en") == 'LANGUAGE = "en"  # language'
    assert generator.markdown_in("común\n<!-- es -->\nhola\n<!-- en -->\nhello", "en") == "común\n\nhello"
    with pytest.raises(ValueError, match="both"):
        generator.markdown_in("<!-- es -->\nsolo en español", "es")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("session", SESSIONS)
def test_notebook_is_in_one_language_and_sets_it(session, lang):
    notebook = cells(session, lang)
    text = "\n".join(c.source for c in notebook)
    assert "<!--" not in text and "[es]" not in text and "[en]" not in text  # every tag resolved
    assert f'LANGUAGE = "{lang}"' in text
    heading = {"es": f"Sesión {session}", "en": f"Session {session}"}[lang]
    assert heading in notebook[0].source


def _code_shape(source: str) -> str:
    """A code cell's syntax tree with every text left out: what runs, whatever the language of its strings."""
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.startswith("%")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(ast.parse(ast.unparse(tree).replace("f''", "''")))


@pytest.mark.parametrize("session", SESSIONS)
def test_both_languages_run_the_same_code(session):
    spanish, english = cells(session, "es"), cells(session, "en")
    assert [c.cell_type for c in spanish] == [c.cell_type for c in english]
    for es, en in zip(spanish, english):
        if es.cell_type == "code":
            assert _code_shape(es.source.replace('LANGUAGE = "es"', 'LANGUAGE = "en"')) == _code_shape(en.source), (
                f"session {session}: this cell does different things in Spanish and English:\n{es.source}\n---\n{en.source}")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("session", SESSIONS)
def test_every_question_of_the_session_has_its_text_and_an_answer_cell(session, lang):
    notebook = cells(session, lang)
    asked = [re.match(r'answer\("(\w+)"', c.source)[1] for c in notebook if c.cell_type == "code" and c.source.startswith("answer(")]
    assert asked == [q.id for q in bank().questions if q.session == session]
    for question in (q for q in bank().questions if q.session == session):
        index = next(i for i, c in enumerate(notebook) if c.cell_type == "code" and c.source.startswith(f'answer("{question.id}"'))
        above = notebook[index - 1]
        text = bank().fill(question.text[lang], "any", lang)  # before the mode is known: both data sets named
        assert above.cell_type == "markdown" and text in above.source, (
            f"{NOTEBOOKS[session, lang]}: the cell above answer({question.id!r}) must quote the bank's text "
            "(labkit/report/questions.yaml) in the notebook's language, word for word")
    assert notebook[-1 if session == 1 else -3].source == "progress()"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_setup_cell_is_the_same_in_both_notebooks_and_keeps_colab_torch(lang):
    code = [[c.source for c in cells(s, lang) if c.cell_type == "code"] for s in SESSIONS]
    settings, setup = code[0][:2]
    assert code[1][:2] == [settings, setup]  # the same settings and setup cells open both sessions
    assert settings.startswith("QUICK = True") and f'LANGUAGE = "{lang}"' in settings and "USE_DRIVE = True" in settings
    assert "REPOSITORY =" in setup and "setup(QUICK, LANGUAGE, USE_DRIVE, checkout=CHECKOUT)" in setup
    assert "torch" not in setup  # never reinstalled: labkit.colab.install runs `pip install -e` of the checkout only


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("session", SESSIONS)
def test_every_name_a_notebook_uses_is_defined_in_it(session, lang):
    """No cell reads a name that no cell before it (or Python, or IPython) defines: it would fail only on some path."""
    defined = set(dir(builtins)) | {"display", "get_ipython"}  # IPython's kernel provides these two
    for cell in (c for c in cells(session, lang) if c.cell_type == "code"):
        tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.startswith("%")))
        for node in ast.walk(tree):  # everything the cell binds, wherever it stands (a cell reads top to bottom)
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                defined.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                defined.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.arg):
                defined.add(node.arg)
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
        assert used <= defined, f"{NOTEBOOKS[session, lang]}: {sorted(used - defined)} used but never defined:\n{cell.source}"


@pytest.mark.parametrize("session", SESSIONS)
def test_notebooks_call_the_library_and_define_only_small_helpers(session):
    sources = "\n".join(c.source for c in cells(session) if c.cell_type == "code")
    assert not re.search(r"^\s*class ", sources, re.M)
    assert set(re.findall(r"^def (\w+)", sources, re.M)) <= HELPERS


SAVED = {"s1_q1": "Una respuesta guardada antes de abrir una copia nueva.", "s1_q5": "f_plus_x", "s2_q2": 4.5}  # answers given earlier


def execute(path: Path, kernel_name: str, work: Path, rerun: str | None = None) -> nbformat.NotebookNode:
    """Run every cell of the notebook at ``path`` in one kernel ("Run all"), then once more the code cells holding ``rerun``."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name=kernel_name, resources={"metadata": {"path": str(work)}})
    with client.setup_kernel():  # a cell error raises CellExecutionError with the traceback
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        for index, cell in enumerate(notebook.cells):
            if rerun and cell.cell_type == "code" and rerun in cell.source:
                client.execute_cell(cell, index)  # the same kernel state: RESULTS already holds every system
    return notebook


def keep_executed(notebook: nbformat.NotebookNode, folder: Path, name: str) -> str:
    """Write the executed notebook and its HTML rendering (what a student sees) into ``folder``; return the HTML."""
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_notebook_node(notebook)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{name}.ipynb")
    (folder / f"{name}.html").write_text(html, encoding="utf-8")
    return html


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_notebooks_run_all_headless_in_quick_mode_and_again(lang, tmp_path, monkeypatch):
    """Both sessions, "Run all" on fresh copies after some answers were saved, on the synthetic ``tiny`` corpus.

    Session 2's evaluation and results cells then run a second time in the same kernel: one row per
    system. The executed notebooks are rendered to HTML (kept in ``$LABKIT_EXECUTED_DIR`` when set,
    for `make screenshots`).
    """
    kernel_name = kernel(tmp_path, monkeypatch)
    work, out, answers = tmp_path / "work", tmp_path / "out", tmp_path / "answers" / "answers.json"
    work.mkdir()
    for name, value in {"LABKIT_NOTEBOOK_QUICK": "1", "LABKIT_NOTEBOOK_PRESET": "tiny", "LABKIT_NOTEBOOK_MINUTES": "5",
                        "LABKIT_ANSWERS": str(answers), "LABKIT_NOTEBOOK_OUT": str(out)}.items():
        monkeypatch.setenv(name, value)
    for qid, value in SAVED.items():
        AnswerStore(answers).save_answer(qid, value)
    kept = Path(os.environ.get("LABKIT_EXECUTED_DIR") or tmp_path / "executed") / lang
    executed, html = {}, {}
    for session in SESSIONS:
        executed[session] = execute(NOTEBOOKS[session, lang], kernel_name, work, rerun="RESULTS[" if session == 2 else None)
        html[session] = keep_executed(executed[session], kept, f"session{session}")

    text1, text2 = "\n".join(outputs(executed[1], "text")), "\n".join(outputs(executed[2], "text"))
    assert "QUICK=True" in text1 and "| device:" in text1
    assert re.search(r"# labkit/models/resnet\.py, (lines|líneas) \d+-\d+", text1) and "the shortcut: F(x) + x" in text1
    assert (work / "data" / "synthetic-tiny" / "meta" / "veri_test.txt").is_file()  # the corpus went under the working folder
    assert sum("<audio" in page for page in outputs(executed[1], "text/html")) == 4  # two speakers x two sessions
    assert len(outputs(executed[2], "image/png")) >= 4  # DET, histogram, training curves, DET overlay shown inline

    for name in ("det_pretrained", "scores", "training", "det_systems"):
        for suffix in (".pdf", ".png"):
            assert (out / "figures" / f"{name}{suffix}").stat().st_size > 1000
    results = pd.read_csv(out / "results.csv")  # written again by the re-run of the results cell
    assert results["model"].tolist() == ["pretrained", "resemblyzer", "resnet10-w16", "resnet18-w32"]  # one row per system, not eight
    assert results["eer_%"].between(0, 100).all() and (results["trials"] == 40).all()
    size = results.set_index("model")["params_M"]
    assert size["resnet10-w16"] < size["resnet18-w32"] and size["resemblyzer"] > 1.4  # the larger model is larger; the real model, 1.42 M
    verdicts = [line for line in text2.splitlines() if re.match(r"(resemblyzer|pretrained|resnet10-w16) +(puntuación|score) ", line)]
    assert len(verdicts) == 3  # your own voice (here two corpus files): one verdict per model
    headers = {"es": ("EER (%)", "parámetros (M)"), "en": ("EER (%)", "parameters (M)")}[lang]
    assert all(header in text2 for header in headers) and "resnet18-w32" in text2  # the results table, readable headers
    for run in ("resnet10-w16", "resnet18-w32"):
        history = pd.read_csv(out / run / "history.csv")
        assert history["epoch"].max() == 2 and (out / run / "model.pt").is_file()  # two epochs of the tiny corpus

    content = AnswerStore(answers).read()
    assert content["info"]["language"] == lang
    assert set(content["evidence"]) == set(bank().evidence)  # tab_data, fig_scores, ..., fig_det_systems
    assert set(content["answers"]) == {q.id for q in bank().questions}  # every answer cell ran
    for qid, value in SAVED.items():  # "Run all" on a fresh copy kept every answer saved before
        assert content["answers"][qid]["value"] == value
    assert (out / "report" / "report-overleaf.zip").is_file() and (out / "report" / "report.docx").is_file()
    assert {"es": "figuras/tablas que faltan: ninguna", "en": "missing figures/tables: none"}[lang] in text2
    notebook_concepts.check_session1(executed[1], lang)  # the seed's concepts (issue 11)
    notebook_concepts.check_session2(executed[2], out)
    for session in SESSIONS:  # the HTML a student would see: every figure inline, no error
        assert html[session].count("data:image/png;base64") >= (2 if session == 1 else 4) and "Traceback" not in html[session]

    # the report of a quick-mode run says so, in the notebook's language, figures included
    if shutil.which("pdftotext") is None or not (out / "report" / "report.pdf").is_file():
        pytest.skip("no TeX or pdftotext here (`make tex`): the PDF report was not checked")
    pdf = out / "report" / "report.pdf"
    first_page, report = (" ".join(subprocess.run(["pdftotext", *pages, pdf, "-"], capture_output=True, text=True,
                                                  check=True).stdout.replace("’", "'").split()) for pages in (["-l", "1"], []))
    quick = bank().data_modes["quick"]
    assert quick["name"][lang] in first_page  # the data mode on the first page
    assert quick["test_set"][lang] in report and "VoxCeleb1" not in report
    assert {"es": "Tasa de falsa aceptación (%)", "en": "False acceptance rate (%)"}[lang] in report  # the DET figure's axis
