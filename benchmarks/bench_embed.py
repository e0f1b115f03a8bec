"""Embedding extraction: length-aware batching against one utterance at a time.

Both embed the same utterances (the synthetic corpus, 2 to 10 s each) with the same randomly
initialised ResNet on the CPU; the batched run sorts by length and pads within a batch of 16.
Prints the speed-up and the largest difference between the two sets of embeddings.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import best_time  # noqa: E402

from labkit import models  # noqa: E402
from labkit.config import ModelConfig  # noqa: E402
from labkit.data.synthetic import make_corpus  # noqa: E402
from labkit.data.voxceleb import scan  # noqa: E402
from labkit.embed import extract  # noqa: E402


def main() -> None:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = models.build_model(ModelConfig(depth=10, width=16, embed_dim=128)).eval()
    with tempfile.TemporaryDirectory() as tmp:
        manifest = scan(make_corpus(Path(tmp) / "corpus", preset="tiny", speakers=20, seed=0))
        results = {}
        for batch_size in (1, 16):
            results[batch_size] = extract(model, manifest, batch_size=batch_size, progress=False)[1]
        seconds = {b: best_time(lambda b=b: extract(model, manifest, batch_size=b, progress=False), repeats=3) for b in (1, 16)}
    hours = manifest["duration"].sum() / 3600
    for b, s in seconds.items():
        print(f"  batch {b:2d}: {len(manifest) / s:7.1f} utterances/s, {hours * 3600 / s:6.1f} s of audio per s")
    print(f"  length-aware batching speed-up: {seconds[1] / seconds[16]:.2f}x  "
          f"(max |difference| {np.abs(results[1] - results[16]).max():.2e}; measured on a shared CPU)")


if __name__ == "__main__":
    main()
