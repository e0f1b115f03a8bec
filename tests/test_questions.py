"""The question bank, the answer store and the notebook API: answers survive re-runs, kills, corruption and two writers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from labkit.cli import main
from labkit.errors import LabkitError
from labkit.report import questions
from labkit.report.bank import BANK_FILE, bank, is_answered, load_bank, parse_value, word_count
from labkit.report.grading import collect
from labkit.report.questions import progress
from labkit.report.store import AnswerStore, AnswersFileError, empty_answers

REPO = Path(__file__).resolve().parents[1]


def _child(script: str, *args: str) -> subprocess.Popen:
    """A Python subprocess running ``script`` with the repository on its path."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ----------------------------------------------------------------------------- bank
def test_bank_covers_the_seed_points_in_both_languages():
    b = bank()
    english = " ".join(q.text["en"] for q in b.questions).lower()
    for point in ["speaker verification", "false acceptance", "threshold", "eer", "x-vector", "cosine",
                  "residual", "voxceleb", "pretrained", "from scratch", "smaller model", "layers and filters"]:
        assert point in english, point
    spanish = " ".join(q.text["es"] for q in b.questions).lower()
    for point in ["verificación de locutor", "falsa aceptación", "umbral", "conexiones residuales", "desde cero"]:
        assert point in spanish, point
    assert {q.kind for q in b.questions} == {"text", "number", "choice"}
    assert {q.session for q in b.questions} == {1, 2}
    assert all(q.text["en"] != q.text["es"] or q.kind != "text" for q in b.questions)
    expected = {e for q in b.questions for e in q.evidence}
    assert expected == set(b.evidence)  # every figure/table is asked for by some question
    assert {e.kind for e in b.evidence.values()} == {"figure", "table"}


def test_bank_errors_name_the_file_and_entry(tmp_path):
    broken = tmp_path / "bank.yaml"
    broken.write_text("report: {}\nsessions: {}\nevidence: [\n", encoding="utf-8")
    with pytest.raises(LabkitError, match="bank.yaml: not valid YAML"):
        load_bank(broken)
    raw = BANK_FILE.read_text(encoding="utf-8").replace("evidence: [fig_scores]", "evidence: [fig_nope]")
    broken.write_text(raw, encoding="utf-8")
    with pytest.raises(LabkitError, match=r"bank.yaml: question s2_q1: unknown evidence \['fig_nope'\]"):
        load_bank(broken)


def test_texts_that_name_the_data_take_it_from_the_data_mode(tmp_path):
    b = bank()
    assert b.recorded_modes() == ["quick", "voxceleb"]
    text = b.question("s2_q2").text
    assert b.fill(text["en"], "quick", "en") == "EER (%) of the pretrained model on the test trials (synthetic corpus, test speakers)."
    assert b.fill(text["es"], "voxceleb", "es") == "EER (%) del modelo preentrenado sobre los trials de test (VoxCeleb1-O test)."
    assert "VoxCeleb" not in b.fill(text["en"], None, "en")  # never recorded: no data set is claimed
    named = [q.id for q in b.questions if "VoxCeleb" in q.text["en"] + q.text["es"]]
    assert named == ["s1_q2"]  # only the question about the dataset itself names it; the others use the mode
    assert not [e for e in b.evidence.values() if "VoxCeleb" in e.caption["en"] + e.caption["es"]]
    broken = tmp_path / "bank.yaml"
    broken.write_text(BANK_FILE.read_text(encoding="utf-8").replace("({test_set}).", "({test_sets}).", 1), encoding="utf-8")
    with pytest.raises(LabkitError, match=r"bank.yaml: evidence fig_det_pretrained \(en\): unknown placeholder 'test_sets'"):
        load_bank(broken)


def test_values_are_checked_against_the_question_kind():
    b = bank()
    assert parse_value(b.question("s2_q2"), "3,25") == 3.25  # Spanish decimal comma
    assert parse_value(b.question("s2_q2"), 4) == 4.0
    assert parse_value(b.question("s2_q2"), " ") is None
    with pytest.raises(LabkitError, match="s2_q2: expected a number"):
        parse_value(b.question("s2_q2"), "about three")
    assert parse_value(b.question("s1_q5"), "F(x) + x") == "f_plus_x"
    assert parse_value(b.question("s2_q6"), "el modelo más grande (más capas o filtros)") == "larger"
    with pytest.raises(LabkitError, match="s1_q5: expected one of"):
        parse_value(b.question("s1_q5"), "F(x) - x")
    with pytest.raises(KeyError, match="no question 's9_q9'"):
        b.question("s9_q9")
    assert word_count("El EER es 3,2 %; ¿por qué?") == 6


# ----------------------------------------------------------------------------- store
def test_answers_reload_and_overwrite(tmp_path):
    path = tmp_path / "answers.json"
    AnswerStore(path).save_answer("s1_q1", "primera versión")
    AnswerStore(path).save_answer("s1_q1", "segunda versión")
    AnswerStore(path).save_answer("s2_q2", "2.5")
    content = AnswerStore(path).read()
    assert content["answers"]["s1_q1"]["value"] == "segunda versión"
    assert content["answers"]["s2_q2"]["value"] == 2.5
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "labkit-answers"


def test_rotation_closes_a_gap_left_by_a_killed_writer(tmp_path):
    store = AnswerStore(tmp_path / "answers.json", backups=3)
    for i in range(4):
        store.save_answer("s1_q1", f"version {i}")  # answers.json = 3, bak1 = 2, bak2 = 1, bak3 = 0
    store.backup_path(1).replace(store.backup_path(2))  # killed between "bak1 -> bak2" and writing the new bak1
    store.save_answer("s1_q1", "version 4")
    versions = [json.loads(store.backup_path(n).read_text())["answers"]["s1_q1"]["value"] for n in (1, 2, 3)]
    assert versions == ["version 3", "version 2", "version 0"]  # contiguous again, newest first


def test_an_empty_answer_cell_does_not_erase_a_saved_answer(tmp_path, capsys):
    """'Run all' on a fresh copy of the notebook runs every answer cell with its empty template."""
    questions.use_store(tmp_path / "answers.json")
    questions.answer("s1_q1", "my careful answer")
    questions.answer("s1_q1", """""")
    assert "kept the saved answer to s1_q1" in capsys.readouterr().out
    assert questions.store().read()["answers"]["s1_q1"]["value"] == "my careful answer"
    questions.answer("s2_q2", "")  # nothing saved yet: an empty answer is stored as such
    assert questions.store().read()["answers"]["s2_q2"]["value"] in ("", None)
    questions.answer("s1_q1", "", clear=True)
    assert not is_answered(questions.store().read()["answers"]["s1_q1"]["value"])


def test_backups_rotate_and_keep_previous_versions(tmp_path):
    store = AnswerStore(tmp_path / "answers.json", backups=3)
    for i in range(6):
        store.save_answer("s1_q1", f"version {i}")
    previous = [json.loads(store.backup_path(n).read_text())["answers"]["s1_q1"]["value"] for n in (1, 2, 3)]
    assert previous == ["version 4", "version 3", "version 2"]
    assert not store.backup_path(4).exists()


def test_corrupted_file_is_restored_from_backup_with_warning(tmp_path):
    store = AnswerStore(tmp_path / "answers.json")
    store.save_answer("s1_q1", "good answer")
    store.save_answer("s1_q4", "another good answer")
    store.path.write_bytes(store.path.read_bytes()[:25])  # a torn write
    with pytest.warns(UserWarning, match="not a valid answers file.*bak1"):
        assert store.read()["answers"]["s1_q1"]["value"] == "good answer"  # reading repairs nothing on disk
    with pytest.warns(UserWarning, match="restored the backup bak1|restored the backup answers.json.bak1"):
        store.save_answer("s1_q6", "third")
    content = json.loads(store.path.read_text(encoding="utf-8"))
    assert content["answers"]["s1_q1"]["value"] == "good answer" and content["answers"]["s1_q6"]["value"] == "third"
    assert "s1_q4" not in content["answers"]  # the newest backup predates it; the damaged file is kept:
    assert len(list(tmp_path.glob("answers.json.corrupt-*"))) == 1


def test_foreign_json_without_backup_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "answers.json"
    path.write_text('{"cells": []}', encoding="utf-8")
    with pytest.raises(AnswersFileError, match="answers.json: not a labkit answers file"):
        AnswerStore(path).read()


def test_missing_file_comes_back_from_backup(tmp_path):
    store = AnswerStore(tmp_path / "answers.json")
    store.save_answer("s1_q1", "one")
    store.save_answer("s1_q4", "two")
    store.path.unlink()
    with pytest.warns(UserWarning, match="is missing; using the backup answers.json.bak1"):
        assert set(store.read()["answers"]) == {"s1_q1"}
    with pytest.warns(UserWarning, match="is missing; restored"):
        store.save_answer("s1_q6", "three")
    assert set(store.read()["answers"]) == {"s1_q1", "s1_q6"}


_BURST = """
    import sys
    from labkit.report.store import AnswerStore
    store = AnswerStore(sys.argv[1])
    store.save_answer("s1_q1", "warm-up")
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        store.save_answer("s1_q2" if i % 2 else "s1_q4", f"save {i} " + "palabra " * (i % 500))
"""


@pytest.mark.slow
def test_sigkill_during_a_burst_of_saves_never_leaves_a_broken_file(tmp_path):
    path = tmp_path / "answers.json"
    rng = random.Random(0)
    for _ in range(12):
        child = _child(_BURST, str(path))
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait()
        content = json.loads(path.read_text(encoding="utf-8"))  # the file itself, without any repair
        assert content["format"] == "labkit-answers" and content["answers"]["s1_q1"]["value"] == "warm-up"
        for n in (1, 2, 3):
            if AnswerStore(path).backup_path(n).exists():
                json.loads(AnswerStore(path).backup_path(n).read_text(encoding="utf-8"))
    assert AnswerStore(path).read()["answers"]["s1_q2"]["value"].startswith("save ")
    AnswerStore(path).save_answer("s1_q6", "after the kills")  # removes the killed writers' temporary files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.json", "answers.json.bak1", "answers.json.bak2",
                                                          "answers.json.bak3", "answers.json.lock"]


_WRITER = """
    import sys, time
    from pathlib import Path
    from labkit.report.store import AnswerStore
    store, qid, tag, go = AnswerStore(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    for i in range(40):
        store.save_answer(qid, f"{tag} {i}")
"""


@pytest.mark.slow
def test_two_processes_saving_different_answers_keep_both(tmp_path):
    path, go = tmp_path / "answers.json", tmp_path / "go"
    writers = [_child(_WRITER, str(path), qid, tag, str(go)) for qid, tag in (("s1_q1", "A"), ("s1_q4", "B"))]
    for writer in writers:
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
    go.touch()
    for writer in writers:
        assert writer.wait(timeout=60) == 0, writer.stderr.read()
    answers = AnswerStore(path).read()["answers"]
    assert answers["s1_q1"]["value"] == "A 39" and answers["s1_q4"]["value"] == "B 39"


# ----------------------------------------------------------------------------- notebook API
def test_notebook_api_progress_and_evidence(tmp_path, capsys):
    questions.use_store(tmp_path / "drive" / "answers.json")
    questions.set_info(students=[("Ana García", "100456789")], language="es")
    questions.answer("s1_q1", "La verificación decide si dos voces son de la misma persona.")
    questions.answer("s2_q2", "3,2")
    questions.attach("tab_results", pd.DataFrame({"system": ["ResNet34"], "EER (%)": [float("nan")]}))
    questions.answer("s1_q2", """
""")  # an answer cell run before it was written
    questions.answer("s2_q4", "")
    out = capsys.readouterr().out
    assert "saved s1_q1: 11 words" in out and "saved s2_q2: 3.2" in out
    assert "s1_q2: not answered yet" in out and "s2_q4: not answered yet" in out and "None" not in out

    table = progress()
    out = capsys.readouterr().out
    assert f"2/{len(bank().questions)} questions answered" in out
    assert "missing answers: s1_q2, s1_q3" in out
    assert "tab_results" not in out and "fig_det_pretrained" in out
    assert table.set_index("id").loc["s1_q1", "words"] == 11
    assert table.set_index("id").loc["s2_q3", "missing_evidence"] == "fig_det_pretrained"

    stored = questions.store().read()
    assert stored["info"]["students"] == [{"name": "Ana García", "id": "100456789"}]
    assert stored["evidence"]["tab_results"]["rows"] == [["ResNet34", None]]  # NaN stored as JSON null
    with pytest.raises(KeyError, match="no evidence 'fig_nope'"):
        questions.attach("fig_nope", pd.DataFrame())


def test_attach_figure_copies_pdf_and_png_beside_the_answers(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    store = AnswerStore(tmp_path / "answers.json")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    store.attach("fig_det_pretrained", fig)
    plt.close(fig)
    files = store.read()["evidence"]["fig_det_pretrained"]["files"]
    assert sorted(files) == ["figures/fig_det_pretrained.pdf", "figures/fig_det_pretrained.png"]
    assert (tmp_path / files[0]).read_bytes()[:5] in (b"%PDF-", b"\x89PNG\r")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "det.png").write_bytes((tmp_path / "figures" / "fig_det_pretrained.png").read_bytes())
    store.attach("fig_scores", tmp_path / "elsewhere" / "det.pdf")  # only the PNG exists: it is taken
    assert store.read()["evidence"]["fig_scores"]["files"] == ["figures/fig_scores.png"]
    with pytest.raises(FileNotFoundError, match="nothing.pdf: no such figure"):
        store.attach("fig_training", tmp_path / "nothing.pdf")


def test_attach_refuses_a_figure_for_a_table_and_a_table_for_a_figure(tmp_path):
    store = AnswerStore(tmp_path / "answers.json")
    (tmp_path / "det.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(LabkitError, match=r"tab_results is a table: attach a pandas DataFrame, got .*det.png"):
        store.attach("tab_results", tmp_path / "det.png")
    with pytest.raises(LabkitError, match="fig_scores is a figure: attach a matplotlib Figure or a .pdf/.png/.jpg path, "
                                         "got a DataFrame"):
        store.attach("fig_scores", pd.DataFrame({"EER": [1.0]}))
    assert store.read()["evidence"] == {} and not (tmp_path / "figures").exists()


def test_default_store_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_ANSWERS", str(tmp_path / "mine.json"))
    assert questions.default_store_path() == tmp_path / "mine.json"
    monkeypatch.delenv("LABKIT_ANSWERS")
    monkeypatch.chdir(tmp_path)
    expected = questions.DRIVE_DIR / "labkit" if questions.DRIVE_DIR.is_dir() else tmp_path / "answers"
    assert questions.default_store_path() == expected / "answers.json"


def _on_colab(tmp_path: Path, monkeypatch) -> Path:
    """A Colab-like layout under ``tmp_path`` (the VM disk) with Drive not mounted yet; returns MyDrive."""
    monkeypatch.delenv("LABKIT_ANSWERS", raising=False)
    monkeypatch.setattr(questions, "COLAB_DIR", tmp_path)
    monkeypatch.setattr(questions, "DRIVE_DIR", tmp_path / "drive" / "MyDrive")
    monkeypatch.setattr(questions, "_store", None)
    monkeypatch.chdir(tmp_path)
    return questions.DRIVE_DIR


def test_answers_saved_before_drive_is_mounted_move_to_drive(tmp_path, monkeypatch, capsys):
    drive = _on_colab(tmp_path, monkeypatch)
    (tmp_path / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.warns(UserWarning, match="Google Drive is not mounted: .*answers.json is on this Colab VM's disk"):
        questions.answer("s1_q1", "antes de montar Drive")
    questions.attach("fig_scores", tmp_path / "plot.png")
    local = tmp_path / "answers" / "answers.json"
    assert set(AnswerStore(local).read()["answers"]) == {"s1_q1"}

    drive.mkdir(parents=True)  # drive.mount("/content/drive")
    with pytest.warns(UserWarning, match=r"now .*MyDrive/labkit/answers.json: merged s1_q1, fig_scores from .*"
                                         r"answers/answers.json"):
        questions.answer("s1_q4", "después de montarlo")
    on_drive = AnswerStore(drive / "labkit" / "answers.json").read()
    assert on_drive["answers"]["s1_q1"]["value"] == "antes de montar Drive"
    assert on_drive["answers"]["s1_q4"]["value"] == "después de montarlo"
    assert on_drive["evidence"]["fig_scores"]["files"] == ["figures/fig_scores.png"]
    assert (drive / "labkit" / "figures" / "fig_scores.png").read_bytes() == (tmp_path / "plot.png").read_bytes()
    assert set(AnswerStore(local).read()["answers"]) == {"s1_q1"}  # the old file is kept as it was


def test_merge_keeps_the_newer_entry_of_each_answer(tmp_path):
    def answers_file(path: Path, answers: dict[str, tuple[str, str]], students: list) -> AnswerStore:
        content = empty_answers()
        content["answers"] = {qid: {"value": value, "saved": saved} for qid, (value, saved) in answers.items()}
        content["info"]["students"] = students
        path.write_text(json.dumps(content), encoding="utf-8")
        return AnswerStore(path)

    ana = [{"name": "Ana", "id": "1001"}]
    vm = answers_file(tmp_path / "vm.json", {"s1_q1": ("old", "2026-04-01T10:00:00+00:00"),
                                             "s1_q2": ("newer on the VM", "2026-04-02T10:00:00+00:00")}, ana)
    drive = answers_file(tmp_path / "drive.json", {"s1_q1": ("newer on Drive", "2026-04-01T11:00:00+00:00"),
                                                   "s1_q2": ("older", "2026-04-01T09:00:00+00:00")}, [])
    assert drive.merge(vm) == ["s1_q2"]
    merged = drive.read()
    assert {qid: entry["value"] for qid, entry in merged["answers"].items()} == {"s1_q1": "newer on Drive",
                                                                                 "s1_q2": "newer on the VM"}
    assert merged["info"]["students"] == ana  # the Drive file had none


# ----------------------------------------------------------------------------- instructor
def test_collect_counts_words_and_missing_answers(tmp_path, capsys):
    first, second = AnswerStore(tmp_path / "a" / "answers.json"), AnswerStore(tmp_path / "b" / "answers.json")
    first.set_info(students=[("Ana", "1001"), ("Luis", "1002")])
    first.save_answer("s1_q1", "uno dos tres")
    first.save_answer("s2_q6", "larger")
    second.save_answer("s1_q1", "")
    table, skipped = collect([first.path, second.path])
    assert skipped == []
    assert list(table["answered"]) == [2, 0]
    assert list(table["s1_q1_words"]) == [3, 0]
    assert table.loc[0, "students"] == "Ana; Luis" and table.loc[0, "ids"] == "1001; 1002"
    assert table.loc[1, "missing"].split() == [q.id for q in bank().questions]
    assert table.loc[0, "s2_q6"] == "larger"

    out = tmp_path / "grades.csv"
    assert main(["report", "collect", str(first.path), str(second.path), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert pd.read_csv(out, keep_default_na=False)["s1_q1"].tolist() == ["uno dos tres", ""]
    assert main(["report", "collect", str(tmp_path / "none.json"), "-o", str(out)]) == 1
    assert "none.json: no such answers file" in capsys.readouterr().err


# ----------------------------------------------------------------------------- hostile answers files
def test_a_lone_surrogate_is_repaired_when_answered_and_later_saves_work(tmp_path, capsys):
    questions.use_store(tmp_path / "answers.json")
    with pytest.warns(UserWarning, match=r"s1_q1: 1 character\(s\) that no UTF-8 file can hold .* replaced by U\+FFFD"):
        questions.answer("s1_q1", "fichero " + os.fsdecode(b"f\xff.wav"))  # an undecodable file name
    questions.answer("s1_q4", "la siguiente respuesta")
    answers = json.loads((tmp_path / "answers.json").read_text(encoding="utf-8"))["answers"]
    assert answers["s1_q1"]["value"] == "fichero f\ufffd.wav" and answers["s1_q4"]["value"] == "la siguiente respuesta"


def test_a_file_already_holding_a_lone_surrogate_does_not_break_saves(tmp_path):
    path = tmp_path / "answers.json"
    content = empty_answers()
    content["answers"]["s1_q1"] = {"value": "roto \ud800 aquí", "saved": "2026-04-01T10:00:00+00:00"}
    content["info"]["students"] = [{"name": "Ana \udcff", "id": "1"}]
    path.write_text(json.dumps(content), encoding="utf-8")  # JSON escapes: "\ud800"
    with pytest.warns(UserWarning, match="answers.json: 1 character"):
        AnswerStore(path).save_answer("s1_q4", "nueva")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["answers"]["s1_q1"]["value"] == "roto \ufffd aquí" and saved["answers"]["s1_q4"]["value"] == "nueva"
    assert saved["info"]["students"] == [{"name": "Ana \ufffd", "id": "1"}]


@pytest.mark.parametrize("answers, info, problem", [
    ({"s1_q1": "a bare string"}, {}, r"answers.s1_q1: expected \{\"value\": ..., \"saved\": time\}"),
    ({"s1_q1": {"value": 5, "saved": "2026-04-01T10:00:00+00:00"}}, {}, "answers.s1_q1: expected a text answer, got 5"),
    ({"s2_q6": {"value": "bigger", "saved": ""}}, {}, "answers.s2_q6: expected a choice answer"),
    ({}, {"students": "Ana"}, r"info.students: expected a list of \{\"name\": text, \"id\": text\}"),
    ({}, {"language": "fr"}, r"info.language: expected one of \('es', 'en'\), got 'fr'"),
])
def test_a_malformed_answers_file_is_an_error_naming_the_file_and_entry(tmp_path, capsys, answers, info, problem):
    path = tmp_path / "answers.json"
    content = empty_answers()
    content["answers"].update(answers)
    content["info"].update(info)
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(AnswersFileError, match="answers.json: " + problem):
        AnswerStore(path).read()
    assert main(["report", "build", str(path), "--out-dir", str(tmp_path / "report"), "--no-pdf"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "answers.json: " in error and "Traceback" not in error


def test_collect_skips_a_bad_file_with_a_warning_and_goes_on(tmp_path, capsys):
    good = AnswerStore(tmp_path / "good.json")
    good.save_answer("s1_q1", "uno dos")
    content = empty_answers()
    content["info"]["students"] = "Ana"  # the wrong shape
    (tmp_path / "bad.json").write_text(json.dumps(content), encoding="utf-8")
    (tmp_path / "broken.json").write_bytes(b'{"format": "labkit-ans')
    out = tmp_path / "grades.csv"
    files = [str(tmp_path / name) for name in ("bad.json", "broken.json", "good.json", "missing.json")]
    assert main(["report", "collect", *files, "-o", str(out)]) == 0
    error = capsys.readouterr().err
    assert "skipped " in error and "bad.json: info.students" in error and "broken.json: not a valid answers file" in error
    assert "missing.json: no such answers file" in error
    assert pd.read_csv(out, keep_default_na=False)["file"].tolist() == [str(good.path)]


def test_collect_csv_cells_cannot_run_as_spreadsheet_formulas(tmp_path):
    store = AnswerStore(tmp_path / "answers.json")
    store.set_info(students=[("=HYPERLINK(\"http://evil\",\"x\")", "+1")])
    store.save_answer("s1_q1", "=1+1")
    store.save_answer("s1_q4", "@SUM(A1)")
    store.save_answer("s1_q6", "- a list item, not a formula")
    store.save_answer("s1_q2", "línea 1\rlínea 2")  # a lone carriage return stays inside its cell
    store.save_answer("s2_q2", "-3")  # a number stays a number
    out = tmp_path / "grades.csv"
    assert main(["report", "collect", str(store.path), "-o", str(out)]) == 0
    row = pd.read_csv(out, keep_default_na=False).iloc[0]
    assert row["students"] == "'=HYPERLINK(\"http://evil\",\"x\")" and row["ids"] == "'+1"
    assert row["s1_q1"] == "'=1+1" and row["s1_q4"] == "'@SUM(A1)" and row["s1_q6"] == "'- a list item, not a formula"
    assert row["s1_q2"] == "línea 1\rlínea 2" and row["s2_q2"] == -3.0


def test_collect_refuses_to_overwrite_an_answers_file(tmp_path, capsys):
    store = AnswerStore(tmp_path / "F.json")
    store.save_answer("s1_q1", "no me borres")
    other = AnswerStore(tmp_path / "G.json")
    other.save_answer("s1_q1", "ni a mí")
    before = store.path.read_bytes(), other.path.read_bytes()
    assert main(["report", "collect", str(store.path), "-o", str(store.path)]) == 1
    assert main(["report", "collect", str(store.path), "-o", str(other.path)]) == 1  # another student's file
    assert "F.json: is an answers file; the CSV would overwrite it" in capsys.readouterr().err
    assert (store.path.read_bytes(), other.path.read_bytes()) == before


def test_answers_file_is_readable_by_the_group_as_the_umask_says(tmp_path):
    previous = os.umask(0o022)
    try:
        questions.use_store(tmp_path / "answers.json")
        questions.answer("s1_q1", "compartido con el profesor")
    finally:
        os.umask(previous)
    assert (tmp_path / "answers.json").stat().st_mode & 0o777 == 0o644  # was 0600: the instructor could not read it


def test_set_info_records_the_data_mode(tmp_path, capsys):
    questions.use_store(tmp_path / "answers.json")
    questions.set_info(language="en", data_mode="quick")
    assert questions.store().read()["info"] == {"students": [], "language": "en", "data_mode": "quick"}
    with pytest.raises(LabkitError, match=r"data_mode must be one of \['quick', 'voxceleb'\], got 'vox'"):
        questions.set_info(data_mode="vox")
    capsys.readouterr()
    table = progress()
    assert "(synthetic corpus, test speakers)" in table.set_index("id").loc["s2_q2", "question"]
    assert "Data: quick mode: labkit's synthetic corpus (not VoxCeleb)" in capsys.readouterr().out


def test_a_lock_that_is_never_released_is_an_error_and_saves_nothing(tmp_path, monkeypatch):
    from labkit.report import store as store_module

    store = AnswerStore(tmp_path / "answers.json")
    store.save_answer("s1_q1", "guardada")
    monkeypatch.setattr(store_module, "LOCK_SECONDS", 0.2)
    held = _child("""
        import sys, time
        from filelock import FileLock
        with FileLock(sys.argv[1]):
            print("locked", flush=True)
            time.sleep(30)
    """, str(tmp_path / "answers.json.lock"))
    try:
        assert held.stdout.readline().strip() == "locked", held.stderr.read()
        with pytest.raises(AnswersFileError, match=r"answers.json.lock: still locked after 0.2 s .* Nothing was saved"):
            store.save_answer("s1_q1", "otra")
    finally:
        held.kill()
        held.wait()
    assert store.read()["answers"]["s1_q1"]["value"] == "guardada"
    store.save_answer("s1_q1", "otra")  # the holder is gone: the OS released its lock
    assert store.read()["answers"]["s1_q1"]["value"] == "otra"
