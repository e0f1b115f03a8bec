"""Training-crop throughput: the DataLoader (0 and 2 workers) against raw soundfile crops.

The baseline ("raw") gets the same float32 crops the simplest way: a Python loop of
``soundfile.read(path, start=..., stop=...)`` in one process, no tensors, no labels; the raw
int16 loop is printed too, as the floor of what reading can cost. The DataLoader runs
``TrainCrops`` (2-s crops, batches of 64) reading the wav files, and again reading a packed int16
file (``labkit pack-audio``); its workers hand over int16 batches, and the main process turns
each into float32 with ``pcm_to_float``, as the training loop does (there on the device).
Targets on this 2-core machine: with 2 workers, >= 80 % of the raw rate and >= 3,000 crops/s.

How it is measured: the machine is shared with other jobs, so the wall-clock rate of 3 processes
(main and 2 workers) says more about the load than about the loader. Each run's CPU time is taken
for this process and for each worker (``/proc``), and the rates checked are those of 2 free
cores: crops / max(the busiest process's CPU time, all processes' CPU time / 2). The runs are
interleaved (raw, loaders, raw, ...) and each keeps its best of 5. Wall-clock rates under the
load of the moment are printed beside them.

What it shows: a worker hands each batch to the main process in fresh shared memory, and
writing it costs a page fault per 4 kB. In float32 (8 MB for 64 crops of 2 s) that cost about as
much CPU as reading the crops, and 2 workers reached 68-85 % of the raw rate; in int16 (4 MB, no
conversion in the worker) the loader comes near the raw rate, and the conversion in the main
process reuses its memory (about 0.3 ms a batch).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).parent))
from common import check, finish  # noqa: E402

from labkit.data.dataset import TrainCrops, pcm_to_float  # noqa: E402
from labkit.data.packed import pack  # noqa: E402
from labkit.data.synthetic import make_corpus  # noqa: E402
from labkit.data.voxceleb import read_train_list  # noqa: E402

CROPS = 6400  # per timed run
BATCH = 64
CROP_SAMPLES = 32000  # 2 s
CORES = 2  # this machine's, and a Colab VM's


def raw_crops(paths: list[str], frames: np.ndarray, order: np.ndarray, starts: np.ndarray, dtype: str) -> None:
    """The baseline: soundfile start/stop reads in a plain loop."""
    for i, start in zip(order, starts):
        sf.read(paths[i], start=start, stop=start + min(CROP_SAMPLES, frames[i]), dtype=dtype)


def loader_crops(loader: DataLoader) -> None:
    """Every batch of ``loader``, as float32 (what training uses)."""
    for wav, _ in loader:
        pcm_to_float(wav)


def cpu_seconds() -> dict[int, float]:
    """CPU seconds used so far by this process and by each of its live child processes (the loaders' workers)."""
    used = {os.getpid(): time.process_time()}
    for child in multiprocessing.active_children():
        fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        used[child.pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return used


def free_cores_seconds(run) -> float:
    """Run ``run``: the seconds it would take with ``CORES`` free cores, from the CPU time of each process."""
    before = cpu_seconds()
    run()
    used = [seconds - before.get(pid, 0.0) for pid, seconds in cpu_seconds().items()]
    return max(max(used), sum(used) / CORES)


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_corpus(Path(tmp) / "corpus", preset="tiny", speakers=200, seed=0)
        manifest = read_train_list(root / "meta" / "train_list.txt", root)
        packed = pack(manifest, Path(tmp) / "train")
        paths, frames = manifest["path"].tolist(), manifest["frames"].to_numpy()
        rng = np.random.default_rng(0)
        order = rng.integers(len(manifest), size=CROPS)
        starts = (rng.random(CROPS) * np.maximum(frames[order] - CROP_SAMPLES + 1, 1)).astype(int)
        batches = order.reshape(-1, BATCH).tolist()
        runs = {
            f"raw soundfile.read(start, stop), {dtype}": lambda dtype=dtype: raw_crops(paths, frames, order, starts, dtype)
            for dtype in ("float32", "int16")
        }
        for source, dataset in (("wav files", TrainCrops(manifest)), ("packed int16", TrainCrops(manifest, packed=packed))):
            for workers in (0, 2):
                loader = DataLoader(dataset, batch_sampler=batches, num_workers=workers, persistent_workers=workers > 0)
                loader_crops(loader)  # start the workers once, outside the timing
                runs[f"DataLoader, {source}, {workers} workers"] = lambda loader=loader: loader_crops(loader)
        projected: dict[str, list[float]] = {name: [] for name in runs}
        wall: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(5):  # interleaved: every run sees the same load
            for name, run in runs.items():
                start = time.perf_counter()
                projected[name].append(free_cores_seconds(run))
                wall[name].append(time.perf_counter() - start)
    rates = {name: CROPS / min(seconds) for name, seconds in projected.items()}
    raw = rates["raw soundfile.read(start, stop), float32"]
    print(f"  {len(manifest)} utterances of 2-3 s; {CROPS} two-second crops per run, batches of {BATCH}")
    print(f"  {'':44s} {CORES} free cores (CPU time)        wall clock, shared machine")
    for name, rate in rates.items():
        print(f"  {name:44s} {rate:8.0f} crops/s {100 * rate / raw:5.0f} % of raw   {CROPS / min(wall[name]):8.0f} crops/s")
    best = rates["DataLoader, wav files, 2 workers"]
    check("training crops, 2 workers reading wav files, share of raw reads", 100 * best / raw, 80, unit=" %", digits=0)
    check("training crops, 2 workers reading wav files, crops/s", best, 3000, digits=0)

if __name__ == "__main__":
    main()
    raise SystemExit(finish())
