"""The training loop: a speaker-embedding loss on random crops, resumable, single GPU/CPU or DDP.

Read it top to bottom: ``train(cfg)`` checks the config, the device and the data, sets up the
run (model, loss, optimiser), checks the newest readable checkpoint in the run directory against
the config and resumes from it, and only then writes anything; then it loops over epochs and
steps. Everything a restart needs (weights, optimiser state by parameter name, loss-scaler,
sampler position, RNG states, time spent) is in each checkpoint, written atomically. Under
``torchrun --nproc_per_node=N -m labkit train ...`` it runs DistributedDataParallel (NCCL for
GPU tensors, gloo for CPU ones); every process trains on its own share of each epoch, the
processes agree on the time spent at every log step (no collective on the other steps), and
only rank 0 writes.

Run directory::

    config.yaml            the resolved configuration of this run
    history.csv            one row per logged step (loss, acc, lr, samples/s) and per epoch (val_eer)
    checkpoints/stepNNNNNNNN.pt   full training state, the newest ``run.keep_checkpoints`` kept
    best.pt                the model with the lowest validation EER (when ``data.val_trials`` is set)
    model.pt               the model at the end of the run (``labkit.models.load`` reads both)
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import pickle
import random
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from labkit import models
from labkit.config import DataConfig, ExperimentConfig, OptimConfig, save_config, to_dict, validate
from labkit.data.dataset import TrainCrops, balanced_batches, build_augment, pcm_to_float
from labkit.data.voxceleb import read_train_list
from labkit.embed import pick_device
from labkit.errors import LabkitError
from labkit.files import atomic_path
from labkit.models.checkpoints import fit_state_dict, read_file
from labkit.models.losses import SpeakerLoss, build_loss

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # imported by LivePlot only when it draws

GradScaler = getattr(torch.amp, "GradScaler", None) or (lambda device, enabled: torch.cuda.amp.GradScaler(enabled=enabled))  # torch < 2.3

HISTORY_FIELDS = ["step", "epoch", "loss", "acc", "lr", "samples_per_s", "elapsed_s", "val_eer"]
# Config keys that may change when a run resumes: where things are, how long to go on, how often to save.
# Any other change (batch size, seed, loss, optimiser, ...) needs run.force_resume; the model's never can.
RESUMABLE_CHANGES = {
    "data.root", "data.train_list", "data.trials", "data.val_trials", "data.num_workers", "data.max_eval_seconds",
    "data.packed", "data.noise_dir", "data.rir_dir", "data.eval_batch_size", "run.out_dir", "run.epochs",
    "run.max_minutes", "run.device", "run.amp", "run.checkpoint_every_steps", "run.log_every_steps",
    "run.keep_checkpoints", "run.force_resume",
}


class TrainingError(LabkitError, ValueError):
    """A run that cannot start as configured: no such device, data that do not fit, a checkpoint of another run."""


class TrainingNet(nn.Module):
    """The embedding model plus its training-only loss, as one module for DDP: (wav, labels) -> (loss, accuracy)."""

    def __init__(self, model: nn.Module, criterion: SpeakerLoss) -> None:
        super().__init__()
        self.model, self.criterion = model, criterion

    def forward(self, wav: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.criterion(self.model(wav), labels)


# ----------------------------------------------------------------------------- setup helpers


def pick_amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """Mixed precision only on CUDA: bf16 where the GPU has it (Ampere+), else fp16 (T4)."""
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "auto":  # bf16 needs compute capability 8.0 (Ampere); a T4 (7.5) only emulates it, slowly
        return torch.bfloat16 if torch.cuda.get_device_capability(device)[0] >= 8 else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def check_sample_rate(path: str, expected: int) -> None:
    """The model's front-end expects ``expected`` Hz: the training audio must have that rate (checked on one file)."""
    try:
        rate = sf.info(path).samplerate
    except (RuntimeError, OSError) as error:  # soundfile raises LibsndfileError (a RuntimeError) on non-audio
        raise TrainingError(f"{path}: cannot be read as audio: {error}") from error
    if rate != expected:
        raise TrainingError(f"{path}: {rate} Hz audio, but model.frontend.sample_rate is {expected}; resample the data or set the rate")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_optimizer(cfg: OptimConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """SGD (with Nesterov momentum) or Adam (decoupled weight decay: AdamW)."""
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0, weight_decay=cfg.weight_decay)
    if cfg.name == "adam":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"optim.name: expected 'sgd' or 'adam', got {cfg.name!r}")


def learning_rate(cfg: OptimConfig, step: int, warmup_steps: int, progress: float) -> float:
    """Cosine or exponential decay from ``lr`` to ``final_lr``, times a linear warm-up over the first steps.

    ``progress`` runs from 0 to 1 over the whole run (steps done / all steps, or time spent /
    time budget, whichever is further along), so a time-limited run still ends at ``final_lr``.
    """
    progress = min(1.0, progress)
    if cfg.schedule == "cosine":
        lr = cfg.final_lr + 0.5 * (cfg.lr - cfg.final_lr) * (1.0 + math.cos(math.pi * progress))
    elif cfg.schedule == "exponential":
        lr = cfg.lr * (cfg.final_lr / cfg.lr) ** progress
    else:
        raise ValueError(f"optim.schedule: expected 'cosine' or 'exponential', got {cfg.schedule!r}")
    return lr * min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else lr


def epoch_batches(n_items: int, batch_size: int, epoch: int, seed: int, rank: int = 0, world_size: int = 1) -> list[list[int]]:
    """This process's batches of one epoch: a seeded shuffle, dealt round-robin to the processes.

    The order depends only on (seed, epoch), so a resumed run can skip exactly the batches
    it already trained on; incomplete batches at the end are dropped.
    """
    order = torch.randperm(n_items, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).tolist()
    share = order[rank::world_size][: n_items // world_size]  # same length on every process (DistributedSampler)
    n_batches = len(share) // batch_size
    return [share[i * batch_size : (i + 1) * batch_size] for i in range(n_batches)]


def process_batches(cfg: DataConfig, labels: np.ndarray, epoch: int, seed: int, rank: int = 0, world_size: int = 1) -> list[list[int]]:
    """This process's batches of one epoch: uniform, or N speakers x M utterances (``data.sampler``)."""
    if cfg.sampler == "uniform":
        return epoch_batches(len(labels), cfg.batch_size, epoch, seed, rank, world_size)
    if cfg.sampler == "balanced":
        batches = balanced_batches(labels, cfg.batch_size // cfg.utts_per_speaker, cfg.utts_per_speaker, epoch, seed)
        return batches[rank : len(batches) // world_size * world_size : world_size]  # dealt round-robin, same count each
    raise ValueError(f"data.sampler: expected 'uniform' or 'balanced', got {cfg.sampler!r}")


# ----------------------------------------------------------------------------- checkpoints


def rng_states() -> dict[str, Any]:
    """Every random generator's state, in types that ``torch.load(weights_only=True)`` accepts."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_states(states: dict[str, Any]) -> None:
    """Undo ``rng_states()``."""
    version, keys, gauss = states["python"]
    random.setstate((version, tuple(keys), gauss))
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"][: torch.cuda.device_count()])


def checkpoint_paths(run_dir: Path) -> list[Path]:
    """Training checkpoints of a run, newest first."""
    return sorted((run_dir / "checkpoints").glob("step*.pt"), reverse=True)


def load_latest_checkpoint(run_dir: Path) -> tuple[dict[str, Any], Path] | None:
    """The newest checkpoint that loads; an unreadable (truncated, corrupted) one is skipped with a warning."""
    for path in checkpoint_paths(run_dir):
        try:
            return torch.load(path, map_location="cpu", weights_only=True), path
        except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
            warnings.warn(f"{path}: unreadable checkpoint ({error}); falling back to the previous one", stacklevel=2)
            with contextlib.suppress(OSError):  # another DDP process may have moved it already
                path.replace(path.with_suffix(".pt.corrupt"))  # kept for inspection, never again counted or pruned
    return None


def read_training_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint named by ``--resume``; a saved model or any other file is a LabkitError naming it."""
    checkpoint = read_file(Path(path))
    if isinstance(checkpoint, dict) and checkpoint.get("format") == models.checkpoints.FORMAT:
        raise TrainingError(f"{path}: a saved model (model.pt / best.pt), not a training checkpoint; --resume takes a "
                            "file of RUN/checkpoints/stepNNNNNNNN.pt (a run directory resumes by itself)")
    if not isinstance(checkpoint, dict) or not {"net", "optimizer", "state", "config"} <= set(checkpoint):
        raise TrainingError(f"{path}: not a labkit training checkpoint (expected keys net, optimizer, state, config)")
    return checkpoint


def check_resumable(checkpoint: dict[str, Any], path: Path, cfg: ExperimentConfig, world_size: int) -> list[str]:
    """The differences between the checkpoint's run and this one that ``run.force_resume`` allowed (empty: none).

    A different model is always refused: its weights would not fit. Other differences (batch size,
    seed, loss, optimiser, number of processes, ...) are refused unless ``cfg.run.force_resume``.
    """
    saved, current = flatten(checkpoint["config"]), flatten(to_dict(cfg))
    changed = {key: f"{key}={saved[key]!r} (now {current[key]!r})"
               for key in current if key in saved and saved[key] != current[key] and key not in RESUMABLE_CHANGES}
    model_changes = [change for key, change in changed.items() if key.startswith("model.")]
    if model_changes:
        raise TrainingError(f"{path} was trained with {', '.join(model_changes)}: its weights do not fit this config; "
                            "restore those values or train in a new run.out_dir")
    recipe = list(changed.values())
    if checkpoint.get("world_size", 1) != world_size:
        recipe.append(f"{checkpoint.get('world_size', 1)} process(es) (now {world_size})")
    if recipe and not cfg.run.force_resume:
        raise TrainingError(f"{path} was trained with {', '.join(recipe)}; restore those values, train in a new "
                            "run.out_dir, or continue with the new ones with --force-resume (run.force_resume=true)")
    return recipe


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config dicts as one dict of dotted keys: {"model.width": 16, ...}."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        flat.update(flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return flat


def parameter_names(optimizer: torch.optim.Optimizer, net: nn.Module) -> list[list[str]]:
    """The names of each param group's parameters, in the optimiser's order."""
    name_of = {id(param): name for name, param in net.named_parameters()}
    return [[name_of[id(param)] for param in group["params"]] for group in optimizer.param_groups]


def optimizer_state_by_name(optimizer: torch.optim.Optimizer, net: nn.Module) -> dict[str, Any]:
    """``optimizer.state_dict()`` with parameter names instead of numbers, so a resume cannot mix parameters up."""
    names, state = [name for group in parameter_names(optimizer, net) for name in group], optimizer.state_dict()
    return {"state": {names[index]: value for index, value in state["state"].items()},
            "param_groups": [{**group, "params": [names[index] for index in group["params"]]} for group in state["param_groups"]]}


def load_optimizer_state(optimizer: torch.optim.Optimizer, net: nn.Module, saved: dict[str, Any], path: Path) -> None:
    """Undo ``optimizer_state_by_name``: each saved state goes to the parameter of the same name."""
    current = parameter_names(optimizer, net)
    if [sorted(group["params"]) for group in saved["param_groups"]] != [sorted(names) for names in current]:
        raise TrainingError(f"{path}: the optimiser state names other parameters than this model has")
    number = {name: index for index, name in enumerate(name for names in current for name in names)}
    # torch pairs the saved numbers with the current parameters by position: list each group in the current order
    optimizer.load_state_dict({"state": {number[name]: value for name, value in saved["state"].items()},
                               "param_groups": [{**group, "params": [number[name] for name in names]}
                                                for group, names in zip(saved["param_groups"], current)]})


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest training checkpoints."""
    for old in checkpoint_paths(run_dir)[max(1, keep) :]:
        old.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- history


def append_history(path: Path, row: dict[str, Any]) -> None:
    """Append one row to the history CSV (header on first write)."""
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({key: row.get(key, "") for key in HISTORY_FIELDS})


def truncate_history(path: Path, last_step: int) -> None:
    """Keep only rows up to ``last_step`` (those after the checkpoint we resume from will be redone)."""
    if not path.exists():
        return
    with open(path, newline="", encoding="utf-8") as f:
        rows = [row for row in csv.DictReader(f) if int(row["step"]) <= last_step]
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


class LivePlot:
    """An ``on_log`` callback for notebooks: redraws loss, accuracy and validation EER in one output, in place.

    A redraw takes a noticeable fraction of a second (0.25 s on a 2-core machine), so the figure is
    redrawn only once ``1 / max_share`` times the last redraw's duration has passed: plotting takes
    at most ``max_share`` of the training time, plus the first and the last redraw (``finish()``,
    called by ``train`` at the end, draws the rows still waiting): under 2 % of any run longer than
    a minute (benchmarks/bench_liveplot.py).
    """

    def __init__(self, max_share: float = 0.01) -> None:
        self.rows: list[dict[str, Any]] = []
        self.handle = None
        self.max_share = max_share
        self.next_draw = 0.0  # time.perf_counter() after which the next row may redraw
        self.pending = False  # rows arrived since the last redraw

    def __call__(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.pending = True
        if time.perf_counter() >= self.next_draw:
            self.draw()

    def finish(self) -> None:
        """Draw the rows that arrived since the last redraw."""
        if self.pending:
            self.draw()

    def figure(self) -> Figure:
        """The curves of the rows so far, one panel per quantity that has a value (no empty validation panel)."""
        import pandas as pd

        from labkit.plots import history_figure

        return history_figure(pd.DataFrame(self.rows))

    def draw(self) -> None:
        """Redraw the whole figure and schedule the next redraw."""
        from IPython.display import display

        started = time.perf_counter()
        figure = self.figure()
        if self.handle is None:
            self.handle = display(figure, display_id=True)
        else:
            self.handle.update(figure)
        now = time.perf_counter()
        self.next_draw, self.pending = now + (now - started) / self.max_share, False


# ----------------------------------------------------------------------------- the run


def train(
    cfg: ExperimentConfig,
    resume: str | Path | None = None,
    progress: bool = True,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Train ``cfg.model`` on ``cfg.data`` and return the run directory (``cfg.run.out_dir``).

    A run directory that already holds checkpoints is resumed from the newest readable one;
    ``resume`` names another checkpoint file to start from instead. Either is first checked
    against ``cfg`` (``check_resumable``): nothing is written when they do not fit. ``on_log``
    receives every history row (a notebook draws live curves with ``LivePlot``); if it has a
    ``finish()`` method, that is called once at the end.
    """
    # -- checks that need no writing: the config, the device, the data
    validate(cfg)
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))  # set by torchrun
    device = pick_device(cfg.run.device, int(os.environ.get("LOCAL_RANK", 0)))  # a GPU that is not there: a LabkitError
    root = Path(cfg.data.root)
    train_list = Path(cfg.data.train_list) if cfg.data.train_list else root / "meta" / "train_list.txt"
    dataset = TrainCrops(read_train_list(train_list, root), crop_seconds=cfg.data.crop_seconds, seed=cfg.run.seed,
                         augment=build_augment(cfg.data), packed=cfg.data.packed or None)
    if not cfg.data.packed:
        check_sample_rate(dataset.paths[0], cfg.model.frontend.sample_rate)
    n_classes = len(dataset.speakers)
    batches_per_epoch = len(process_batches(cfg.data, dataset.labels, 0, cfg.run.seed, rank, world_size))
    if batches_per_epoch == 0:
        raise TrainingError(f"{train_list}: {len(dataset)} utterances are fewer than one batch of {cfg.data.batch_size} x {world_size} processes")
    total_steps = batches_per_epoch * cfg.run.epochs
    warmup_steps = round(cfg.optim.warmup_epochs * batches_per_epoch)

    # -- processes: every process trains, only rank 0 writes; the backend follows the tensor's device
    distributed = world_size > 1
    if distributed:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo")
    master = rank == 0
    seed_everything(cfg.run.seed + rank)
    run_dir = Path(cfg.run.out_dir)
    history_path = run_dir / "history.csv"

    # -- model, loss, optimiser, mixed precision
    model = models.build_model(cfg.model)
    criterion = build_loss(cfg.loss, model.embed_dim, n_classes)
    net = TrainingNet(model, criterion).to(device)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)  # faster 2-D convolutions on tensor cores
    optimizer = make_optimizer(cfg.optim, list(net.parameters()))
    amp_dtype = pick_amp_dtype(cfg.run.amp, device)
    scaler = GradScaler("cuda", enabled=amp_dtype == torch.float16)  # fp16 needs loss scaling, bf16 does not

    # -- resume: the same run directory continues where it stopped, if its checkpoint fits this config
    state = {"step": 0, "epoch": 0, "batch": 0, "elapsed_s": 0.0, "best_eer": math.inf}
    found = (read_training_checkpoint(Path(resume)), Path(resume)) if resume else load_latest_checkpoint(run_dir)
    if found:
        checkpoint, path = found
        forced = check_resumable(checkpoint, path, cfg, world_size)
        fit_state_dict(net, checkpoint["net"], path, f"the {cfg.model.arch} and {cfg.loss.kind} loss of this config")
        if checkpoint["config"]["optim"]["name"] == cfg.optim.name:  # another optimiser (forced) starts afresh
            load_optimizer_state(optimizer, net, checkpoint["optimizer"], path)
        if checkpoint["scaler"] and scaler.is_enabled():  # empty when saved without fp16
            scaler.load_state_dict(checkpoint["scaler"])
        set_rng_states(checkpoint["rng"])
        state.update(checkpoint["state"])
        old_batch = checkpoint["config"]["data"]["batch_size"] * checkpoint.get("world_size", 1)
        state["batch"] = state["batch"] * old_batch // (cfg.data.batch_size * world_size)  # the same share of the epoch
        if master:
            print(f"resuming from {path} (step {state['step']}, epoch {state['epoch']}, batch {state['batch']})"
                  + (f"; forced, with new values: {', '.join(forced)}" if forced else ""))
    if master:  # only now, with everything checked, is the run directory written
        save_config(cfg, run_dir / "config.yaml")
        truncate_history(history_path, state["step"])  # rows after the checkpoint (all of them on a fresh start) are redone

    ddp_net = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None) if distributed else net

    def agreed_elapsed_s(start: float) -> float:
        """Training time so far, the same on every process (the slowest one's clock): one collective, so call it
        at the same steps on every process (log steps, checkpoints), never on every step."""
        seconds = torch.tensor([state["elapsed_s"] + time.perf_counter() - start], dtype=torch.float64, device=device)
        if distributed:
            dist.all_reduce(seconds, op=dist.ReduceOp.MAX)
        return float(seconds)

    def save_checkpoint() -> None:
        if master:
            payload = {"net": net.state_dict(), "optimizer": optimizer_state_by_name(optimizer, net), "scaler": scaler.state_dict(),
                       "state": dict(state), "rng": rng_states(), "config": to_dict(cfg), "world_size": world_size}
            with atomic_path(run_dir / "checkpoints" / f"step{state['step']:08d}.pt", fsync=True) as tmp:
                torch.save(payload, tmp)
            prune_checkpoints(run_dir, cfg.run.keep_checkpoints)

    def log(row: dict[str, Any]) -> None:
        if master:
            append_history(history_path, row)
            if on_log:
                on_log(row)

    # -- the loop
    budget_s = 60.0 * cfg.run.max_minutes
    spent = state["elapsed_s"]  # agreed at the last log step: the learning rate follows it, the same on every process
    out_of_time = budget_s > 0 and spent >= budget_s
    show = progress and master
    if budget_s > 0:  # a time-budget run: the bar counts training seconds, so that it shows the time left
        bar = tqdm(total=round(budget_s), initial=round(min(spent, budget_s)), desc=f"train {run_dir.name}", unit="s", disable=not show,
                   dynamic_ncols=True, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s, {remaining} left{postfix}")
    else:
        bar = tqdm(total=total_steps, initial=state["step"], desc=f"train {run_dir.name}", unit="step", disable=not show, dynamic_ncols=True)
    start = time.perf_counter()
    while state["epoch"] < cfg.run.epochs and not out_of_time:
        batches = process_batches(cfg.data, dataset.labels, state["epoch"], cfg.run.seed, rank, world_size)
        dataset.set_epoch(state["epoch"])  # new random crops each epoch, the same ones after a resume
        loader = DataLoader(dataset, batch_sampler=batches[state["batch"] :], num_workers=cfg.data.num_workers,
                            pin_memory=device.type == "cuda", persistent_workers=False)
        net.train()
        window = {"loss": 0.0, "correct": 0.0, "seen": 0, "t0": time.perf_counter()}
        for wav, labels in loader:
            wav, labels = wav.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            wav = pcm_to_float(wav)  # int16 from the workers (half the bytes to hand over and to copy to the GPU)
            progress_frac = max(state["step"] / total_steps, spent / budget_s if budget_s else 0.0)
            lr = learning_rate(cfg.optim, state["step"], warmup_steps, progress_frac)
            for group in optimizer.param_groups:
                group["lr"] = lr
            criterion.set_epoch(state["epoch"] + state["batch"] / batches_per_epoch)  # margin warm-up

            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss, accuracy = ddp_net(wav, labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.optim.grad_clip > 0:
                scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.optim.grad_clip)
            scaler.step(optimizer)
            scaler.update()

            state["step"] += 1
            state["batch"] += 1
            window["loss"] += loss.detach() * len(labels)  # stays on the device: no GPU sync per step
            window["correct"] += accuracy * len(labels)
            window["seen"] += len(labels)
            if budget_s == 0:
                bar.update(1)
            if state["step"] % cfg.run.log_every_steps == 0 or state["batch"] == len(batches):
                spent = agreed_elapsed_s(start)
                seconds = time.perf_counter() - window["t0"]
                row = {"step": state["step"], "epoch": round(state["epoch"] + state["batch"] / len(batches), 4),
                       "loss": round(float(window["loss"]) / window["seen"], 5), "acc": round(float(window["correct"]) / window["seen"], 4),
                       "lr": f"{lr:.3e}", "samples_per_s": round(window["seen"] * world_size / seconds, 1),
                       "elapsed_s": round(spent, 1)}
                if budget_s > 0:
                    bar.update(min(spent, budget_s) - bar.n)
                bar.set_postfix(step=state["step"], loss=row["loss"], acc=row["acc"], lr=row["lr"], sps=row["samples_per_s"])
                log(row)
                window = {"loss": 0.0, "correct": 0.0, "seen": 0, "t0": time.perf_counter()}
                out_of_time = budget_s > 0 and spent >= budget_s  # every process got the same clock: all stop here
                if out_of_time:
                    break
            if state["step"] % cfg.run.checkpoint_every_steps == 0 and state["batch"] < len(batches):
                state["elapsed_s"], start = agreed_elapsed_s(start), time.perf_counter()
                save_checkpoint()

        if not out_of_time:  # a finished epoch: validate, then the epoch checkpoint
            state["epoch"], state["batch"] = state["epoch"] + 1, 0
            if cfg.data.val_trials and master:
                val_eer = validate_eer(model, cfg)
                log({"step": state["step"], "epoch": state["epoch"], "val_eer": round(val_eer, 5)})
                bar.write(f"epoch {state['epoch']}: validation EER {100 * val_eer:.2f} %")
                if val_eer < state["best_eer"]:
                    state["best_eer"] = val_eer
                    models.save(model, run_dir / "best.pt", extra={"val_eer": val_eer, "step": state["step"], "epoch": state["epoch"]})
        state["elapsed_s"], start = agreed_elapsed_s(start), time.perf_counter()
        save_checkpoint()  # at every epoch end, and before stopping on the time budget
    bar.close()

    if master:
        models.save(model, run_dir / "model.pt", extra={"train_seconds": state["elapsed_s"], "steps": state["step"], "epochs": state["epoch"]})
        if hasattr(on_log, "finish"):
            on_log.finish()
        if out_of_time:
            print(f"stopped on the time budget ({cfg.run.max_minutes:g} min) at step {state['step']}; "
                  "rerun with a larger run.max_minutes to continue")
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return run_dir


def validate_eer(model: nn.Module, cfg: ExperimentConfig) -> float:
    """EER (fraction) of ``model`` on the held-out trial list ``cfg.data.val_trials``."""
    from labkit.evaluate import score_trials  # evaluate sits below train; imported here to keep start-up light
    from labkit.metrics import eer
    from labkit.trials import read_trials

    trials = read_trials(cfg.data.val_trials)
    scores = score_trials(model, trials, cfg.data.root, batch_size=cfg.data.eval_batch_size,
                          max_seconds=cfg.data.max_eval_seconds, progress=False)
    return eer(scores, trials.labels)[0]
