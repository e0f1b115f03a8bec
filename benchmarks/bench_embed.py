"""Embedding extraction on lengths that vary like VoxCeleb's: length-aware batching, and the cost of the cache key.

The corpus: 60 utterances of 4 s plus a long tail (median about 7 s, the longest about 20 s), like
VoxCeleb1's 4-145 s (mean 8.2 s). The same randomly initialised ResNet10-w16 embeds it on the CPU
with 2 threads, in wall-clock time, in three ways taken in turn, best of 3 (``best_times``: all
see the same load on a shared machine): one utterance at a time; ``extract``'s default (length-
sorted batches of up to 16, at most ``CPU_BATCH_SECONDS`` = 10 s of padded audio on a CPU); and
the GPU's budget of 320 s, printed for comparison. The embeddings must agree; the default must not
be slower than one at a time. On this 2-core machine the 320-s batches were 3-4x slower than one
at a time (idle, 2026-12): a batch of 16 long utterances overflows the processor's cache, which
one utterance (or a pair of short ones) fits in; on a GPU large batches are what keep it busy.
The embedding cache is keyed by each file's SHA-256 (so a copy restored on a new machine reuses
it): hashing every file must cost little next to embedding them (target <= 10 %).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import best_time, best_times, check, finish  # noqa: E402

from labkit import models  # noqa: E402
from labkit.config import ModelConfig  # noqa: E402
from labkit.data.voxceleb import scan  # noqa: E402
from labkit.embed import CPU_BATCH_SECONDS, GPU_BATCH_SECONDS, cache_key, extract, length_batches  # noqa: E402

RATE = 16000


def write_voxceleb_like(root: Path, count: int = 60, seed: int = 0) -> None:
    """``count`` PCM16 wav files of 4 s plus a log-normal tail (capped at 60 s) in VoxCeleb layout."""
    rng = np.random.default_rng(seed)
    for i, seconds in enumerate(np.minimum(4 + rng.lognormal(1.1, 0.9, count), 60)):
        folder = root / "wav" / f"id{i % 10:05d}" / "video"
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{i:05d}.wav", (0.05 * rng.standard_normal(int(seconds * RATE))).astype(np.float32), RATE, subtype="PCM_16")


def main() -> None:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = models.build_model(ModelConfig(depth=10, width=16, embed_dim=128)).eval()
    with tempfile.TemporaryDirectory() as tmp:
        write_voxceleb_like(Path(tmp))
        manifest = scan(tmp)
        extract(model, manifest.head(16), batch_size=16, progress=False)  # warm-up
        ways = {"one at a time": {"batch_size": 1}, "default (CPU)": {}, "GPU budget": {"max_batch_seconds": GPU_BATCH_SECONDS}}
        results = {way: extract(model, manifest, progress=False, **kwargs)[1] for way, kwargs in ways.items()}
        seconds = best_times({way: lambda kwargs=kwargs: extract(model, manifest, progress=False, **kwargs) for way, kwargs in ways.items()},
                             repeats=3)
        hashing = best_time(lambda: [cache_key(path) for path in manifest["path"]], repeats=3)
    audio = manifest["duration"].sum()
    durations = manifest["duration"].describe()
    print(f"  {len(manifest)} utterances, {audio / 60:.1f} min: {durations['min']:.1f}-{durations['max']:.1f} s, "
          f"median {manifest['duration'].median():.1f} s, mean {durations['mean']:.1f} s")
    for way, s in seconds.items():
        size, budget = ways[way].get("batch_size", 16), ways[way].get("max_batch_seconds", CPU_BATCH_SECONDS)  # extract's defaults on a CPU
        batches = len(length_batches(manifest["frames"].to_numpy(), size, int(budget * RATE)))
        print(f"  {way:14s} {len(manifest) / s:7.1f} utterances/s, {audio / s:6.1f} s of audio per s, {batches} batches")
    print(f"  max |difference| from one at a time: {max(np.abs(results['one at a time'] - e).max() for e in results.values()):.2e}")
    check("embedding, default length-aware batches vs one at a time", seconds["one at a time"] / seconds["default (CPU)"], 1.0, unit="x")
    megabytes = manifest["frames"].sum() * 2 / 1e6
    print(f"  SHA-256 of every file: {hashing:.3f} s for {megabytes:.0f} MB ({megabytes / hashing:.0f} MB/s)")
    check("content-keyed cache: hashing time / embedding time", 100 * hashing / seconds["default (CPU)"], 10.0, at_least=False, unit=" %")


if __name__ == "__main__":
    main()
    raise SystemExit(finish())
