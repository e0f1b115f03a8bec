"""What the model reads in training: random crops, batch orders, augmentation (evaluation batches: ``labkit.embed``).

- ``TrainCrops``: one fixed-length random crop (default 2 s) per item, int16 PCM as stored, with
  the speaker's class label; ``pcm_to_float`` turns a batch into float32 in [-1, 1) where it is
  used (the training loop: on the device). A crop costs O(crop): soundfile reads only
  ``start:stop`` (or a slice of a packed int16 file, see ``labkit.data.packed``). Where the crop
  starts depends only on (seed, epoch, item), so any number of DataLoader workers gives the same
  batches (with ``augment``, the same to within one int16 step: the reverb's float rounding depends
  on the number of threads). Why int16: a DataLoader worker hands every batch over in new shared memory, and writing
  it costs a page fault per 4 kB; int16 halves those bytes, and the conversion to float moves out
  of the workers (benchmarks/bench_loader.py).
- ``balanced_batches``: N speakers x M utterances per batch (for margin losses that like
  several utterances of a speaker together). Uniform batches are ``labkit.train.epoch_batches``.
- ``Augment``: additive noise at a random SNR, reverb, gain; torch code that runs the same on
  a CPU worker (one item) or on the GPU (a whole batch). Synthetic noise and reverb follow the
  recipes of ``labkit.data.acoustics``, the same ones the synthetic corpus records through.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch
from torch.utils.data import Dataset

from labkit.config import DataConfig
from labkit.data.acoustics import coloured_noise, convolve, room_impulse_responses
from labkit.data.packed import PackedAudio
from labkit.data.voxceleb import SAMPLE_RATE


def pcm_to_float(wav: torch.Tensor) -> torch.Tensor:
    """int16 PCM -> float32 in [-1, 1), as soundfile's float32 read."""
    return wav.float().div_(32768.0)


def float_to_pcm(wav: torch.Tensor) -> torch.Tensor:
    """float in [-1, 1] -> int16 PCM, rounded (as a wav file would store it); 1.0 becomes 32767."""
    return wav.mul(32768.0).round_().clamp_(-32768, 32767).to(torch.int16)


def fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """``audio`` repeated (if shorter) and cut to exactly ``samples``."""
    return audio[:samples] if len(audio) >= samples else np.resize(audio, samples)


class TrainCrops(Dataset):
    """Random fixed-length crops of training utterances (int16 PCM), labelled by speaker.

    ``augment`` works on float audio: an augmented crop is converted to float and back to int16
    (a rounding error of at most half a step, 1.5e-5, far below any noise it adds).
    ``manifest`` needs the columns ``utt``, ``speaker``, ``path`` and ``frames`` (see
    ``labkit.data.voxceleb.scan``). ``packed`` is an optional ``labkit pack-audio`` file holding
    those utterances; crops are then read from it instead of from the wav files.
    """

    def __init__(
        self,
        manifest: pd.DataFrame,
        crop_seconds: float = 2.0,
        seed: int = 0,
        augment: Augment | None = None,
        packed: str | Path | None = None,
    ):
        self.utts = manifest["utt"].astype(str).to_numpy()
        self.paths = manifest["path"].astype(str).to_numpy()
        self.frames = manifest["frames"].to_numpy(dtype=np.int64)
        self.speakers = sorted(manifest["speaker"].astype(str).unique())  # label -> speaker id
        label_of = {speaker: label for label, speaker in enumerate(self.speakers)}
        self.labels = np.array([label_of[s] for s in manifest["speaker"].astype(str)], dtype=np.int64)
        self.crop_samples = int(round(crop_seconds * SAMPLE_RATE))
        self.seed = seed
        self.epoch = 0
        self.augment = augment
        self.packed = PackedAudio(packed) if packed else None
        self.offsets = self.packed.offsets(self.utts) if self.packed else None

    def set_epoch(self, epoch: int) -> None:
        """Draw new crops: call before building each epoch's DataLoader."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.utts)

    def read(self, index: int, start: int, samples: int) -> np.ndarray:
        """``samples`` int16 samples of utterance ``index`` from ``start`` (int16 reads cost half of float32 ones)."""
        if self.packed:
            return self.packed.read(int(self.offsets[index]) + start, samples)
        return sf.read(self.paths[index], start=start, stop=start + samples, dtype="int16")[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        key = item_seed(self.seed, self.epoch, index)  # the same crop whichever worker reads it
        available = int(self.frames[index])
        start = key % (available - self.crop_samples + 1) if available > self.crop_samples else 0
        wav = torch.from_numpy(fit_length(self.read(index, start, min(available, self.crop_samples)), self.crop_samples))
        if self.augment is not None:
            wav = float_to_pcm(self.augment(pcm_to_float(wav[None]), torch.Generator().manual_seed(key >> 1))[0])
        return wav, int(self.labels[index])


def item_seed(*keys: int) -> int:
    """A well-mixed 64-bit number from a few integers (splitmix64 steps): cheap per-item randomness."""
    z = 0
    for k in keys:
        z = (z + k + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        z ^= z >> 31
    return z


def balanced_batches(labels: np.ndarray, speakers_per_batch: int, utts_per_speaker: int, epoch: int, seed: int = 0) -> list[list[int]]:
    """One epoch of batches with ``speakers_per_batch`` speakers x ``utts_per_speaker`` utterances each.

    Every speaker's utterances are visited in a shuffled cycle, so an utterance repeats only
    when its speaker has fewer than the utterances asked of it. The epoch has as many items
    as there are utterances (rounded down to whole batches); it depends only on (seed, epoch).
    """
    labels = np.asarray(labels)
    speakers = np.unique(labels)
    if speakers_per_batch > len(speakers):
        raise ValueError(f"a batch of {speakers_per_batch} speakers needs that many, the data has {len(speakers)}")
    rng = np.random.default_rng((seed, epoch))
    queues = {s: rng.permutation(np.flatnonzero(labels == s)).tolist() for s in speakers}
    position = dict.fromkeys(speakers, 0)
    batches = []
    for _ in range(len(labels) // (speakers_per_batch * utts_per_speaker)):
        batch = []
        for s in rng.choice(speakers, speakers_per_batch, replace=False):
            queue = queues[s]
            batch += [queue[(position[s] + k) % len(queue)] for k in range(utts_per_speaker)]
            position[s] += utts_per_speaker
        batches.append(batch)
    return batches


class Augment:
    """Random gain, reverb and additive noise for a batch of waveforms ``(B, samples)``, on any device.

    Noise comes from ``noise`` (a list of 1-D float tensors, e.g. ``load_folder(noise_dir)``) or,
    if empty, is synthetic (white, pink or brown). Impulse responses come from ``rirs`` or are
    synthetic (exponentially decaying noise with a random RT60).
    """

    def __init__(
        self,
        noise: list[torch.Tensor] | None = None,
        rirs: list[torch.Tensor] | None = None,
        snr_db: tuple[float, float] = (5.0, 20.0),
        noise_prob: float = 0.6,
        reverb_prob: float = 0.3,
        rt60_s: tuple[float, float] = (0.2, 0.8),
        gain_db: tuple[float, float] = (-6.0, 6.0),
    ):
        self.noise, self.rirs = noise or [], rirs or []
        self.snr_db, self.noise_prob, self.reverb_prob = snr_db, noise_prob, reverb_prob
        self.rt60_s, self.gain_db = rt60_s, gain_db

    def __call__(self, wav: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augmented copy of ``wav``; random numbers come from ``generator`` (on its device) or, without
        one, from torch's global generator on ``wav``'s device (fast on a GPU batch)."""
        where = generator.device if generator is not None else wav.device

        def uniform(low: float, high: float, n: int = len(wav)) -> torch.Tensor:
            return low + (high - low) * torch.rand(n, generator=generator, device=where).to(wav.device)

        batch, samples = wav.shape
        chosen = uniform(0, 1) < self.reverb_prob
        if chosen.any():
            wav = torch.where(chosen[:, None], convolve(wav, self._impulse_responses(batch, generator, where).to(wav.device)), wav)
        chosen = uniform(0, 1) < self.noise_prob
        if chosen.any():
            noise = self._noise(batch, samples, generator, where).to(wav.device)
            snr = 10 ** (uniform(*self.snr_db) / 10)
            scale = torch.sqrt(wav.pow(2).mean(1) / (noise.pow(2).mean(1) * snr + 1e-12))
            wav = wav + chosen[:, None] * scale[:, None] * noise
        wav = wav * 10 ** (uniform(*self.gain_db)[:, None] / 20)
        return wav.clamp(-1.0, 1.0)

    def _noise(self, batch: int, samples: int, generator: torch.Generator | None, where: torch.device) -> torch.Tensor:
        """(batch, samples) noise: random segments of the noise files, or coloured noise."""
        if self.noise:
            picks = torch.randint(len(self.noise), (batch,), generator=generator).tolist()
            rows = []
            for k in picks:
                clip = self.noise[k]
                start = int(torch.randint(max(1, len(clip) - samples + 1), (1,), generator=generator))
                rows.append(torch.from_numpy(fit_length(clip[start : start + samples].numpy(), samples)))
            return torch.stack(rows)
        slopes = torch.randint(3, (batch,), generator=generator, device=where) / 2  # 0 white, 0.5 pink, 1 brown
        return coloured_noise(slopes, samples, generator)

    def _impulse_responses(self, batch: int, generator: torch.Generator | None, where: torch.device) -> torch.Tensor:
        """(batch, taps) impulse responses with unit energy."""
        if self.rirs:
            picks = torch.randint(len(self.rirs), (batch,), generator=generator).tolist()
            taps = max(len(self.rirs[k]) for k in picks)
            irs = torch.stack([torch.nn.functional.pad(self.rirs[k], (0, taps - len(self.rirs[k]))) for k in picks])
            return irs / irs.norm(dim=1, keepdim=True)
        rt60 = self.rt60_s[0] + (self.rt60_s[1] - self.rt60_s[0]) * torch.rand(batch, generator=generator, device=where)
        return room_impulse_responses(rt60, int(self.rt60_s[1] * SAMPLE_RATE), generator=generator)


def build_augment(cfg: DataConfig) -> Augment | None:
    """The augmentation a data config asks for (``augment``, ``noise_dir``, ``rir_dir``), or None."""
    if not cfg.augment:
        return None
    return Augment(noise=load_folder(cfg.noise_dir) if cfg.noise_dir else None, rirs=load_folder(cfg.rir_dir, 2.0) if cfg.rir_dir else None)


def load_folder(folder: str | Path, max_seconds: float = 30.0) -> list[torch.Tensor]:
    """Every wav/flac below ``folder`` (first channel, first ``max_seconds``) as float32 tensors, e.g. noises or RIRs."""
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".wav", ".flac"))
    if not files:
        raise FileNotFoundError(f"{folder}: no .wav or .flac files")
    clips = []
    for path in files:
        audio, rate = sf.read(path, frames=int(max_seconds * SAMPLE_RATE), dtype="float32", always_2d=True)
        if rate != SAMPLE_RATE:
            raise ValueError(f"{path}: {rate} Hz, expected {SAMPLE_RATE} Hz")
        clips.append(torch.from_numpy(np.ascontiguousarray(audio[:, 0])))
    return clips
