"""Noise and room reverberation: one set of recipes for the synthetic corpus and for training augmentation.

- ``coloured_noise``: white, pink (power ~ 1/f) or brown (power ~ 1/f^2) noise of unit power;
- ``room_impulse_responses``: exponentially decaying noise that is 60 dB down after RT60
  (Schroeder's statistical model of a diffuse reverberant field), after a direct sound;
- ``convolve``: each waveform through its own impulse response, cut to the input length.

Torch code on any device, a batch at a time: ``labkit.data.dataset.Augment`` calls it on training
crops (CPU workers or the GPU), ``labkit.data.synthetic.channel`` on one utterance.
"""

from __future__ import annotations

import torch
from scipy.fft import next_fast_len
from torch import Tensor

from labkit.data.voxceleb import SAMPLE_RATE

NOISE_SLOPES = {"white": 0.0, "pink": 0.5, "brown": 1.0}  # amplitude spectrum ~ 1 / f^slope
DECAY_60_DB = 6.9078  # ln(1000): an amplitude envelope exp(-6.9 t / RT60) is 60 dB down at RT60


def coloured_noise(slopes: Tensor, samples: int, generator: torch.Generator | None = None) -> Tensor:
    """(len(slopes), samples) noise, one row per amplitude slope (see ``NOISE_SLOPES``), each of unit power.

    White Gaussian noise is shaped in the frequency domain (below 20 Hz the spectrum is held flat).
    Random numbers come from ``generator`` (on its device) and the result is on the device of ``slopes``.
    """
    where = generator.device if generator is not None else slopes.device
    size = next_fast_len(samples, real=True)  # an FFT of a prime length is many times slower
    white = torch.randn(len(slopes), size, generator=generator, device=where).to(slopes.device)
    freqs = torch.fft.rfftfreq(size, 1 / SAMPLE_RATE, device=slopes.device).clamp(min=20.0)
    noise = torch.fft.irfft(torch.fft.rfft(white) / freqs ** slopes[:, None], size)[:, :samples]
    return noise / noise.pow(2).mean(dim=1, keepdim=True).sqrt().clamp(min=1e-12)


def room_impulse_responses(rt60_s: Tensor, taps: int, reverb_ratio: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
    """(len(rt60_s), taps) impulse responses of unit energy: a direct sound, then a decaying noise tail.

    ``reverb_ratio``: energy of the tail relative to the direct sound (None: as drawn, which is
    about RT60 * 16000 / 13.8 for a unit-variance tail, i.e. a far-field, reverberant recording).
    """
    where = generator.device if generator is not None else rt60_s.device
    t = torch.arange(taps, device=rt60_s.device) / SAMPLE_RATE
    tail = torch.randn(len(rt60_s), taps, generator=generator, device=where).to(rt60_s.device)
    tail = tail * torch.exp(-DECAY_60_DB * t / rt60_s[:, None])
    tail[:, 0] = 0.0
    if reverb_ratio is not None:
        tail = tail * torch.sqrt(reverb_ratio[:, None] / tail.pow(2).sum(dim=1, keepdim=True).clamp(min=1e-12))
    tail[:, 0] = 1.0  # the direct sound
    return tail / tail.norm(dim=1, keepdim=True)


def convolve(wav: Tensor, irs: Tensor) -> Tensor:
    """Row-wise linear convolution via the FFT, cut to the input length."""
    n = next_fast_len(wav.shape[1] + irs.shape[1] - 1, real=True)
    return torch.fft.irfft(torch.fft.rfft(wav, n) * torch.fft.rfft(irs, n), n)[:, : wav.shape[1]]
