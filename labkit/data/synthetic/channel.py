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
from labkit.data.synthetic.voice import draw_speaker, random_stream, synthesize_speech
from labkit.data.voxceleb import SAMPLE_RATE

@dataclass
class Session:
    """One recording ("video"): the speaker's mood of the day and the channel."""

    video: str  # 11 characters, like a YouTube id
    f0_shift: float  # pitch of the day (ratio)
    tilt_shift_db_oct: float  # vocal effort of the day
    rate_shift: float  # tempo of the day (ratio)
    eq_db: tuple[float, ...]  # equaliser: cosine coefficients over log-frequency (dB)
    eq_tilt_db_oct: float  # microphone tilt
    lowpass_hz: float  # 0 = full band
    highpass_hz: float  # 0 = none
    rt60_s: float  # room reverberation time; 0 = dry
    reverb_ratio: float  # reverberant-to-direct energy
    noise: str  # "white", "pink", "brown" or "babble"
    snr_db: float
    level_dbfs: float  # RMS level of the recording


VIDEO_ALPHABET = np.array(list(string.ascii_letters + string.digits + "-_"))


def draw_session(rng: np.random.Generator) -> Session:
    """A random recording situation; none of it depends on who speaks."""
    return Session(
        video="".join(rng.choice(VIDEO_ALPHABET, size=11)),
        f0_shift=float(np.exp(rng.normal(0.0, 0.04))),
        tilt_shift_db_oct=float(rng.normal(0.0, 1.0)),
        rate_shift=float(np.exp(rng.normal(0.0, 0.08))),
        eq_db=tuple(float(x) for x in rng.normal(0.0, 0.75, size=5) / np.arange(1, 6) ** 0.5),  # mic/codec ripple, about 1 dB
        eq_tilt_db_oct=float(rng.normal(0.0, 0.85)),  # bright or dull microphone, about +-1 dB per octave
        lowpass_hz=float(rng.uniform(5500, 7500)) if rng.random() < 0.03 else 0.0,  # an old codec or a narrow mic
        highpass_hz=float(rng.uniform(100, 200)) if rng.random() < 0.03 else 0.0,  # a small laptop/phone mic
        rt60_s=float(rng.uniform(0.15, 0.35)) if rng.random() < 0.1 else 0.0,  # a small room, not a close-talk mic
        reverb_ratio=float(rng.uniform(0.02, 0.08)),  # mostly direct sound
        noise=str(rng.choice(["white", "pink", "brown", "babble"], p=[0.1, 0.4, 0.4, 0.1])),  # hiss, hum/fans, rumble, a crowd
        snr_db=float(25.0 + 20.0 * (1.0 - rng.random() ** 4)),  # 25-45 dB, mostly on the clean side (interviews, vlogs)
        level_dbfs=float(rng.uniform(-42.0, -30.0)),  # quiet to nominal recordings; normalisers raise them alike
    )


# ---------------------------------------------------------------------------- the channel
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
        eq = eq - 30.0 / (1.0 + np.exp(-(freqs - session.lowpass_hz) / 300.0))  # steep roll-off
    if session.highpass_hz:
        eq = eq - 30.0 / (1.0 + np.exp((freqs - session.highpass_hz) / 40.0))
    return eq


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
    level_dbfs = session.level_dbfs + rng.normal(0.0, 1.0)
    out *= 10 ** (level_dbfs / 20) / np.sqrt(np.mean(out**2) + 1e-12)
    return np.clip(np.round(out * 32768), -32768, 32767).astype(np.int16)

