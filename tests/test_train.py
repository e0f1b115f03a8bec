"""labkit.train: schedule, sampler positions, checkpoints (atomic, fallback), SIGKILL + resume."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from labkit.config import DataConfig, ExperimentConfig, OptimConfig, apply_overrides, save_config
from labkit.train import (
    LivePlot,
    epoch_batches,
    learning_rate,
    load_latest_checkpoint,
    load_optimizer_state,
    optimizer_state_by_name,
    pick_amp_dtype,
    process_batches,
    rng_states,
    set_rng_states,
    train,
)

REPO = Path(__file__).resolve().parents[1]


def tiny_config(root: Path, out_dir: Path, *overrides: str) -> ExperimentConfig:
    """A very small ResNet on the tiny synthetic corpus: a few seconds per epoch on a CPU."""
    base = [f"data.root={root}", f"run.out_dir={out_dir}", "data.batch_size=8", "data.num_workers=0", "data.crop_seconds=0.5",
            "model.depth=10", "model.width=8", "model.embed_dim=32", "run.epochs=2", "run.log_every_steps=1",
            "run.checkpoint_every_steps=2", "run.device=cpu", "optim.warmup_epochs=0.5"]
    return apply_overrides(ExperimentConfig(), base + list(overrides))


def test_mixed_precision_only_on_cuda():
    cpu = torch.device("cpu")
    assert all(pick_amp_dtype(amp, cpu) is None for amp in ("auto", "bf16", "fp16", "off"))  # CPU: always float32


def read_history(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------- fast units


def test_learning_rate_warms_up_then_decays_to_final_lr():
    cfg = OptimConfig(lr=0.1, final_lr=0.001, schedule="cosine")
    assert learning_rate(cfg, 0, warmup_steps=10, progress=0.0) == pytest.approx(0.01)  # 1/10 of the way up
    assert learning_rate(cfg, 4, warmup_steps=10, progress=0.0) == pytest.approx(0.05)
    assert learning_rate(cfg, 9, warmup_steps=10, progress=0.0) == pytest.approx(0.1)
    assert learning_rate(cfg, 50, warmup_steps=10, progress=0.5) == pytest.approx(0.001 + 0.5 * 0.099)  # half-way down
    assert learning_rate(cfg, 99, warmup_steps=10, progress=1.0) == pytest.approx(0.001)
    assert learning_rate(cfg, 99, warmup_steps=10, progress=1.7) == pytest.approx(0.001)  # past the budget: the floor
    assert learning_rate(cfg, 9, warmup_steps=10, progress=0.5) == pytest.approx(0.001 + 0.5 * 0.099)  # time-limited run
    expo = OptimConfig(lr=0.1, final_lr=0.001, schedule="exponential")
    assert learning_rate(expo, 50, warmup_steps=0, progress=0.5) == pytest.approx(0.01)  # geometric mean of 0.1 and 0.001
    with pytest.raises(ValueError, match="schedule"):
        learning_rate(OptimConfig(schedule="step"), 5, warmup_steps=0, progress=0.5)


def test_epoch_batches_are_seeded_disjoint_across_ranks_and_drop_the_incomplete_batch():
    one = epoch_batches(103, 10, epoch=3, seed=7)
    assert one == epoch_batches(103, 10, epoch=3, seed=7)  # a resumed run sees the same order
    assert one != epoch_batches(103, 10, epoch=4, seed=7)
    assert len(one) == 10 and all(len(b) == 10 for b in one)
    assert len({i for b in one for i in b}) == 100
    ranks = [epoch_batches(103, 10, epoch=3, seed=7, rank=r, world_size=2) for r in range(2)]
    assert [len(r) for r in ranks] == [5, 5]
    seen = [{i for b in r for i in b} for r in ranks]
    assert not seen[0] & seen[1]


def test_balanced_batches_are_dealt_to_the_processes_in_equal_numbers():
    labels = np.repeat(np.arange(10), 6)  # 10 speakers x 6 utterances
    cfg = DataConfig(sampler="balanced", batch_size=8, utts_per_speaker=2)
    ranks = [process_batches(cfg, labels, epoch=0, seed=0, rank=r, world_size=2) for r in range(2)]
    assert [len(r) for r in ranks] == [3, 3]  # 60 // 8 = 7 batches, 6 of them dealt
    for batch in ranks[0] + ranks[1]:
        assert sorted(np.bincount(labels[batch])[np.bincount(labels[batch]) > 0]) == [2, 2, 2, 2]  # 4 speakers x 2
    assert ranks[0] != ranks[1]
    with pytest.raises(ValueError, match="sampler"):
        process_batches(DataConfig(sampler="random"), labels, 0, 0)


def test_rng_states_survive_a_weights_only_round_trip(tmp_path):
    torch.manual_seed(1)
    np.random.seed(1)
    path = tmp_path / "rng.pt"
    torch.save(rng_states(), path)
    expected = (torch.rand(3), np.random.rand(3), __import__("random").random())
    set_rng_states(torch.load(path, weights_only=True))
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert __import__("random").random() == expected[2]


def test_optimizer_state_is_matched_by_parameter_name_not_by_position():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    optimizer = torch.optim.AdamW(list(net.parameters()), lr=0.1)
    net(torch.randn(5, 3)).sum().backward()
    optimizer.step()
    saved = optimizer_state_by_name(optimizer, net)
    assert sorted(saved["state"]) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    reordered = torch.optim.AdamW(list(net.parameters())[::-1], lr=0.1)  # the same parameters, listed the other way round
    load_optimizer_state(reordered, net, saved, Path("ckpt.pt"))
    for param in net.parameters():
        assert torch.equal(reordered.state[param]["exp_avg"], optimizer.state[param]["exp_avg"])
    bigger = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2), torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="ckpt.pt: the optimiser state names other parameters"):
        load_optimizer_state(torch.optim.AdamW(bigger.parameters(), lr=0.1), bigger, saved, Path("ckpt.pt"))


# --------------------------------------------------------------------------- training runs


@pytest.fixture(scope="module")
def finished_run(tiny_corpus, tmp_path_factory) -> Path:
    """Two epochs of a tiny model, trained once for the tests below."""
    return train(tiny_config(tiny_corpus, tmp_path_factory.mktemp("run") / "tiny"), progress=False)


@pytest.mark.slow
def test_training_writes_config_history_checkpoints_and_a_loadable_model(finished_run, tiny_corpus):
    from labkit import models

    history = read_history(finished_run)
    steps = [int(r["step"]) for r in history if r["loss"]]
    assert steps == list(range(1, steps[-1] + 1))  # every step logged, in order
    assert float(history[-1]["epoch"]) == pytest.approx(2.0)
    lrs = [float(r["lr"]) for r in history if r["lr"]]
    assert max(lrs) == pytest.approx(1e-3, rel=0.05) and lrs[-1] < 1e-4  # warm-up to lr, decays to final_lr
    assert (finished_run / "config.yaml").read_text().count(str(tiny_corpus)) == 1
    assert len(list((finished_run / "checkpoints").glob("step*.pt"))) == 2  # keep_checkpoints
    model = models.load(finished_run / "model.pt")
    assert model(torch.zeros(1, 16000)).shape == (1, 32)


@pytest.mark.slow
def test_truncated_last_checkpoint_falls_back_to_the_previous_one_with_a_warning(finished_run, tmp_path):
    import shutil

    run_dir = tmp_path / "copy"
    shutil.copytree(finished_run, run_dir)
    newest, previous = sorted((run_dir / "checkpoints").glob("step*.pt"), reverse=True)
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # a half-written file
    with pytest.warns(UserWarning, match="unreadable checkpoint"):
        checkpoint, path = load_latest_checkpoint(run_dir)
    assert path == previous
    assert checkpoint["state"]["step"] == int(previous.stem[4:])
    # the broken file is set aside, so that pruning can never keep it instead of a good checkpoint
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [previous.name, newest.name + ".corrupt"]


@pytest.mark.slow
def test_validation_eer_each_epoch_and_the_best_checkpoint(tiny_corpus, tmp_path):
    """With data.val_trials, every epoch ends with a validation EER, and best.pt holds the best epoch's model."""
    from labkit import models

    val_trials = tiny_corpus / "meta" / "veri_test.txt"  # the tiny corpus's held-out test speakers
    run_dir = train(tiny_config(tiny_corpus, tmp_path / "val", f"data.val_trials={val_trials}"), progress=False)
    val_rows = [r for r in read_history(run_dir) if r["val_eer"]]
    assert [float(r["epoch"]) for r in val_rows] == [1.0, 2.0]
    eers = [float(r["val_eer"]) for r in val_rows]
    assert all(0.0 <= value <= 1.0 for value in eers)
    best = models.load_extra(run_dir / "best.pt")
    assert best["val_eer"] == pytest.approx(min(eers), abs=1e-5) and best["epoch"] == 1 + eers.index(min(eers))


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_finishes_with_a_continuous_history(tiny_corpus, tmp_path):
    run_dir = tmp_path / "killed"
    cfg = tiny_config(tiny_corpus, run_dir, "data.batch_size=4", "run.epochs=3", "run.checkpoint_every_steps=3", "run.keep_checkpoints=50")
    config = save_config(cfg, tmp_path / "cfg.yaml")
    command = [sys.executable, "-m", "labkit", "train", "--config", str(config), "--no-progress"]
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.time() + 900  # a ceiling for a hang, not a verdict: a busy machine only takes longer
    while time.time() < deadline and not (run_dir / "checkpoints" / "step00000003.pt").exists():
        assert process.poll() is None, (tmp_path / "stderr.txt").read_text()
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)  # no chance to clean up: as when Colab disconnects
    process.wait()
    killed_at = max(int(r["step"]) for r in read_history(run_dir))
    checkpoints = sorted((run_dir / "checkpoints").glob("step*.pt"))
    state = torch.load(checkpoints[-1], weights_only=True)["state"]
    assert state["batch"] > 0, "the kill should land mid-epoch"

    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {checkpoints[-1]}" in resumed.stdout
    history = read_history(run_dir)
    steps = [int(r["step"]) for r in history if r["loss"]]
    per_epoch = round(steps[-1] / 3)
    assert steps == list(range(1, 3 * per_epoch + 1))  # no gap, no duplicate: continues where it stopped
    assert steps[-1] > killed_at >= state["step"]
    elapsed = [float(r["elapsed_s"]) for r in history if r["loss"]]
    assert elapsed == sorted(elapsed)  # the training clock continues too
    assert (run_dir / "model.pt").exists()


@pytest.mark.slow
def test_time_budget_stops_after_saving_and_a_rerun_continues(tiny_corpus, tmp_path):
    run_dir = tmp_path / "budget"
    cfg = tiny_config(tiny_corpus, run_dir, "run.epochs=100000", "run.max_minutes=0.05")  # the budget stops it, on any machine
    train(cfg, progress=False)
    checkpoint, _ = load_latest_checkpoint(run_dir)
    first_stop = checkpoint["state"]["step"]
    assert first_stop > 0 and checkpoint["state"]["elapsed_s"] >= 3.0
    assert (run_dir / "model.pt").exists()
    train(apply_overrides(cfg, ["run.max_minutes=0.1"]), progress=False)  # a larger budget picks up from there
    checkpoint, _ = load_latest_checkpoint(run_dir)
    assert checkpoint["state"]["step"] > first_stop
    assert checkpoint["state"]["elapsed_s"] >= 6.0
    # the processes check the clock at every log step (here every step): each run stops at the first one past its budget
    elapsed = [float(r["elapsed_s"]) for r in read_history(run_dir) if r["loss"]]
    assert elapsed[first_stop - 1] >= 3.0 and all(value <= 3.0 for value in elapsed[: first_stop - 1])
    assert elapsed[-1] >= 6.0 and all(value <= 6.0 for value in elapsed[first_stop:-1])


@pytest.mark.slow
def test_resnet10_width16_trained_with_the_demo_recipe_reaches_10_percent_eer(lab_corpus, tmp_path):
    """Issue 5's quality target with the demo's own recipe (configs/demo.yaml: ResNet10, width 16, a fixed number of
    epochs, 4.8 minutes on the idle 2-core machine, 3.85 % EER). A fixed amount of training: a busy machine makes it slower, never
    worse (the time-to-quality figure is benchmarks/bench_time_to_quality.py's)."""
    from labkit import models
    from labkit.config import load_config
    from labkit.evaluate import evaluate
    from labkit.trials import read_trials

    cfg = apply_overrides(load_config(REPO / "configs" / "demo.yaml"), [f"data.root={lab_corpus}", f"run.out_dir={tmp_path / 'scratch'}"])
    assert (cfg.model.depth, cfg.model.width) == (10, 16) and cfg.run.max_minutes == 0
    run_dir = train(cfg, progress=False)
    trials = read_trials(lab_corpus / "meta" / "veri_test.txt")
    row = evaluate(models.load(run_dir / "model.pt"), trials, lab_corpus, name="from scratch", progress=False)
    print(f"ResNet10-w16, {cfg.run.epochs} epochs from scratch: EER {row['eer_%']:.2f} %")
    assert row["eer_%"] <= 10.0


@pytest.mark.slow
def test_angular_prototypical_trains_on_balanced_batches_and_lowers_its_loss(tiny_corpus, tmp_path):
    cfg = tiny_config(tiny_corpus, tmp_path / "angleproto", "loss.kind=angleproto", "data.sampler=balanced", "data.utts_per_speaker=2",
                      "data.batch_size=16", "data.crop_seconds=1.0", "run.epochs=24", "run.checkpoint_every_steps=1000", "optim.lr=3e-3")
    history = [r for r in read_history(train(cfg, progress=False)) if r["loss"]]
    losses, accuracies = [float(r["loss"]) for r in history], [float(r["acc"]) for r in history]
    assert len(losses) == 24 * 2  # 32 utterances: 2 batches of 8 speakers x 2 utterances an epoch
    first, last = np.mean(losses[:16]), np.mean(losses[-16:])
    print(f"angleproto loss: first 16 steps {first:.3f}, last 16 {last:.3f}")
    assert first < np.log(8) + 0.1  # 8 speakers a batch: chance is ln 8
    assert last < 0.5 * first
    print(f"angleproto accuracy: first 4 steps {np.mean(accuracies[:4]):.3f}, last 16 {np.mean(accuracies[-16:]):.3f}")
    # over the batch's 8 speakers (chance 1/8; an untrained network already tells some of the tiny corpus's voices apart)
    assert np.mean(accuracies[-16:]) > max(0.8, np.mean(accuracies[:4]) + 0.2)


@pytest.mark.slow
def test_a_time_budget_run_shows_the_time_left(tiny_corpus, tmp_path, capsys):
    cfg = tiny_config(tiny_corpus, tmp_path / "eta", "run.epochs=1000", "run.max_minutes=0.05", "run.checkpoint_every_steps=1000")
    train(cfg, progress=True)
    bar = capsys.readouterr().err
    assert "train eta:   0%|          | 0/3 s, ? left" in bar  # counts the 3 s of the budget
    assert re.search(r"train eta: 100%\|█+\| 3/3 s, 00:00 left, .*step=\d+", bar), bar[-500:]  # spent: nothing left


def test_live_plot_redraws_at_most_once_per_hundred_redraw_times_and_at_the_end(capsys):
    plot = LivePlot(max_share=0.01)
    rows = [{"step": step, "epoch": step / 10, "loss": 5.0 / step, "acc": step / 40} for step in range(1, 41)]
    for row in rows:  # arriving much faster than 100 redraw times: only the first row redraws
        plot(row)
    assert capsys.readouterr().out.count("Figure") == 1
    plot.finish()  # the rows that arrived since are drawn once at the end
    assert capsys.readouterr().out.count("Figure") == 1
    plot.finish()
    assert capsys.readouterr().out.count("Figure") == 0


def test_live_plot_draws_zero_accuracy_and_no_empty_validation_panel():
    plot = LivePlot()
    for step, acc in ((4, "0.0312"), (8, "0.0"), (12, 0.0)):  # history rows hold strings or numbers
        plot({"step": step, "epoch": step / 8, "loss": 9.0, "acc": acc})
    loss, accuracy = plot.figure().axes  # no validation EER logged: two panels, not an empty third one
    assert accuracy.lines[0].get_ydata().tolist() == [0.0312, 0.0, 0.0]  # 0.0 is an accuracy, not a missing value
    plot({"step": 12, "epoch": 1.5, "val_eer": 0.0})  # a perfect validation EER is drawn too, in %
    plot({"step": 24, "epoch": 3.0, "val_eer": "0.125"})
    validation = plot.figure().axes[2]
    assert validation.lines[0].get_ydata().tolist() == [0.0, 12.5] and validation.get_title() == "validation EER (%)"
