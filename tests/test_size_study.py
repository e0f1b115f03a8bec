"""labkit.size_study: the study file, each system's recipe, and `labkit train` with validation trials."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labkit import models
from labkit.size_study import STUDY_FILE, curves_figure, load_study, prepare, study_row, study_table, system_config, validation_history

REPO = Path(__file__).resolve().parents[1]


def test_study_file_has_three_systems_or_more_in_every_mode():
    for mode in ("lab", "tiny", "real"):
        study = load_study(mode)
        assert len(study.systems) >= 3 and study.epochs >= 1 and study.val_speakers >= 2
    assert list(load_study("lab").systems) == ["resnet10-w16", "resnet18-w32", "resnet34-w32"]


def test_bad_study_files_say_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match=r"no mode 'huge' under 'modes'; expected one of \['lab', 'real', 'rehearsal', 'tiny'\]"):
        load_study("huge")
    bad = tmp_path / "study.yaml"
    bad.write_text(STUDY_FILE.read_text().replace("epochs: 12", "epochs: twelve"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"study.yaml: modes.lab.epochs must be a int, got 'twelve'"):
        load_study("lab", bad)


def test_every_mode_validates_and_holds_out_fewer_speakers_than_its_data_has():
    for mode in ("lab", "tiny", "real", "rehearsal"):
        study = load_study(mode)
        assert study.epochs > 0 and 0 < study.val_speakers
    assert load_study("real").val_speakers < 100  # tiny_few, the notebooks' subset, has 100 speakers in all
    assert load_study("rehearsal").train_speakers + load_study("rehearsal").val_speakers <= 90  # the CI mirror's subset


def test_every_system_gets_the_same_data_and_epochs_and_its_own_network(tiny_corpus, tmp_path):
    study = load_study("tiny")
    split = prepare(study, tiny_corpus, tmp_path / "split")
    configs = {name: system_config(study, name, tiny_corpus, split, tmp_path) for name in study.systems}
    assert {(c.data.train_list, c.data.val_trials, c.run.epochs, c.run.max_minutes, c.data.batch_size) for c in configs.values()} == {
        (str(split.train_list), str(split.val_trials), 2, 0.0, 8)}
    assert [(c.model.depth, c.model.width) for c in configs.values()] == [(10, 16), (18, 32), (34, 32)]
    assert configs["resnet18-w32"].run.out_dir == str(tmp_path / "resnet18-w32")


@pytest.mark.slow
def test_labkit_train_with_validation_trials_writes_val_eer_per_epoch_and_best(tiny_corpus, tmp_path):
    study = load_study("tiny")
    split = prepare(study, tiny_corpus, tmp_path / "split")
    config = system_config(study, "resnet10-w16", tiny_corpus, split, tmp_path)
    from labkit.config import save_config

    save_config(config, tmp_path / "config.yaml")
    done = subprocess.run([sys.executable, "-m", "labkit", "train", "--config", str(tmp_path / "config.yaml"),
                           "--set", "data.num_workers=0", "--set", "run.device=cpu"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = tmp_path / "resnet10-w16"
    val = validation_history(run_dir)
    assert val["epoch"].tolist() == [1, 2] and val["val_eer"].between(0, 1).all()
    best = models.load_extra(run_dir / "best.pt")
    assert best["val_eer"] == pytest.approx(val["val_eer"].min(), abs=1e-5) and best["epoch"] in (1, 2)
    assert "validation EER" in done.stderr + done.stdout

    from labkit.trials import read_trials

    row = study_row("resnet10-w16", run_dir, read_trials(tiny_corpus / "meta" / "veri_test.txt"), tiny_corpus, tmp_path / "eval", progress=False)
    table = study_table([row])
    assert table.columns.tolist()[:4] == ["model", "params_M", "GMACs_2s", "GFLOPs_2s"]
    assert table.loc[0, "GFLOPs_2s"] == pytest.approx(2 * table.loc[0, "GMACs_2s"]) and table.loc[0, "epochs"] == 2
    assert table.loc[0, "val_eer_%"] == pytest.approx(100 * val["val_eer"].iloc[-1], abs=1e-3)
    assert table.loc[0, "best_val_eer_%"] == pytest.approx(100 * best["val_eer"], abs=1e-3)
    assert 0 <= table.loc[0, "eer_%"] <= 100 and (tmp_path / "eval" / "scores.txt").is_file()
    fig = curves_figure({"resnet10-w16": run_dir})
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1]
    assert len(pd.read_csv(run_dir / "history.csv")) >= 3
