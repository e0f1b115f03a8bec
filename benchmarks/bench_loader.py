"""Training-crop throughput: the DataLoader (0 and 2 workers) against raw soundfile crops.

The baseline ("raw") gets the same float32 crops the simplest way: a Python loop of
``soundfile.read(path, start=..., stop=...)`` in one process, no tensors, no labels. The
loader reads int16 and converts with torch, which is faster than soundfile's own conversion;
the raw int16 loop is printed too, as the floor of what reading can cost. The
DataLoader runs ``TrainCrops`` (2-s crops, batches of 64) reading the wav files, and again
reading a packed int16 file (``labkit pack-audio``). Targets on this 2-core machine: with 2
workers, >= 80 % of the raw rate and >= 3,000 crops/s. Figures are taken on a shared machine.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).parent))
from common import best_time, check, finish  # noqa: E402

from labkit.data.dataset import TrainCrops  # noqa: E402
from labkit.data.packed import pack  # noqa: E402
from labkit.data.synthetic import make_corpus  # noqa: E402
from labkit.data.voxceleb import read_train_list  # noqa: E402

CROPS = 6400  # per timed run
BATCH = 64
CROP_SAMPLES = 32000  # 2 s


def raw_crops(paths: list[str], frames: np.ndarray, order: np.ndarray, starts: np.ndarray, dtype: str) -> None:
    """The baseline: soundfile start/stop reads in a plain loop."""
    for i, start in zip(order, starts):
        sf.read(paths[i], start=start, stop=start + min(CROP_SAMPLES, frames[i]), dtype=dtype)


def loader_crops(loader: DataLoader) -> None:
    for _ in loader:
        pass


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
        rates = {
            f"raw soundfile.read(start, stop), {dtype}": CROPS / best_time(lambda dtype=dtype: raw_crops(paths, frames, order, starts, dtype), repeats=5)
            for dtype in ("float32", "int16")
        }
        for source, dataset in (("wav files", TrainCrops(manifest)), ("packed int16", TrainCrops(manifest, packed=packed))):
            for workers in (0, 2):
                loader = DataLoader(dataset, batch_sampler=batches, num_workers=workers, persistent_workers=workers > 0)
                loader_crops(loader)  # start the workers once, outside the timing
                rates[f"DataLoader, {source}, {workers} workers"] = CROPS / best_time(lambda: loader_crops(loader), repeats=5)
    raw = rates["raw soundfile.read(start, stop), float32"]
    print(f"  {len(manifest)} utterances of 2-3 s; {CROPS} two-second crops per run, batches of {BATCH} (shared CPU)")
    for name, rate in rates.items():
        print(f"  {name:44s} {rate:8.0f} crops/s   {100 * rate / raw:5.0f} % of raw")
    best = rates["DataLoader, wav files, 2 workers"]
    check("training crops, 2 workers reading wav files, share of raw reads", 100 * best / raw, 80, unit=" %", digits=0)
    check("training crops, 2 workers reading wav files, crops/s", best, 3000, digits=0)


if __name__ == "__main__":
    main()
    raise SystemExit(finish())
