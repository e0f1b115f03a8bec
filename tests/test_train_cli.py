"""``labkit train`` as a user meets it: bad values, a machine without the device, data of another sample rate, and
resumes that do not fit the run. Each gives one line naming what was expected, and nothing already written changes."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.config import save_config
from test_train import tiny_config

REPO = Path(__file__).resolve().parents[1]


def run_train(capsys, *args: str) -> tuple[int, str, str]:
    """``labkit train ARGS`` in this process: (exit code, stdout, stderr)."""
    code = main(["train", "--no-progress", *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str) -> str:
    """The CLI's error line; fails the test on a traceback or a zero exit code."""
    assert code != 0 and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def config_file(tiny_corpus, tmp_path) -> Path:
    """A tiny run's config: one epoch of 4 steps."""
    return save_config(tiny_config(tiny_corpus, tmp_path / "run", "run.epochs=1"), tmp_path / "cfg.yaml")


@pytest.mark.parametrize("override, message", [
    ("data.batch_size=0", "data.batch_size: expected a number > 0, got 0"),
    ("run.checkpoint_every_steps=0", "run.checkpoint_every_steps: expected a number > 0, got 0"),
    ("run.log_every_steps=0", "run.log_every_steps: expected a number > 0, got 0"),
    ("data.utts_per_speaker=0", "data.utts_per_speaker: expected a number > 0, got 0"),
    ("data.crop_seconds=-1", "data.crop_seconds: expected a number > 0, got -1.0"),
    ("model.width=0", "model.width: expected a number > 0, got 0"),
    ("model.frontend.n_mels=0", "model.frontend.n_mels: expected a number > 0, got 0"),
    ("model.frontend.hop_length=0", "model.frontend.hop_length: expected a number > 0, got 0"),
    ("run.device=tpu", "run.device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got 'tpu'"),
    ("run.amp=fp8", "run.amp: expected one of ['auto', 'bf16', 'fp16', 'off'], got 'fp8'"),
    ("run.max_minutes=-5", "run.max_minutes: expected a number >= 0, got -5.0"),
    ("loss.kind=angleproto", "loss.kind=angleproto compares each speaker's utterances within a batch: it needs data.sampler=balanced"),
])
def test_a_value_that_cannot_train_is_one_line_and_writes_nothing(capsys, config_file, tmp_path, override, message):
    code, _, err = run_train(capsys, "--config", str(config_file), "--set", override)
    assert message in one_line_error(code, err)
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_one_line(capsys, config_file, tmp_path):
    code, _, err = run_train(capsys, "--config", str(config_file), "--set", "run.device=cuda")
    assert "device 'cuda': torch sees 0 CUDA GPU(s); use auto or cpu" in one_line_error(code, err)
    assert not (tmp_path / "run").exists()


def test_a_sample_rate_other_than_the_data_names_the_file(capsys, config_file, tmp_path, tiny_corpus):
    code, _, err = run_train(capsys, "--config", str(config_file), "--set", "model.frontend.sample_rate=8000")
    line = one_line_error(code, err)
    assert str(tiny_corpus / "wav") in line and "16000 Hz audio, but model.frontend.sample_rate is 8000" in line
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- resuming


@pytest.fixture(scope="module")
def finished(tiny_corpus, tmp_path_factory) -> Path:
    """A finished one-epoch run (4 steps, checkpoints at steps 2 and 4), trained once for the tests below."""
    folder = tmp_path_factory.mktemp("finished")
    config = save_config(tiny_config(tiny_corpus, folder / "run", "run.epochs=1", "run.keep_checkpoints=5"), folder / "cfg.yaml")
    assert main(["train", "--no-progress", "--config", str(config)]) == 0
    return folder / "run"


@pytest.fixture
def run_copy(finished, tmp_path) -> tuple[Path, Path]:
    """A copy of the finished run and its config file, asking for one more epoch."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    config = tiny_config(Path(finished_root(finished)), run_dir, "run.epochs=2", "run.keep_checkpoints=5")
    return run_dir, save_config(config, tmp_path / "cfg.yaml")


def finished_root(run_dir: Path) -> str:
    """The corpus the finished run trained on (from its config.yaml)."""
    import yaml

    return yaml.safe_load((run_dir / "config.yaml").read_text())["data"]["root"]


def snapshot(run_dir: Path) -> dict[str, bytes]:
    """Every file of a run directory, by relative path."""
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def history_steps(run_dir: Path) -> list[int]:
    with open(run_dir / "history.csv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f) if row["loss"]]


@pytest.mark.slow
@pytest.mark.parametrize("override, message", [
    ("model.width=16", "model.width=8 (now 16)"),
    ("model.arch=xvector", "model.arch='resnet' (now 'xvector')"),
])
def test_resuming_with_another_model_is_refused_before_anything_is_written(capsys, run_copy, override, message):
    run_dir, config = run_copy
    before = snapshot(run_dir)
    code, _, err = run_train(capsys, "--config", str(config), "--set", override, "--force-resume")
    line = one_line_error(code, err)
    assert message in line and "weights do not fit" in line and "step00000004.pt" in line
    assert snapshot(run_dir) == before  # config.yaml, history and checkpoints untouched


@pytest.mark.slow
@pytest.mark.parametrize("override, message", [
    ("data.batch_size=4", "data.batch_size=8 (now 4)"),
    ("run.seed=1", "run.seed=0 (now 1)"),
    ("optim.name=sgd", "optim.name='adam' (now 'sgd')"),
    ("loss.kind=am", "loss.kind='aam' (now 'am')"),  # the same weights: a margin of another kind from here on
])
def test_resuming_with_another_recipe_needs_force_resume(capsys, run_copy, override, message):
    run_dir, config = run_copy
    before = snapshot(run_dir)
    code, _, err = run_train(capsys, "--config", str(config), "--set", override)
    line = one_line_error(code, err)
    assert message in line and "--force-resume" in line
    assert snapshot(run_dir) == before
    code, out, _ = run_train(capsys, "--config", str(config), "--set", override, "--force-resume")
    assert code == 0 and f"forced, with new values: {message}" in out
    assert history_steps(run_dir)[:4] == [1, 2, 3, 4] and history_steps(run_dir) == sorted(set(history_steps(run_dir)))


@pytest.mark.slow
def test_a_smaller_batch_on_force_resume_continues_at_the_same_share_of_the_epoch(capsys, finished, tmp_path):
    """Stopped after 2 of 4 batches of 8 (half the epoch): with batches of 4, the epoch goes on at batch 4 of 8."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    (run_dir / "checkpoints" / "step00000004.pt").unlink()  # resume from step 2
    config = save_config(tiny_config(Path(finished_root(finished)), run_dir, "run.epochs=1", "data.batch_size=4"), tmp_path / "c.yaml")
    code, out, _ = run_train(capsys, "--config", str(config), "--force-resume")
    assert code == 0 and "(step 2, epoch 0, batch 4)" in out
    assert history_steps(run_dir) == [1, 2, 3, 4, 5, 6]  # 2 steps of 8, then the epoch's other half in 4 steps of 4


@pytest.mark.slow
def test_a_forced_resume_with_a_loss_of_other_weights_is_one_line(capsys, run_copy):
    run_dir, config = run_copy
    before = snapshot(run_dir)
    code, _, err = run_train(capsys, "--config", str(config), "--set", "loss.kind=softmax", "--force-resume")
    line = one_line_error(code, err)
    assert "step00000004.pt: does not fit the resnet and softmax loss of this config: missing keys [criterion.classifier.weight" in line
    assert snapshot(run_dir) == before


@pytest.mark.slow
def test_a_checkpoint_of_another_number_of_processes_needs_force_resume(capsys, finished, tmp_path):
    """Step 2 of a run on 2 processes saw 2 x 2 batches of 8: the whole epoch of 32 utterances for 1 process."""
    import torch

    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    (run_dir / "checkpoints" / "step00000004.pt").unlink()
    checkpoint = torch.load(run_dir / "checkpoints" / "step00000002.pt", weights_only=True)
    torch.save({**checkpoint, "world_size": 2}, run_dir / "checkpoints" / "step00000002.pt")
    config = save_config(tiny_config(Path(finished_root(finished)), run_dir, "run.epochs=1"), tmp_path / "c.yaml")
    before = snapshot(run_dir)
    code, _, err = run_train(capsys, "--config", str(config))
    assert "step00000002.pt was trained with 2 process(es) (now 1)" in one_line_error(code, err)
    assert snapshot(run_dir) == before
    code, out, _ = run_train(capsys, "--config", str(config), "--force-resume")
    assert code == 0 and "(step 2, epoch 0, batch 4); forced, with new values: 2 process(es) (now 1)" in out
    assert history_steps(run_dir) == [1, 2]  # the epoch was done: nothing left to train


@pytest.mark.slow
def test_resume_given_a_model_or_a_truncated_file_is_one_line(capsys, run_copy):
    run_dir, config = run_copy
    before = snapshot(run_dir)
    code, _, err = run_train(capsys, "--config", str(config), "--resume", str(run_dir / "model.pt"))
    assert "a saved model (model.pt / best.pt), not a training checkpoint" in one_line_error(code, err)
    truncated = run_dir.parent / "truncated.pt"
    truncated.write_bytes((run_dir / "checkpoints" / "step00000004.pt").read_bytes()[:5000])
    code, _, err = run_train(capsys, "--config", str(config), "--resume", str(truncated))
    assert f"{truncated}: cannot be read as a PyTorch checkpoint" in one_line_error(code, err)
    assert snapshot(run_dir) == before


@pytest.mark.slow
def test_when_no_checkpoint_is_readable_the_run_restarts_with_a_fresh_history(capsys, run_copy):
    run_dir, config = run_copy
    for checkpoint in (run_dir / "checkpoints").glob("step*.pt"):
        checkpoint.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="unreadable checkpoint"):
        code, _, _ = run_train(capsys, "--config", str(config))
    assert code == 0
    assert history_steps(run_dir) == list(range(1, 9))  # 2 epochs from step 1, no step twice


@pytest.mark.slow
def test_a_refused_resume_through_the_real_command_line(run_copy):
    run_dir, config = run_copy
    command = [sys.executable, "-m", "labkit", "train", "--config", str(config), "--no-progress", "--set", "data.batch_size=4"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "data.batch_size=8 (now 4)" in result.stderr and len(result.stderr.strip().splitlines()) == 1
