"""Speaker embeddings for every utterance of a manifest: batched, cached on disk, resumable.

Two ways to embed an utterance:

- full length (``crops=0``): utterances are sorted by length and batched with their
  neighbours, zero-padded, and the true lengths go to the model, so padding changes nothing;
- ``crops=N``: N evenly spaced crops of ``crop_seconds`` each, embedded, L2-normalised and
  averaged (the voxceleb_trainer evaluation protocol).

The cache is a folder per (model checksum, embedding settings) holding ``.npz`` shards of
(utterance path, embedding); an interrupted run keeps every finished shard and picks up the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from labkit.config import to_dict
from labkit.data.dataset import EvalUtterances, collate_eval, length_batches
from labkit.files import atomic_path


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"`` -> this process's GPU if there is one, else the CPU."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if name == "cuda":  # under torchrun every process takes its own GPU
        return torch.device(f"cuda:{local_rank}")
    return torch.device(name)


def model_checksum(model: nn.Module) -> str:
    """SHA-256 of the model's configuration (front-end settings included) and its weights and buffers."""
    digest = hashlib.sha256()
    config = getattr(model, "config", None)
    if config is not None:
        digest.update(json.dumps(to_dict(config), sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def crop_batch(wavs: torch.Tensor, lengths: torch.Tensor, crops: int, crop_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``crops`` evenly spaced windows of ``crop_samples`` from each padded waveform: (B * crops, crop_samples)."""
    padded = F.pad(wavs, (0, max(0, crop_samples - wavs.shape[1])))
    windows, window_lengths = [], []
    for wav, length in zip(padded, lengths.tolist()):
        starts = np.linspace(0, max(0, length - crop_samples), crops).round().astype(int)
        windows += [wav[s : s + crop_samples] for s in starts]
        window_lengths += [min(crop_samples, length)] * crops  # a short utterance keeps its true length
    return torch.stack(windows), torch.tensor(window_lengths)


@torch.inference_mode()
def embed_batch(model: nn.Module, wavs: torch.Tensor, lengths: torch.Tensor, crops: int = 0, crop_samples: int = 0) -> torch.Tensor:
    """Embeddings of one padded batch (full length, or the normalised mean over ``crops`` windows)."""
    if not crops:
        return model(wavs, lengths)
    windows, window_lengths = crop_batch(wavs, lengths, crops, crop_samples)
    embeddings = F.normalize(model(windows, window_lengths), dim=1)
    return embeddings.view(len(wavs), crops, -1).mean(dim=1)


def cache_key(path: str | Path) -> str:
    """An utterance's cache key: its file, size and modification time (a regenerated file is embedded again)."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}"


def _read_shards(folder: Path) -> dict[str, np.ndarray]:
    """Every cached embedding in ``folder``; an unreadable shard is skipped with a warning (it will be redone)."""
    cached: dict[str, np.ndarray] = {}
    for shard in sorted(folder.glob("part-*.npz")):
        try:
            with np.load(shard, allow_pickle=False) as data:
                cached.update(zip(data["keys"].tolist(), data["embeddings"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            warnings.warn(f"{shard}: unreadable embedding cache shard ({error}); recomputing its utterances", stacklevel=2)
    return cached


def _write_shard(folder: Path, keys: list[str], embeddings: np.ndarray) -> None:
    """One new shard, written to a temporary name and renamed (never half-written)."""
    path = folder / f"part-{len(list(folder.glob('part-*.npz'))):06d}-{os.getpid()}.npz"
    with atomic_path(path) as tmp:  # a dot-name: never mistaken for a shard, even if the run is killed
        np.savez(tmp, keys=np.asarray(keys, dtype=str), embeddings=embeddings)


def extract(
    model: nn.Module,
    manifest: pd.DataFrame,
    batch_size: int = 16,
    crops: int = 0,
    crop_seconds: float = 3.0,
    max_seconds: float = 0.0,
    cache_dir: str | Path | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> tuple[list[str], np.ndarray]:
    """Embeddings of the utterances of ``manifest`` (columns ``utt``, ``path``, ``duration``), on the model's device.

    Returns (utterance ids in manifest order, float32 matrix (utterances, embed_dim)). With
    ``cache_dir``, embeddings are stored under the model's checksum and reused by any later call.
    """
    ids = manifest["utt"].astype(str).tolist()
    keys = [cache_key(p) for p in manifest["path"]]
    device = next(model.parameters()).device
    crop_samples = int(round(crop_seconds * model.config.frontend.sample_rate))
    settings = (f"crops{crops}x{crop_seconds:g}s-" if crops else "full-") + f"max{max_seconds:g}s"
    folder = Path(cache_dir) / f"{model_checksum(model)[:16]}-{settings}" if cache_dir else None
    cached = _read_shards(folder) if folder else {}
    todo = [i for i, key in enumerate(keys) if key not in cached]

    was_training = model.training
    model.eval()
    dataset = EvalUtterances(manifest.iloc[todo].reset_index(drop=True), max_seconds=max_seconds)
    batches = length_batches(manifest["duration"].to_numpy()[todo], batch_size)
    loader = DataLoader(dataset, batch_sampler=batches, collate_fn=collate_eval, num_workers=num_workers)
    bar = tqdm(total=len(keys), initial=len(keys) - len(todo), desc="embed", unit="utt", disable=not progress, dynamic_ncols=True)
    for batch, (_, wavs, lengths) in zip(batches, loader):
        embeddings = embed_batch(model, wavs.to(device), lengths.to(device), crops, crop_samples).float().cpu().numpy()
        batch_keys = [keys[todo[i]] for i in batch]
        cached.update(zip(batch_keys, embeddings))
        if folder:
            _write_shard(folder, batch_keys, embeddings)
        bar.update(len(batch))
    bar.close()
    model.train(was_training)
    return ids, np.stack([cached[key] for key in keys]).astype(np.float32)


def embed_corpus(checkpoint: str | Path, root: str | Path, out: str | Path, device: str = "auto", **options) -> Path:
    """Embed every utterance under ``root`` with a saved model; write ``out`` (.npz with ``ids`` and ``embeddings``)."""
    from labkit import models
    from labkit.data.voxceleb import scan

    model = models.load(checkpoint).to(pick_device(device))
    ids, embeddings = extract(model, scan(root), **options)
    with atomic_path(out) as tmp:
        np.savez(tmp, ids=np.asarray(ids, dtype=str), embeddings=embeddings)
    return Path(out)
