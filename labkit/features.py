"""Waveform -> log-mel features, in plain torch, batched and on any device.

Two recipes, each reproducing the toolkit whose checkpoints we load:

* ``kind="fbank"``: Kaldi filterbanks as ``torchaudio.compliance.kaldi.fbank`` computes them
  (WeSpeaker): 25 ms frames cut inside the signal ("snip edges"), per-frame DC removal and
  pre-emphasis, symmetric window, 512-point power spectrum, Kaldi mel banks from 20 Hz, log
  with a float-eps floor; then per-utterance mean normalisation (CMN).
* ``kind="melspec"``: ``torchaudio.transforms.MelSpectrogram`` (voxceleb_trainer): frames
  centred on each hop with reflect padding, periodic window, HTK mel banks, power 2; optional
  pre-emphasis of the waveform, ``log(x + 1e-6)`` and instance norm.

Shapes: ``wav`` (B, samples) -> ``feats`` (B, n_mels, frames). With ``lengths`` (valid samples
per row of a zero-padded batch) every row gets exactly the features it would get alone, frames
past its end are zero, and ``frame_lengths`` says how many are valid.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from labkit.config import FrontendConfig

KALDI_LOG_FLOOR = torch.finfo(torch.float32).eps  # Kaldi floors energies at float epsilon before the log
MELSPEC_LOG_OFFSET = 1e-6  # voxceleb_trainer: log(mel + 1e-6)
INSTANCE_NORM_EPS = 1e-5  # nn.InstanceNorm1d's default
NORMALIZATIONS = ("cmn", "instance", "none")
CHUNK_FRAMES = 512  # frames taken through the steps together on a CPU: their FFT buffer and spectrum (2 MB) stay in cache


def window_function(name: str, length: int, periodic: bool) -> Tensor:
    """Analysis window. Kaldi uses symmetric windows (periodic=False); torch.stft uses the periodic ones."""
    if name == "hamming":
        return torch.hamming_window(length, periodic=periodic, alpha=0.54, beta=0.46)
    if name == "hann":
        return torch.hann_window(length, periodic=periodic)
    if name == "povey":  # Kaldi's default: Hann raised to 0.85, never quite zero inside the frame
        return torch.hann_window(length, periodic=periodic).pow(0.85)
    raise ValueError(f"unknown window {name!r}; expected 'hamming', 'hann' or 'povey'")


def _triangles(x: Tensor, edges: Tensor) -> Tensor:
    """Triangular filters on the axis ``x``: filter i rises from edges[i] to 1 at edges[i+1] and falls to edges[i+2]."""
    left, centre, right = edges[:-2], edges[1:-1], edges[2:]
    rising = (x.unsqueeze(1) - left) / (centre - left)
    falling = (right - x.unsqueeze(1)) / (right - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0)  # (len(x), n_filters)


def kaldi_mel_banks(n_mels: int, n_fft: int, sample_rate: int, low_freq: float = 20.0, high_freq: float = 0.0) -> Tensor:
    """Kaldi's mel filters, (n_fft // 2 + 1, n_mels): triangles on the mel axis 1127 ln(1 + f/700), no area normalisation.

    ``high_freq <= 0`` counts down from the Nyquist frequency, as in Kaldi. The Nyquist bin gets no weight.
    """
    high_freq = high_freq + sample_rate / 2 if high_freq <= 0 else high_freq
    mel_low = 1127.0 * math.log(1.0 + low_freq / 700.0)
    mel_high = 1127.0 * math.log(1.0 + high_freq / 700.0)
    edges = mel_low + torch.arange(n_mels + 2) * ((mel_high - mel_low) / (n_mels + 1))  # equally spaced in mel
    bin_mels = 1127.0 * (1.0 + sample_rate / n_fft * torch.arange(n_fft // 2) / 700.0).log()  # each FFT bin on the mel axis
    return F.pad(_triangles(bin_mels, edges), (0, 0, 0, 1))  # zero row for the Nyquist bin


def htk_mel_banks(n_mels: int, n_fft: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None) -> Tensor:
    """torchaudio's ``melscale_fbanks(norm=None, mel_scale="htk")``, (n_fft // 2 + 1, n_mels): triangles on the Hz axis
    between points equally spaced on the mel axis 2595 log10(1 + f/700)."""
    f_max = sample_rate / 2 if f_max is None else f_max
    mel_min = 2595.0 * math.log10(1.0 + f_min / 700.0)
    mel_max = 2595.0 * math.log10(1.0 + f_max / 700.0)
    edges = 700.0 * (10.0 ** (torch.linspace(mel_min, mel_max, n_mels + 2) / 2595.0) - 1.0)  # back to Hz
    bin_freqs = torch.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    return _triangles(bin_freqs, edges)


def pre_emphasis(x: Tensor, coefficient: float) -> Tensor:
    """y[n] = x[n] - c x[n-1] along the last axis, the missing x[-1] taken as x[1] (voxceleb_trainer's reflect
    padding of the waveform). Kaldi's version, inside each frame, is written in ``kaldi_fbank``."""
    return x - coefficient * torch.cat([x[..., 1:2], x[..., :-1]], dim=-1)


def reflect_pad(wav: Tensor, pad: int, lengths: Tensor | None = None) -> Tensor:
    """Pad each row with ``pad`` mirrored samples on both sides, as ``torch.stft(center=True)`` does, mirroring at
    each row's own last valid sample (so padding in a batch never leaks into a row's features)."""
    padded = F.pad(wav.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)  # right end mirrored at the batch's end
    if lengths is None or int(lengths.min()) == wav.shape[-1]:  # every row full: nothing to mirror again
        return padded
    step = torch.arange(1, pad + 1, device=wav.device)
    last = lengths.to(wav.device).unsqueeze(1) - 1 + pad  # each row's last valid sample, in padded coordinates
    return padded.scatter(1, last + step, padded.gather(1, (last - step).clamp(min=0)))  # x[last + k] = x[last - k]


def cache_chunks(frames: Tensor) -> list[Tensor]:
    """Views of ``frames`` (B, frames, ...) of about ``CHUNK_FRAMES`` frames each: several whole rows when rows are
    short, pieces of one row when it is long. On a GPU, the whole batch in one piece."""
    if frames.device.type != "cpu":
        return [frames]
    rows = max(1, CHUNK_FRAMES // max(1, frames.shape[1]))
    return [piece for block in frames.split(rows) for piece in block.split(CHUNK_FRAMES, dim=1)]


def fft_buffer(windows: Tensor, n_fft: int) -> tuple[Tensor, Tensor]:
    """A (..., frames, n_fft) buffer for the frames in ``windows`` (..., frames, frame_length): zero past each frame,
    and its first frame_length columns, not yet filled. The caller writes each processed frame there in one pass
    (``out=``), and ``torch.fft.rfft`` reads the buffer without padding it again."""
    buffer = windows.new_empty(*windows.shape[:-1], n_fft)
    buffer[..., windows.shape[-1] :] = 0
    return buffer, buffer[..., : windows.shape[-1]]


def mel_power(buffer: Tensor, mel_banks: Tensor) -> Tensor:
    """Mel-weighted power spectrum of zero-padded frames: (..., frames, n_fft) -> (..., frames, n_mels)."""
    squares = torch.view_as_real(torch.fft.rfft(buffer)).square_()  # (..., bins, 2): re^2 and im^2 of each bin
    return (squares[..., 0] + squares[..., 1]) @ mel_banks  # |X|^2, then the mel filters as one matrix product


def kaldi_fbank(
    wav: Tensor, window: Tensor, mel_banks: Tensor, hop_length: int = 160, n_fft: int = 512,
    preemphasis: float = 0.97, dither: float = 0.0,
) -> Tensor:
    """Log mel filterbank energies as ``torchaudio.compliance.kaldi.fbank(use_energy=False)``: (B, n_mels, frames)
    with frames = 1 + (samples - window) // hop. ``window`` and ``mel_banks`` come from ``window_function(...,
    periodic=False)`` and ``kaldi_mel_banks``.

    On a CPU the frames go through the steps in chunks of ``CHUNK_FRAMES`` (``cache_chunks``), so that each step
    reads what the one before wrote while it is still in the cache, instead of a whole batch's worth from memory,
    and no batch-sized temporary is allocated (the kernel maps fresh pages for one, a page fault per 4 kB, every call)."""
    windows = wav.unfold(-1, window.numel(), hop_length)  # a view: "snip edges", no frame sticks out
    feats = windows.new_empty(*windows.shape[:-1], mel_banks.shape[1])  # (B, frames, n_mels)
    c = preemphasis
    for chunk, out in zip(cache_chunks(windows), cache_chunks(feats)):
        if dither > 0:
            chunk = chunk + dither * torch.randn_like(chunk)
        buffer, frames = fft_buffer(chunk, n_fft)
        # Kaldi removes each frame's mean m, then pre-emphasises inside the frame with x[-1] = x[0]:
        # (x[n] - m) - c (x[n-1] - m) = x[n] - c x[n-1] - (1 - c) m, and (1 - c)(x[0] - m) for the first sample.
        torch.sub(chunk[..., 1:], chunk[..., :-1], alpha=c, out=frames[..., 1:])
        torch.mul(chunk[..., 0], 1 - c, out=frames[..., 0])
        frames.sub_((1 - c) * chunk.mean(dim=-1, keepdim=True))
        frames.mul_(window)
        torch.log(mel_power(buffer, mel_banks).clamp_(min=KALDI_LOG_FLOOR), out=out)
    return feats.transpose(1, 2)


def mel_spectrogram(
    wav: Tensor, window: Tensor, mel_banks: Tensor, hop_length: int = 160, n_fft: int = 512, lengths: Tensor | None = None,
) -> Tensor:
    """Mel power as ``torchaudio.transforms.MelSpectrogram(center=True, pad_mode="reflect", power=2)``:
    (B, n_mels, frames) with frames = 1 + samples // hop, frame t centred on sample t * hop.

    torch.stft centres the shorter window inside each ``n_fft`` frame; we take only the samples under the
    window and put them at the start of the frame instead: a shift changes the phase, not |X|^2. The frames
    go through in chunks, as in ``kaldi_fbank``."""
    left = (n_fft - window.numel()) // 2
    right = n_fft - window.numel() - left
    padded = reflect_pad(wav, n_fft // 2, lengths)
    windows = padded[..., left : padded.shape[-1] - right].unfold(-1, window.numel(), hop_length)  # frame t from t * hop
    power = windows.new_empty(*windows.shape[:-1], mel_banks.shape[1])  # (B, frames, n_mels)
    for chunk, out in zip(cache_chunks(windows), cache_chunks(power)):
        buffer, frames = fft_buffer(chunk, n_fft)
        torch.mul(chunk, window, out=frames)
        out.copy_(mel_power(buffer, mel_banks))
    return power.transpose(1, 2)


def normalize(feats: Tensor, frame_lengths: Tensor | None, how: str) -> Tensor:
    """Per-utterance normalisation over time, counting only valid frames; frames past the end become zero.

    ``"cmn"`` subtracts the mean of each mel bin, ``"instance"`` also divides by the standard deviation
    (``nn.InstanceNorm1d``: biased variance, eps 1e-5, no affine), ``"none"`` leaves the values.
    """
    if frame_lengths is None:
        mask = torch.ones_like(feats[:, :1, :])
    else:
        mask = (torch.arange(feats.shape[-1], device=feats.device) < frame_lengths.unsqueeze(1)).unsqueeze(1).to(feats.dtype)
    if how == "none":
        return feats * mask
    count = mask.sum(dim=-1, keepdim=True).clamp(min=1)
    centred = (feats - (feats * mask).sum(dim=-1, keepdim=True) / count) * mask
    if how == "cmn":
        return centred
    variance = centred.pow(2).sum(dim=-1, keepdim=True) / count
    return centred / torch.sqrt(variance + INSTANCE_NORM_EPS)


class Frontend(nn.Module):
    """The feature extractor inside every model: (B, samples) waveforms -> (B, n_mels, frames) features.

    Runs in float32 even under autocast. Dither (fbank only) is added in training mode only.
    The window and mel banks are buffers (they follow ``.to(device)``) rebuilt from the config,
    so they are not saved in checkpoints.
    """

    def __init__(self, config: FrontendConfig) -> None:
        super().__init__()
        if config.kind not in ("fbank", "melspec"):
            raise ValueError(f"unknown front-end kind {config.kind!r}; expected 'fbank' or 'melspec'")
        if config.win_length > config.n_fft:
            raise ValueError(f"win_length {config.win_length} is longer than n_fft {config.n_fft}")
        if config.normalize not in NORMALIZATIONS:
            raise ValueError(f"unknown normalisation {config.normalize!r}; expected one of {NORMALIZATIONS}")
        self.config = config
        kaldi = config.kind == "fbank"
        window = window_function(config.window, config.win_length, periodic=not kaldi)
        banks = (kaldi_mel_banks if kaldi else htk_mel_banks)(config.n_mels, config.n_fft, config.sample_rate)
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("mel_banks", banks, persistent=False)

    def num_frames(self, num_samples: int | Tensor) -> int | Tensor:
        """Frames produced for ``num_samples`` samples (an int or a tensor of lengths)."""
        if self.config.kind == "melspec":
            return 1 + num_samples // self.config.hop_length
        frames = 1 + (num_samples - self.config.win_length) // self.config.hop_length
        return frames.clamp(min=0) if isinstance(frames, Tensor) else max(0, frames)

    @property
    def min_samples(self) -> int:
        """The shortest waveform that gives features: one frame (fbank), or enough to mirror n_fft / 2 samples at each end (melspec)."""
        return self.config.win_length if self.config.kind == "fbank" else self.config.n_fft // 2 + 1

    def forward(self, wav: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Features and valid frames per row (None when ``lengths`` is None)."""
        config = self.config
        if wav.dim() != 2:
            raise ValueError(f"expected a waveform batch shaped (batch, samples), got {tuple(wav.shape)}")
        if not wav.is_floating_point():  # int16 training crops are 32768 times louder than the float audio models expect
            raise TypeError(f"expected float audio in [-1, 1), got {wav.dtype}: convert PCM with labkit.data.dataset.pcm_to_float")
        shortest = wav.shape[1] if lengths is None else int(lengths.min())  # every row of a padded batch counts
        if shortest < self.min_samples:
            raise ValueError(f"a waveform of {shortest} samples is shorter than the {self.min_samples} samples the {config.kind} front-end needs")
        with torch.autocast(device_type=wav.device.type, enabled=False):
            wav = wav.float() * config.input_scale  # some checkpoints were trained on int16-scale audio
            if config.kind == "fbank":
                dither = config.dither if self.training else 0.0
                feats = kaldi_fbank(wav, self.window.float(), self.mel_banks.float(), config.hop_length, config.n_fft, config.preemphasis, dither)
            else:
                if config.preemphasis > 0:
                    wav = pre_emphasis(wav, config.preemphasis)
                power = mel_spectrogram(wav, self.window.float(), self.mel_banks.float(), config.hop_length, config.n_fft, lengths)
                feats = (power + MELSPEC_LOG_OFFSET).log()
            frame_lengths = None if lengths is None else self.num_frames(lengths.to(wav.device))
            return normalize(feats, frame_lengths, config.normalize), frame_lengths


def build_frontend(config: FrontendConfig) -> Frontend:
    """The front-end module described by ``config``."""
    return Frontend(config)
