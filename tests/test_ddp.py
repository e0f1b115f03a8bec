"""DDP: ``torchrun --nproc_per_node=2 -m labkit train`` with gloo on CPU."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.config import save_config
from labkit.train import epoch_batches, load_latest_checkpoint
from test_train import tiny_config

REPO = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.mark.slow
def test_two_gloo_processes_train_on_disjoint_halves_and_only_rank0_writes(tiny_corpus, tmp_path):
    run_dir = tmp_path / "ddp"
    cfg = tiny_config(tiny_corpus, run_dir, "data.batch_size=4", "run.epochs=2", "run.checkpoint_every_steps=1000")
    config = save_config(cfg, tmp_path / "cfg.yaml")
    command = [str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "labkit", "train", "--config", str(config), "--no-progress"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]

    n_train = sum(1 for _ in open(tiny_corpus / "meta" / "train_list.txt"))
    per_epoch = len(epoch_batches(n_train, 4, epoch=0, seed=0, rank=0, world_size=2))  # each process: half the data
    with open(run_dir / "history.csv", newline="") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f) if row["loss"]]
    assert steps == list(range(1, 2 * per_epoch + 1))  # one history (rank 0), not two interleaved
    checkpoint, path = load_latest_checkpoint(run_dir)
    assert checkpoint["world_size"] == 2 and checkpoint["state"]["step"] == 2 * per_epoch
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoints", "config.yaml", "history.csv", "model.pt"]
    assert not list(run_dir.rglob("*.tmp*"))


@pytest.mark.slow
def test_two_processes_stop_together_on_the_time_budget_at_a_log_step(tiny_corpus, tmp_path):
    """The processes agree on the time spent at each log step (one all-reduce there, none on other steps) and stop together."""
    run_dir = tmp_path / "budget"
    cfg = tiny_config(tiny_corpus, run_dir, "data.batch_size=4", "run.epochs=1000", "run.max_minutes=0.05",
                      "run.log_every_steps=3", "run.checkpoint_every_steps=1000")
    config = save_config(cfg, tmp_path / "cfg.yaml")
    command = [str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "labkit", "train", "--config", str(config), "--no-progress"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("stopped on the time budget (0.05 min)") == 1  # rank 0 only

    checkpoint, _ = load_latest_checkpoint(run_dir)
    stopped_at = checkpoint["state"]["step"]
    assert checkpoint["world_size"] == 2 and checkpoint["state"]["elapsed_s"] >= 3.0
    n_train = sum(1 for _ in open(tiny_corpus / "meta" / "train_list.txt"))
    per_epoch = len(epoch_batches(n_train, 4, epoch=0, seed=0, rank=0, world_size=2))
    assert stopped_at % 3 == 0 or stopped_at % per_epoch == 0  # a log step: the only steps where the clock is read
    with open(run_dir / "history.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["loss"]]
    assert int(rows[-1]["step"]) == stopped_at and float(rows[-1]["elapsed_s"]) >= 3.0
    assert all(float(row["elapsed_s"]) <= 3.0 for row in rows[:-1])  # no earlier log step had spent the budget
