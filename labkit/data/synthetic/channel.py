"""The channel: what a recording session ("video") does to a voice, and nothing about who speaks.

Every session has its own microphone and codec response (equaliser, tilt, sometimes band
limits), room (reverberation), background (coloured noise or babble at an SNR) and level.
The same speaker also has a day: pitch, effort and tempo shift a little from session to session.
Noise and reverberation follow ``labkit.data.acoustics``, the recipes training augmentation uses.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass

import numpy as np
import torch
from scipy import fft as sfft

from labkit.data.acoustics import NOISE_SLOPES, coloured_noise, convolve, room_impulse_responses
from labkit.data.synthetic.voice import draw_speaker, istft, random_stream, stft, synthesize_speech
from labkit.data.voxceleb import SAMPLE_RATE

@dataclass
class Session:
    """One recording ("video"): the speaker's mood of the day and the channel."""

    video: str  # 11 characters, like a YouTube id
    f0_shift: float  # pitch of the day (ratio)
    rd_shift: float  # vocal effort of the day (a factor on the speaker's Rd: below 1 = pressed)
    rate_shift: float  # tempo of the day (ratio)
    eq_db: tuple[float, ...]  # microphone response: cosine coefficients over log-frequency (dB)
    eq_tilt_db_oct: float  # microphone tilt
    lowpass_hz: float  # 0 = full band
    highpass_hz: float  # 0 = none
    rt60_s: float  # room reverberation time; 0 = dry
    reverb_ratio: float  # reverberant-to-direct energy (10^(-DRR/10))
    noise: str  # "white", "pink", "brown" or "babble"
    snr_db: float
    codec: str  # "none", "phone" (G.711 band and 8-bit mu-law) or "lossy" (MP3-like: masked components dropped)
    level_dbfs: float  # RMS level of the recording


VIDEO_ALPHABET = np.array(list(string.ascii_letters + string.digits + "-_"))


def draw_session(rng: np.random.Generator) -> Session:
    """A random recording situation; none of it depends on who speaks.

    Ranges after published measurements: consumer microphones are within about +-5 dB of flat over
    100 Hz-8 kHz, many high-passed at 60-150 Hz; rooms have RT60 0.2-0.7 s (living rooms, offices),
    and a talker 0.3-1.5 m from the microphone gives a direct-to-reverberant ratio of about 4-18 dB;
    a few sessions go through a telephone codec (300-3400 Hz, G.711 mu-law), some through a lossy
    low-bitrate coder. Online video is loudness-normalised (about -14 LUFS), so levels vary by a few dB.
    """
    codec = str(rng.choice(["none", "phone", "lossy"], p=[0.77, 0.03, 0.2]))
    return Session(
        video="".join(rng.choice(VIDEO_ALPHABET, size=11)),
        f0_shift=float(np.exp(rng.normal(0.0, 0.04))),
        rd_shift=float(np.exp(rng.normal(0.0, 0.1))),
        rate_shift=float(np.exp(rng.normal(0.0, 0.08))),
        eq_db=tuple(float(x) for x in rng.normal(0.0, 1.0, size=5) / np.arange(1, 6) ** 0.5),
        eq_tilt_db_oct=float(rng.normal(0.0, 0.4)),
        lowpass_hz=3400.0 if codec == "phone" else float(rng.uniform(5000, 7500)) if codec == "lossy" else 0.0,
        highpass_hz=300.0 if codec == "phone" else float(rng.uniform(60, 150)) if rng.random() < 0.3 else 0.0,
        rt60_s=float(rng.uniform(0.2, 0.7)) if rng.random() < 0.4 else 0.0,
        reverb_ratio=float(10 ** (-rng.uniform(8.0, 20.0) / 10)),
        noise=str(rng.choice(["white", "pink", "brown", "babble"], p=[0.1, 0.4, 0.2, 0.3])),
        snr_db=float(15.0 + 25.0 * (1.0 - rng.random() ** 3)),  # 15-40 dB, mostly on the clean side
        codec=codec,
        level_dbfs=float(rng.uniform(-22.0, -17.0)),
    )


def babble(rng: np.random.Generator, seconds: float = 3.0, voices: int = 6) -> np.ndarray:
    """Several random background talkers at once, unit power."""
    mix = sum(_unit(synthesize_speech(rng, draw_speaker(rng, "babble", "none"), seconds)) for _ in range(voices))
    return _unit(mix)


@functools.lru_cache(maxsize=2)
def babble_loops(seed: int, count: int = 4) -> list[np.ndarray]:
    """The corpus's babble recordings, made once per process and shared by all sessions."""
    return [babble(random_stream(seed, 5, k)) for k in range(count)]


def _unit(x: np.ndarray) -> np.ndarray:
    """Scaled to unit mean power."""
    return x / np.sqrt(np.mean(x**2) + 1e-12)


def _equaliser_db(session: Session, freqs: np.ndarray) -> np.ndarray:
    """The session's microphone/codec response in dB at ``freqs``: smooth wiggles, tilt, band limits."""
    u = np.log2(np.clip(freqs, 50.0, 8000.0) / 50.0) / np.log2(8000.0 / 50.0)  # 0..1 over log-frequency
    eq = sum(c * np.cos(np.pi * (j + 1) * u) for j, c in enumerate(session.eq_db))
    eq = eq + session.eq_tilt_db_oct * np.log2(np.maximum(freqs, 50.0) / 1000.0)
    if session.lowpass_hz:
        eq = eq - 40.0 / (1.0 + np.exp(-(freqs - session.lowpass_hz) / 150.0))  # steep roll-off
    if session.highpass_hz:
        eq = eq - 30.0 / (1.0 + np.exp((freqs - session.highpass_hz) / 40.0))
    return eq


def _drop_masked(audio: np.ndarray, below_db: float = 30.0) -> np.ndarray:
    """MP3-like artefacts: STFT components more than ``below_db`` under their frame's peak are zeroed
    (a perceptual coder spends no bits on what it deems masked), leaving holes that come and go."""
    spectrum = stft(audio)
    power = np.abs(spectrum) ** 2
    keep = power >= power.max(axis=1, keepdims=True) * 10 ** (-below_db / 10)
    return istft(spectrum * keep, len(audio))


def record(rng: np.random.Generator, speech: np.ndarray, session: Session, loops: list[np.ndarray]) -> np.ndarray:
    """Speech through the session's room, noise, equaliser and gain -> int16 samples."""
    n = len(speech)
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))  # torch's stream for the shared recipes
    if session.rt60_s:  # a direct sound, then exponentially decaying noise
        rt60, ratio = torch.tensor([session.rt60_s]), torch.tensor([session.reverb_ratio])
        ir = room_impulse_responses(rt60, int(session.rt60_s * SAMPLE_RATE), ratio, generator)
        speech = convolve(torch.from_numpy(speech)[None], ir)[0].numpy()
    if session.noise == "babble":
        loop = loops[rng.integers(len(loops))]
        noise = _unit(np.roll(np.resize(loop, n), int(rng.integers(n))))
    else:
        noise = coloured_noise(torch.tensor([NOISE_SLOPES[session.noise]]), n, generator)[0].numpy()
    snr_db = session.snr_db + rng.normal(0.0, 1.5)
    mixed = speech + noise * np.sqrt(np.mean(speech**2) / 10 ** (snr_db / 10))
    size = sfft.next_fast_len(n, real=True)
    grid = np.linspace(0.0, SAMPLE_RATE / 2, 1025)  # the response is smooth: compute it every 7.8 Hz, interpolate
    eq_db = np.interp(np.fft.rfftfreq(size, 1 / SAMPLE_RATE), grid, _equaliser_db(session, grid))
    gain = (10 ** (eq_db / 20)).astype(np.float32)
    out = sfft.irfft(sfft.rfft(mixed, size) * gain, size)[:n]
    if session.codec == "lossy":
        out = _drop_masked(out)
    level_dbfs = session.level_dbfs + rng.normal(0.0, 1.0)
    out *= 10 ** (level_dbfs / 20) / np.sqrt(np.mean(out**2) + 1e-12)
    if session.codec == "phone":  # G.711: 8-bit mu-law (mu = 255) quantisation of the signal
        mu = 255.0
        compressed = np.round(127.5 * np.sign(out) * np.log1p(mu * np.minimum(np.abs(out), 1.0)) / np.log1p(mu)) / 127.5
        out = (np.sign(compressed) * np.expm1(np.abs(compressed) * np.log1p(mu)) / mu).astype(np.float32)
    return np.clip(np.round(out * 32768), -32768, 32767).astype(np.int16)

