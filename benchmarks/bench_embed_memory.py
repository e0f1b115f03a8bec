"""Peak memory of embedding a corpus with one 10-minute utterance among short ones.

Before batches were bounded, the 10-minute utterance was padded into a batch of 16 (``labkit
evaluate pretrained`` reached 13.1 GB on such a corpus; a Colab VM has about 12 GB), while
``--batch-size 1`` needed 1.1 GB. Now a batch holds at most ``max_batch_seconds`` of padded audio
and a long utterance is embedded in pieces of at most ``chunk_seconds``.

Each setting runs in a fresh process (the built-in pretrained model, on the CPU unless
``--device cuda``); the figure is the peak memory above what the process held before embedding:
resident memory on the CPU, ``torch.cuda.max_memory_allocated`` on a GPU.
Target: the default settings within 2x of batch size 1 with the utterance whole.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).parent))
from common import check, finish  # noqa: E402

RATE = 16000
SETTINGS = {  # name -> extract() options
    "default settings (batch 16, bounded, chunked)": {},
    "batch size 1, utterance whole (the old --batch-size 1)": {"batch_size": 1, "max_batch_seconds": float("inf"), "chunk_seconds": float("inf")},
}
UNBOUNDED = {"batch_size": 16, "max_batch_seconds": float("inf"), "chunk_seconds": float("inf")}  # before: --unbounded only


def write_corpus(root: Path, long_seconds: float = 600.0, short: int = 40) -> None:
    """VoxCeleb layout: one ``long_seconds`` utterance and ``short`` utterances of 4-8 s (quiet noise, PCM16)."""
    rng = np.random.default_rng(0)
    lengths = [long_seconds] + rng.uniform(4, 8, short).tolist()
    for i, seconds in enumerate(lengths):
        folder = root / "wav" / f"id{i % 8:05d}" / "session"
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{i:05d}.wav", (0.05 * rng.standard_normal(int(seconds * RATE))).astype(np.float32), RATE, subtype="PCM_16")


def resident_bytes() -> int:
    """This process's resident memory now (Linux /proc)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()


def measure(root: str, device: str, options: dict) -> dict:
    """Embed the corpus once with ``options``; the peak memory it added, in bytes."""
    import torch

    from labkit import pretrained
    from labkit.data.voxceleb import scan
    from labkit.embed import extract

    torch.set_num_threads(2)
    model = pretrained.load().to(device)
    manifest = scan(root)
    extract(model, manifest.iloc[-2:], progress=False)  # warm up the allocator and the kernels on two short ones
    before = resident_bytes()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    extract(model, manifest, progress=False, **options)
    if device.startswith("cuda"):
        return {"peak": torch.cuda.max_memory_allocated() - before, "kind": "CUDA allocated"}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    return {"peak": peak - before, "kind": "resident (RSS)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--unbounded", action="store_true", help="also measure the old defaults (about 13 GB on a CPU!)")
    parser.add_argument("--measure", nargs=2, metavar=("ROOT", "OPTIONS_JSON"), help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.device, json.loads(args.measure[1]))))
        return
    settings = dict(SETTINGS, **({"batch 16, unbounded (before)": UNBOUNDED} if args.unbounded else {}))
    with tempfile.TemporaryDirectory() as tmp:
        write_corpus(Path(tmp))
        peaks = {}
        for name, options in settings.items():
            child = subprocess.run([sys.executable, __file__, "--device", args.device, "--measure", tmp, json.dumps(options)],
                                   capture_output=True, text=True, check=True)
            peaks[name] = json.loads(child.stdout.splitlines()[-1])
            print(f"  {name:56s} {peaks[name]['peak'] / 2**20:8.0f} MiB ({peaks[name]['kind']}, above the process before embedding)")
    bounded, whole = (peaks[name]["peak"] for name in SETTINGS)
    print(f"  corpus: one 600-s utterance and 40 of 4-8 s; device {args.device}")
    check("embedding peak memory, 10-min utterance: default vs batch size 1", bounded / whole, 2.0, at_least=False, unit="x")


if __name__ == "__main__":
    main()
    raise SystemExit(finish())
