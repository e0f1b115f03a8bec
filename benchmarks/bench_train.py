"""Training throughput of ``labkit.train`` against a minimal hand-written loop, same model and data.

The baseline is the shortest loop that trains the same ResNet on the same crops: a DataLoader
over the same batches, AdamW, the same loss, forward/backward/step, nothing else. labkit.train
adds the schedule, clipping, logging, history, checkpoints and the progress bar; target:
overhead <= 10 % in samples/s. Both are timed in this run, in turn (in a shuffled order each round: on a shared
machine both see the same load), best of 5 each, from setup to saved model.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import best_times, check, finish  # noqa: E402

from labkit import models  # noqa: E402
from labkit.config import ExperimentConfig, apply_overrides  # noqa: E402
from labkit.data.dataset import TrainCrops, pcm_to_float  # noqa: E402
from labkit.data.synthetic import make_corpus  # noqa: E402
from labkit.data.voxceleb import read_train_list  # noqa: E402
from labkit.models.losses import build_loss  # noqa: E402
from labkit.train import epoch_batches, train  # noqa: E402


def hand_loop(cfg: ExperimentConfig) -> int:
    """The baseline: the same model, loss, crops and batches; returns the number of samples seen."""
    root = Path(cfg.data.root)
    dataset = TrainCrops(read_train_list(root / "meta" / "train_list.txt", root), crop_seconds=cfg.data.crop_seconds, seed=0)
    model = models.build_model(cfg.model)
    criterion = build_loss(cfg.loss, model.embed_dim, len(dataset.speakers))
    optimizer = torch.optim.AdamW(list(model.parameters()) + list(criterion.parameters()), lr=cfg.optim.lr)
    seen = 0
    for epoch in range(cfg.run.epochs):
        batches = epoch_batches(len(dataset), cfg.data.batch_size, epoch, seed=0)
        for wav, labels in torch.utils.data.DataLoader(dataset, batch_sampler=batches, num_workers=cfg.data.num_workers):
            loss, _ = criterion(model(pcm_to_float(wav)), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(labels)
    models.save(model, Path(cfg.run.out_dir) / "hand.pt")
    return seen


def main() -> None:
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_corpus(Path(tmp) / "corpus", preset="tiny", speakers=60, seed=0)
        overrides = [f"data.root={root}", "data.batch_size=32", "data.num_workers=1", "data.crop_seconds=1.0", "model.depth=10",
                     "model.width=16", "model.embed_dim=128", "run.epochs=3", "run.device=cpu", "run.checkpoint_every_steps=10"]
        runs = {"hand loop": lambda: hand_loop(apply_overrides(ExperimentConfig(), overrides + [f"run.out_dir={tmp}/hand"]))}
        runs["labkit.train"] = lambda: train(apply_overrides(ExperimentConfig(), overrides + [f"run.out_dir={tmp}/run{time.time_ns()}"]),
                                             progress=False)
        samples = hand_loop(apply_overrides(ExperimentConfig(), overrides + [f"run.out_dir={tmp}/warm"]))  # warm caches, count samples
        seconds = best_times(runs, repeats=5)  # taken in turn, so that both see the same load; the best of each
    rate = {name: samples / s for name, s in seconds.items()}
    for name, value in rate.items():
        print(f"  {name:13s} {value:8.1f} samples/s  ({samples} samples in {seconds[name]:.2f} s)")
    overhead = 1 - rate["labkit.train"] / rate["hand loop"]
    check("labkit.train overhead vs a hand-written loop", 100 * overhead, 10, at_least=False, unit=" %", digits=1)


if __name__ == "__main__":
    main()
    raise SystemExit(finish())
