"""Embedding extraction on lengths that vary like VoxCeleb's: length-aware batching, and the cost of the cache key.

The corpus: 60 utterances of 4 s plus a long tail (median about 7 s, the longest about 40 s), like
VoxCeleb1's 4-145 s (mean 8.2 s). The same randomly initialised ResNet10-w16 embeds it one
utterance at a time and in length-sorted batches of 16 (bounded to 320 s of padded audio), on
the CPU with 2 threads, in wall-clock time, the two taken in turn, best of 3 (``best_times``: both
see the same load on a shared machine). The embeddings must agree; the batched run must not be
slower. Measured in CPU time on one thread the order reverses (one utterance at a time stays in the
cache: 3x less CPU time here); batches win on the wall clock by keeping both cores busy.

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
from labkit.embed import cache_key, extract  # noqa: E402

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
        results = {b: extract(model, manifest, batch_size=b, progress=False)[1] for b in (1, 16)}
        seconds = best_times({b: lambda b=b: extract(model, manifest, batch_size=b, progress=False) for b in (1, 16)}, repeats=3)
        hashing = best_time(lambda: [cache_key(path) for path in manifest["path"]], repeats=3)
    audio = manifest["duration"].sum()
    durations = manifest["duration"].describe()
    print(f"  {len(manifest)} utterances, {audio / 60:.1f} min: {durations['min']:.1f}-{durations['max']:.1f} s, "
          f"median {manifest['duration'].median():.1f} s, mean {durations['mean']:.1f} s")
    for b, s in seconds.items():
        print(f"  batch {b:2d}: {len(manifest) / s:7.1f} utterances/s, {audio / s:6.1f} s of audio per s")
    print(f"  max |difference| between the two: {np.abs(results[1] - results[16]).max():.2e}")
    check("embedding, length-aware batches of 16 vs one at a time", seconds[1] / seconds[16], 1.0, unit="x")
    megabytes = manifest["frames"].sum() * 2 / 1e6
    print(f"  SHA-256 of every file: {hashing:.3f} s for {megabytes:.0f} MB ({megabytes / hashing:.0f} MB/s)")
    check("content-keyed cache: hashing time / embedding time", 100 * hashing / seconds[16], 10.0, at_least=False, unit=" %")


if __name__ == "__main__":
    main()
    raise SystemExit(finish())
