"""Speaker embeddings for every utterance of a manifest: batched, bounded in memory, cached on disk, resumable.

Two ways to embed an utterance:

- full length (``crops=0``): utterances are sorted by length and batched with their
  neighbours, zero-padded, and the true lengths go to the model, so padding changes nothing;
- ``crops=N``: N evenly spaced crops of ``crop_seconds`` each, embedded, L2-normalised and
  averaged (the voxceleb_trainer evaluation protocol).

Memory stays bounded whatever the lengths: a batch holds at most ``batch_size`` utterances and
at most ``max_batch_seconds`` of (padded) audio (by default 320 s on a GPU; 10 s on a CPU, where
larger batches overflow the processor's cache: a few short utterances go together, one longer than
5 s alone), and in full-length mode an utterance longer than ``chunk_seconds`` is cut into equal
pieces no longer than that, embedded one by one and averaged (weighted by length). The default
chunk (180 s) is longer than any VoxCeleb1 test utterance (about 145 s), so VoxCeleb results are
full-length ones.

The cache is a folder per (model checksum, embedding settings) holding ``.npz`` shards of
(SHA-256 of the audio file, embedding): keyed by content, a copy of the data restored on a new
machine reuses it, and an edited file is embedded again. An interrupted run keeps every
finished shard and picks up the rest.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from labkit.config import to_dict
from labkit.data.voxceleb import BadAudioError
from labkit.errors import LabkitError
from labkit.files import atomic_path, sha256_file

GPU_BATCH_SECONDS = 320.0  # padded audio per batch on a GPU: 16 utterances of 20 s; bounds memory whatever the lengths
CPU_BATCH_SECONDS = 10.0  # on a CPU larger batches overflow the cache: 320 s was 3-4x slower than one at a time (bench_embed)
CHUNK_SECONDS = 180.0  # longer utterances are embedded in pieces (VoxCeleb1 test's longest: about 145 s)


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"`` -> this process's GPU if there is one, else the CPU. A device that torch does not know, or a GPU
    that is not there, is a ``LabkitError`` (one line from the command line)."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(f"cuda:{local_rank}" if name == "cuda" else name)  # under torchrun each process takes its own GPU
    except RuntimeError:
        raise LabkitError(f"device {name!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise LabkitError(f"device {name!r}: torch sees {torch.cuda.device_count()} CUDA GPU(s); use auto or cpu")
    return device


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


def split_into_pieces(frames: np.ndarray, chunk_samples: int | None) -> pd.DataFrame:
    """One row (``row``, ``start``, ``stop``) per piece to embed: each utterance whole, or, when longer than
    ``chunk_samples``, cut into the fewest equal pieces that are no longer."""
    counts = np.ones(len(frames), dtype=int) if not chunk_samples else np.maximum(1, -(-frames // chunk_samples))
    rows = np.repeat(np.arange(len(frames)), counts)
    index = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)  # 0, 1, ... within each utterance
    bounds = lambda k: (frames[rows] * k) // counts[rows]  # noqa: E731  equal cuts
    return pd.DataFrame({"row": rows, "start": bounds(index), "stop": bounds(index + 1)})


def length_batches(lengths: np.ndarray, batch_size: int, max_batch_samples: int | None = None) -> list[list[int]]:
    """Batches of indices of similar length (longest first), so that little padding is computed. A batch holds at
    most ``batch_size`` items and, padded to its longest, at most ``max_batch_samples`` samples (a longer item
    goes alone)."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches: list[list[int]] = []
    for index in order.tolist():
        batch = batches[-1] if batches else None
        longest = lengths[batch[0]] if batch else 0  # sorted: the first item of a batch is its longest
        if batch and len(batch) < batch_size and (max_batch_samples is None or (len(batch) + 1) * longest <= max_batch_samples):
            batch.append(index)
        else:
            batches.append([index])
    return batches


class AudioPieces(Dataset):
    """Pieces of audio files (``path``, ``start``, ``stop`` in samples) as float32 tensors; a file holding NaN or
    infinite samples is an error that names it."""

    def __init__(self, paths: list[str], starts: np.ndarray, stops: np.ndarray) -> None:
        self.paths, self.starts, self.stops = paths, starts.tolist(), stops.tolist()

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        path = self.paths[index]
        audio = sf.read(path, start=self.starts[index], stop=self.stops[index], dtype="float32")[0]
        if audio.ndim != 1:
            raise BadAudioError(f"{path}: {audio.shape[1]} channels, expected mono")
        bad = np.count_nonzero(~np.isfinite(audio))
        if bad:
            raise BadAudioError(f"{path}: {bad} samples are NaN or infinite (a float wav with broken values)")
        return torch.from_numpy(audio)


def collate_pieces(batch: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded waveforms (B, longest) and their true lengths."""
    return pad_sequence(batch, batch_first=True), torch.tensor([len(wav) for wav in batch])


def cache_key(path: str | Path) -> str:
    """An utterance's cache key: the SHA-256 of its file, so a copy anywhere reuses the cache and an edit does not."""
    return sha256_file(path)


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


def _check_long_enough(model: nn.Module, manifest: pd.DataFrame, frames: np.ndarray) -> None:
    """Refuse, naming them, the files shorter than the model's front-end can turn into one frame."""
    shortest = model.frontend.min_samples
    short = np.flatnonzero(frames < shortest)
    if len(short):
        names = [f"{manifest['path'].iloc[i]} ({frames[i]} samples)" for i in short[:5]]
        raise BadAudioError(f"{len(short)} utterance(s) shorter than the {shortest} samples the model needs: " + ", ".join(names))


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
    max_batch_seconds: float | None = None,
    chunk_seconds: float = CHUNK_SECONDS,
) -> tuple[list[str], np.ndarray]:
    """Embeddings of the utterances of ``manifest`` (columns ``utt``, ``path``, ``duration``), on the model's device.

    Returns (utterance ids in manifest order, float32 matrix (utterances, embed_dim)). ``max_seconds`` > 0
    reads only the start of each file; ``max_batch_seconds`` (None: by the model's device) and
    ``chunk_seconds`` bound memory (see the module's docstring). With ``cache_dir``, embeddings are
    stored under the model's checksum and reused by any later call.
    """
    device = next(model.parameters()).device
    if max_batch_seconds is None:
        max_batch_seconds = CPU_BATCH_SECONDS if device.type == "cpu" else GPU_BATCH_SECONDS
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not (max_batch_seconds > 0 and chunk_seconds > 0):
        raise ValueError(f"max_batch_seconds and chunk_seconds must be positive (inf: no limit), got {max_batch_seconds} and {chunk_seconds}")
    rate = model.config.frontend.sample_rate
    ids = manifest["utt"].astype(str).tolist()
    keys = [cache_key(p) for p in manifest["path"]]
    crop_samples = int(round(crop_seconds * rate))
    settings = (f"crops{crops}x{crop_seconds:g}s-" if crops else f"full-chunk{chunk_seconds:g}s-") + f"max{max_seconds:g}s"
    folder = Path(cache_dir) / f"{model_checksum(model)[:16]}-{settings}" if cache_dir else None
    cached = _read_shards(folder) if folder else {}
    todo = [i for i, key in enumerate(keys) if key not in cached]

    frames = (manifest["duration"].to_numpy()[todo] * rate).round().astype(int)
    if max_seconds > 0:
        frames = np.minimum(frames, int(max_seconds * rate))
    _check_long_enough(model, manifest.iloc[todo], frames)
    pieces = split_into_pieces(frames, None if crops or math.isinf(chunk_seconds) else int(chunk_seconds * rate))
    lengths = (pieces["stop"] - pieces["start"]).to_numpy()
    dataset = AudioPieces(manifest["path"].to_numpy()[todo][pieces["row"]].tolist(), pieces["start"].to_numpy(), pieces["stop"].to_numpy())
    batches = length_batches(lengths, batch_size, None if math.isinf(max_batch_seconds) else int(max_batch_seconds * rate))
    loader = DataLoader(dataset, batch_sampler=batches, collate_fn=collate_pieces, num_workers=num_workers)
    sums = np.zeros((len(todo), model.embed_dim), dtype=np.float64)  # length-weighted sum of each utterance's pieces
    left = np.bincount(pieces["row"], minlength=len(todo))  # pieces still to embed, per utterance
    weights = lengths / frames[pieces["row"]]  # 1.0 for a whole utterance

    was_training = model.training
    model.eval()
    with tqdm(total=len(keys), initial=len(keys) - len(todo), desc="embed", unit="utt", disable=not progress, dynamic_ncols=True) as bar:
        try:  # `with`: an error closes the bar first, so its message starts on a line of its own
            for batch, (wavs, wav_lengths) in zip(batches, loader):
                embeddings = embed_batch(model, wavs.to(device), wav_lengths.to(device), crops, crop_samples).float().cpu().numpy()
                rows = pieces["row"].to_numpy()[batch]
                np.add.at(sums, rows, embeddings * weights[batch, None])
                np.subtract.at(left, rows, 1)
                finished = [row for row in dict.fromkeys(rows.tolist()) if left[row] == 0]
                finished_keys = [keys[todo[row]] for row in finished]
                cached.update(zip(finished_keys, sums[finished].astype(np.float32)))
                if folder and finished:
                    _write_shard(folder, finished_keys, sums[finished].astype(np.float32))
                bar.update(len(finished))
        finally:
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
