"""The two lab notebooks: their questions follow the bank, and they run headless end to end.

The slow test executes both notebooks with a real Jupyter kernel (this venv's Python) in quick
mode: the synthetic ``tiny`` corpus, 0.2 minutes of training per model, answers and outputs in a
temporary folder. It takes about a minute on a 2-core machine.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbclient
import nbformat
import pandas as pd
import pytest

from labkit.report.bank import bank
from labkit.report.store import AnswerStore

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = {1: REPO / "notebooks" / "session1.ipynb", 2: REPO / "notebooks" / "session2.ipynb"}
HELPERS = {"show", "train_system", "evaluate_run"}  # the only functions a notebook defines: glue, never library code


def cells(session: int) -> list[nbformat.NotebookNode]:
    return nbformat.read(NOTEBOOKS[session], as_version=4).cells


@pytest.mark.parametrize("session", [1, 2])
def test_every_question_of_the_session_has_its_text_and_an_answer_cell(session):
    notebook = cells(session)
    asked = [re.match(r'answer\("(\w+)"', c.source)[1] for c in notebook if c.cell_type == "code" and c.source.startswith("answer(")]
    assert asked == [q.id for q in bank().questions if q.session == session]
    for question in (q for q in bank().questions if q.session == session):
        index = next(i for i, c in enumerate(notebook) if c.cell_type == "code" and c.source.startswith(f'answer("{question.id}"'))
        above = notebook[index - 1]
        text = bank().fill(question.text["en"], "any", "en")  # before the mode is known: both data sets named
        assert above.cell_type == "markdown" and text in above.source, (
            f"{NOTEBOOKS[session].name}: the cell above answer({question.id!r}) must quote the bank's text "
            "(labkit/report/questions.yaml) word for word")
    assert notebook[-1 if session == 1 else -3].source == "progress()"


def test_setup_cells_are_the_same_in_both_notebooks():
    setup = [[c.source for c in cells(s) if c.cell_type == "code" and ("IN_COLAB =" in c.source or "QUICK =" in c.source)] for s in (1, 2)]
    assert len(setup[0]) == 2 and setup[0] == setup[1]
    install = [line for line in setup[0][0].splitlines() if '"pip", "install"' in line]
    assert len(install) == 1 and '"-e"' in install[0] and "torch" not in install[0]  # never reinstall Colab's torch


@pytest.mark.parametrize("session", [1, 2])
def test_notebooks_call_the_library_and_define_only_small_helpers(session):
    sources = "\n".join(c.source for c in cells(session) if c.cell_type == "code")
    assert not re.search(r"^\s*class ", sources, re.M)
    assert set(re.findall(r"^def (\w+)", sources, re.M)) <= HELPERS


def _kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for this interpreter (the venv with labkit), found through JUPYTER_PATH."""
    folder = tmp_path / "jupyter" / "kernels" / "labkit-test"
    folder.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "labkit test", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "labkit-test"


def _outputs(notebook: nbformat.NotebookNode, kind: str) -> list[str]:
    """Every output of ``kind`` ("text" for streams and text/plain, or a MIME type such as image/png)."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if kind == "text":
                found.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
            elif kind in output.get("data", {}):
                found.append(output["data"][kind])
    return found


@pytest.mark.slow
def test_both_notebooks_run_headless_in_quick_mode(tmp_path, monkeypatch):
    kernel = _kernel(tmp_path, monkeypatch)
    work, out, answers = tmp_path / "work", tmp_path / "out", tmp_path / "answers" / "answers.json"
    work.mkdir()
    for name, value in {"LABKIT_NOTEBOOK_QUICK": "1", "LABKIT_NOTEBOOK_PRESET": "tiny", "LABKIT_NOTEBOOK_MINUTES": "0.2",
                        "LABKIT_ANSWERS": str(answers), "LABKIT_NOTEBOOK_OUT": str(out)}.items():
        monkeypatch.setenv(name, value)
    executed = {}
    for session, path in NOTEBOOKS.items():
        notebook = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(notebook, timeout=600, kernel_name=kernel, resources={"metadata": {"path": str(work)}}).execute()
        executed[session] = notebook  # a cell error raises CellExecutionError with the traceback

    text1, text2 = "\n".join(_outputs(executed[1], "text")), "\n".join(_outputs(executed[2], "text"))
    assert "QUICK=True" in text1 and "| device:" in text1
    assert re.search(r"# labkit/models/resnet\.py, lines \d+-\d+", text1) and "the shortcut: F(x) + x" in text1
    assert (work / "data" / "synthetic-tiny" / "meta" / "veri_test.txt").is_file()  # the corpus went under the working folder
    assert sum("<audio" in html for html in _outputs(executed[1], "text/html")) == 4  # two speakers x two sessions
    assert len(_outputs(executed[2], "image/png")) >= 4  # DET, histogram, training curves, DET overlay shown inline

    for name in ("det_pretrained", "scores", "training", "det_systems"):
        for suffix in (".pdf", ".png"):
            assert (out / "figures" / f"{name}{suffix}").stat().st_size > 1000
    results = pd.read_csv(out / "results.csv")
    assert results["model"].tolist() == ["pretrained", "resnet10-w16", "resnet18-w32"]
    assert results["eer_%"].between(0, 100).all() and (results["trials"] == 40).all()
    assert results.loc[1, "params_M"] < results.loc[2, "params_M"]  # the larger model is larger
    assert "eer_%" in text2 and "resnet18-w32" in text2  # the results table is shown
    for run in ("resnet10-w16", "resnet18-w32"):
        assert len(pd.read_csv(out / run / "history.csv")) >= 1 and (out / run / "model.pt").is_file()

    content = AnswerStore(answers).read()
    assert set(content["evidence"]) == set(bank().evidence)  # tab_data, fig_scores, ..., fig_det_systems
    assert set(content["answers"]) == {q.id for q in bank().questions}  # every answer cell saved (empty)
    assert (out / "report" / "report-overleaf.zip").is_file() and (out / "report" / "report.docx").is_file()
    assert "missing figures/tables: none" in text2
