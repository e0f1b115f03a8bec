"""Resemblyzer's speaker encoder in plain torch, with the weights it publishes inside its wheel.

Resemblyzer 0.1.4 (Apache-2.0) is the GE2E encoder of Wan et al. (2018), "Generalized end-to-end
loss for speaker verification", trained on real speech (LibriSpeech, VoxCeleb1 and 2). labkit uses
it as a real model next to the synthetic built-in one, and as a realism meter for the synthetic
corpus (``labkit realism``). Its package drags librosa and webrtcvad; only its weights are needed:

    wav (16 kHz)
    -> volume raised to -30 dBFS (never lowered), as resemblyzer.preprocess_wav does
    -> mel power spectrogram: 25-ms Hann frames, 10-ms hop, 40 Slaney mel bands (librosa's
       melspectrogram; not a log-mel: the network was trained on power)
    -> partial utterances of 160 frames (1.6 s) every 77 frames (1.3 per second, about 50 % overlap)
    -> 3 LSTM layers of 256 -> last hidden state -> linear 256 -> ReLU -> L2 norm
    -> mean of the partial embeddings, L2-normalised again (``VoiceEncoder.embed_utterance``).

The VAD that ``preprocess_wav`` applies (webrtcvad, cutting pauses longer than about 0.2 s) is
left out: an utterance is embedded whole, pauses included.

The weights come from the wheel on PyPI (``pip download resemblyzer==0.1.4 --no-deps``), which Colab
and every pip install reach: the wheel and ``resemblyzer/pretrained.pt`` inside it are checked
against their SHA-256 and the weights are kept in the cache folder (``weights_path``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from labkit.config import FrontendConfig, ModelConfig
from labkit.files import write_bytes_atomic

WHEEL = "Resemblyzer-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f"
WEIGHTS_MEMBER = "resemblyzer/pretrained.pt"
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
CACHE_ENV = "LABKIT_CACHE"  # folder for fetched weights; default $XDG_CACHE_HOME/labkit or ~/.cache/labkit

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s
PARTIAL_STEP = 77  # frames between partials: round(16000 / 1.3 / 160), embed_utterance's default rate
MIN_COVERAGE = 0.75  # the last partial is kept if the audio fills 75 % of it
TARGET_DBFS = -30.0  # quieter utterances are raised to this level


class WeightsError(RuntimeError):
    """Resemblyzer's weights could not be fetched or do not match their SHA-256."""


# ---------------------------------------------------------------------------- the weights
def cache_dir() -> Path:
    """Where fetched weights are kept: $LABKIT_CACHE, else $XDG_CACHE_HOME/labkit, else ~/.cache/labkit."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labkit"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def weights_path(folder: str | Path | None = None) -> Path:
    """``resemblyzer-0.1.4/pretrained.pt`` in the cache, fetched with pip (once) and checked against its SHA-256."""
    path = Path(folder or cache_dir()) / "resemblyzer-0.1.4" / "pretrained.pt"
    if path.is_file() and _sha256(path.read_bytes()) == WEIGHTS_SHA256:
        return path
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "resemblyzer==0.1.4", "--no-deps", "--only-binary=:all:", "--dest", tmp]
        done = subprocess.run(command, capture_output=True, text=True)
        wheel = Path(tmp) / WHEEL
        if done.returncode != 0 or not wheel.is_file():
            raise WeightsError(f"could not download {WHEEL} from PyPI ({' '.join(command[2:])}): {done.stderr.strip()[-500:]}")
        data = wheel.read_bytes()
        if _sha256(data) != WHEEL_SHA256:
            raise WeightsError(f"{WHEEL}: SHA-256 {_sha256(data)} is not the published {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as archive:  # one named member read into memory: no path from the archive is used
            weights = archive.read(WEIGHTS_MEMBER)
    if _sha256(weights) != WEIGHTS_SHA256:
        raise WeightsError(f"{WHEEL}!{WEIGHTS_MEMBER}: SHA-256 {_sha256(weights)}, expected {WEIGHTS_SHA256}")
    return write_bytes_atomic(path, weights)


# ---------------------------------------------------------------------------- the front-end
def hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(hz < 1000.0, 3.0 * hz / 200.0, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / log_step)


def slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of ``hz_to_slaney_mel``."""
    mel = np.asarray(mel, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(mel < 15.0, 200.0 * mel / 3.0, 1000.0 * np.exp(log_step * (mel - 15.0)))


def slaney_mel_banks(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> Tensor:
    """(n_fft // 2 + 1, n_mels) triangular filters, area-normalised ("slaney"), as ``librosa.filters.mel``."""
    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = slaney_mel_to_hz(np.linspace(0.0, hz_to_slaney_mel(sample_rate / 2), n_mels + 2))
    rising = (fft_hz[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    falling = (edges[2:, None] - fft_hz[None, :]) / np.diff(edges)[1:, None]
    banks = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return torch.from_numpy(banks.T.astype(np.float32))


def partial_starts(n_samples: int) -> list[int]:
    """First frame of each 1.6-s partial of an utterance (``VoiceEncoder.compute_partial_slices``, rate 1.3)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + PARTIAL_STEP + 1), PARTIAL_STEP))
    coverage = (n_samples - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(starts) > 1:  # too little audio left for the last one
        starts = starts[:-1]
    return starts


class MelPower(nn.Module):
    """One waveform (samples,) -> (frames, 40) mel power spectrogram: centred 25-ms Hann frames, zero padding."""

    min_samples = 1  # any length gives frames: utterances are zero-padded to whole partials anyway

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)  # periodic, as scipy's get_window
        self.register_buffer("mel_banks", slaney_mel_banks(), persistent=False)

    def forward(self, wav: Tensor) -> Tensor:
        spectrum = torch.stft(wav, N_FFT, HOP, window=self.window, center=True, pad_mode="constant", return_complex=True)
        return (spectrum.abs() ** 2).T @ self.mel_banks


# ---------------------------------------------------------------------------- the model
class Resemblyzer(nn.Module):
    """Waveforms (B, samples) at 16 kHz in [-1, 1] -> Resemblyzer embeddings (B, 256), like every labkit model."""

    def __init__(self) -> None:
        super().__init__()
        self.frontend = MelPower()
        self.lstm = nn.LSTM(N_MELS, 256, num_layers=3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        self.embed_dim = 256
        # What the result tables and the embedding cache read off a model (it is not built by build_model).
        self.config = ModelConfig(
            arch="resemblyzer", embed_dim=256,
            frontend=FrontendConfig(kind="melspec", n_mels=N_MELS, n_fft=N_FFT, win_length=N_FFT, hop_length=HOP,
                                    window="hann", preemphasis=0.0, normalize="none"),
        )

    def embed_partials(self, mels: Tensor) -> Tensor:
        """(partials, 160, 40) mel windows -> (partials, 256) L2-normalised embeddings."""
        _, (hidden, _) = self.lstm(mels)
        embeddings = torch.relu(self.linear(hidden[-1]))
        return embeddings / embeddings.norm(dim=1, keepdim=True)

    def forward(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``lengths``: valid samples per row of a zero-padded batch (None: every row is full)."""
        lengths = [wav.shape[1]] * len(wav) if lengths is None else lengths.tolist()
        windows, owner = [], []
        for row, length in enumerate(lengths):
            audio = wav[row, :length].float()
            rms_dbfs = 20 * torch.log10(audio.pow(2).mean().sqrt().clamp(min=1e-10))
            audio = audio * 10 ** ((TARGET_DBFS - rms_dbfs).clamp(min=0.0) / 20)  # raised, never lowered
            starts = partial_starts(length)
            audio = nn.functional.pad(audio, (0, max(0, (starts[-1] + PARTIAL_FRAMES) * HOP - length)))
            mel = self.frontend(audio)
            windows += [mel[s : s + PARTIAL_FRAMES] for s in starts]
            owner += [row] * len(starts)
        partials = self.embed_partials(torch.stack(windows))  # every partial of the batch in one LSTM call
        sums = torch.zeros(len(wav), self.embed_dim, device=wav.device).index_add_(0, torch.tensor(owner, device=wav.device), partials)
        return sums / sums.norm(dim=1, keepdim=True)


def load(map_location: str | torch.device = "cpu", folder: str | Path | None = None) -> Resemblyzer:
    """The encoder with Resemblyzer 0.1.4's weights (fetched and verified on first use), in eval mode."""
    path = weights_path(folder)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = {key: value for key, value in checkpoint["model_state"].items() if not key.startswith("similarity_")}  # GE2E loss scale
    model = Resemblyzer()
    model.load_state_dict(state)
    return model.to(map_location).eval()
