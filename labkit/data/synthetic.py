"""The embedded default corpus: synthetic speakers in VoxCeleb's directory layout.

VoxCeleb cannot be downloaded everywhere, so ``make_corpus`` writes a small corpus that
*is* a speaker-verification problem: every speaker has stable vocal traits (pitch,
vocal-tract length, glottal tilt, jitter, shimmer, breathiness, speaking rate, accent =
vowel-formant offsets, sibilant colour), and every session ("video") has its own channel
(equaliser, room reverb, noise of some colour or babble, gain, sometimes band-limiting).
A speaker's voice is learnable; a session's channel is what a naive system hears first.

How one utterance is made (a source-filter synthesiser working in the STFT domain):
1. a phone plan: random syllables (consonant noise bursts and fricatives, vowels) with the
   speaker's rate, pauses between words and phrases, stress;
2. per-frame tracks: formants F1..F5 (smoothed, so vowels glide), voicing, aspiration and
   frication levels, F0 with declination, stress bumps and drift;
3. sources: a glottal pulse train (with jitter and shimmer) and white noise;
4. filter: each STFT frame of each source times the vocal-tract envelope of that frame;
5. channel: reverb -> additive noise at an SNR -> equaliser/band-limit -> gain -> PCM16.

Output, exactly like VoxCeleb: ``out/wav/idNNNNN/<11-char video id>/NNNNN.wav`` (16 kHz mono
PCM16), ``out/meta/veri_test.txt``, ``out/meta/train_list.txt``, ``out/meta/speakers.csv`` and
``out/README.txt``. The same seed gives byte-identical files whatever the number of
processes, because every speaker, session and utterance draws from its own seeded stream.
"""

from __future__ import annotations

import csv
import functools
import os
import shutil
import string
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf
from scipy import fft as sfft
from scipy.ndimage import uniform_filter1d
from scipy.signal import fftconvolve
from tqdm.auto import tqdm

from labkit.data.voxceleb import SAMPLE_RATE
from labkit.features import htk_mel_banks
from labkit.metrics import eer
from labkit.scoring import cosine_scores
from labkit.trials import Trials, read_trials, write_trials

N_FFT = 512  # synthesis STFT: 32-ms frames
HOP = 128  # 8-ms hop (N_FFT / 4 with a sqrt-Hann window reconstructs exactly)
FRAME_RATE = SAMPLE_RATE / HOP
FREQS = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE).astype(np.float32)


# ---------------------------------------------------------------------------- phones
class Phone(NamedTuple):
    """One speech sound: formant targets (adult male reference, Hz), source levels, length."""

    f1: float
    f2: float
    f3: float
    voicing: float  # glottal pulses
    aspiration: float  # noise through the vocal tract ("h")
    frication: float  # noise through a band-pass (s, sh, f, bursts)
    fric_hz: float  # centre of the frication band
    fric_octaves: float  # its width
    length: float  # duration relative to a vowel


# Vowel targets after Peterson & Barney (1952), adult male averages.
VOWELS = {
    "i": Phone(270, 2290, 3010, 1, 0, 0, 0, 1, 1.0),
    "I": Phone(390, 1990, 2550, 1, 0, 0, 0, 1, 0.8),
    "e": Phone(530, 1840, 2480, 1, 0, 0, 0, 1, 1.0),
    "ae": Phone(660, 1720, 2410, 1, 0, 0, 0, 1, 1.1),
    "a": Phone(730, 1090, 2440, 1, 0, 0, 0, 1, 1.1),
    "o": Phone(570, 840, 2410, 1, 0, 0, 0, 1, 1.0),
    "u": Phone(300, 870, 2240, 1, 0, 0, 0, 1, 0.9),
    "V": Phone(520, 1190, 2390, 1, 0, 0, 0, 1, 0.8),
}
# Consonants: formant loci for the transitions, plus their noise; plosives are closure + burst.
CONSONANTS = {
    "s": [Phone(320, 1700, 2600, 0, 0, 1.0, 6000, 0.5, 0.8)],
    "z": [Phone(320, 1700, 2600, 0.3, 0, 0.6, 6000, 0.5, 0.6)],
    "S": [Phone(300, 1800, 2500, 0, 0, 1.0, 3200, 0.6, 0.8)],
    "f": [Phone(300, 1000, 2400, 0, 0, 0.35, 5000, 1.8, 0.6)],
    "v": [Phone(300, 1000, 2400, 0.4, 0, 0.2, 5000, 1.8, 0.5)],
    "h": [Phone(500, 1500, 2500, 0, 0.7, 0, 0, 1, 0.5)],
    "m": [Phone(250, 1100, 2300, 0.45, 0, 0, 0, 1, 0.6)],
    "n": [Phone(250, 1700, 2600, 0.45, 0, 0, 0, 1, 0.6)],
    "l": [Phone(360, 1300, 2700, 0.7, 0, 0, 0, 1, 0.5)],
    "r": [Phone(350, 1060, 1380, 0.7, 0, 0, 0, 1, 0.5)],
    "w": [Phone(300, 610, 2200, 0.7, 0, 0, 0, 1, 0.4)],
    "j": [Phone(260, 2070, 3020, 0.7, 0, 0, 0, 1, 0.4)],
    "p": [Phone(300, 800, 2200, 0, 0, 0, 0, 1, 0.45), Phone(300, 800, 2200, 0, 0, 0.7, 1200, 1.5, 0.15)],
    "t": [Phone(300, 1700, 2600, 0, 0, 0, 0, 1, 0.45), Phone(300, 1700, 2600, 0, 0, 0.8, 4500, 1.0, 0.15)],
    "k": [Phone(300, 2000, 2300, 0, 0, 0, 0, 1, 0.45), Phone(300, 2000, 2300, 0, 0, 0.8, 2200, 0.8, 0.2)],
    "b": [Phone(300, 800, 2200, 0.15, 0, 0, 0, 1, 0.35), Phone(300, 800, 2200, 0.3, 0, 0.4, 1200, 1.5, 0.1)],
    "d": [Phone(300, 1700, 2600, 0.15, 0, 0, 0, 1, 0.35), Phone(300, 1700, 2600, 0.3, 0, 0.5, 4500, 1.0, 0.1)],
    "g": [Phone(300, 2000, 2300, 0.15, 0, 0, 0, 1, 0.35), Phone(300, 2000, 2300, 0.3, 0, 0.5, 2200, 0.8, 0.12)],
}
PAUSE = Phone(500, 1500, 2500, 0, 0, 0, 0, 1, 1.0)
VOWEL_NAMES = list(VOWELS)
CONSONANT_NAMES = list(CONSONANTS)
F4_HZ, F5_HZ = 3500.0, 4500.0  # higher formants, fixed by the vocal tract's length
BANDWIDTHS_HZ = np.array([70, 100, 150, 220, 300], dtype=np.float32)


# ---------------------------------------------------------------------------- speakers
@dataclass
class Speaker:
    """Traits that stay with a speaker in every session (written to meta/speakers.csv)."""

    id: str
    split: str  # "train" (id0xxxx, VoxCeleb2-like) or "test" (id1xxxx, VoxCeleb1-like)
    sex: str  # "m" or "f": two clusters, so same-sex speakers are the hard non-targets
    f0_hz: float  # mean pitch
    f0_range_st: float  # intonation range in semitones
    formant_scale: float  # 1 / vocal-tract length: every formant is multiplied by it
    tilt_db_oct: float  # glottal spectral tilt (dB per octave, negative = darker voice)
    jitter: float  # period-to-period pitch perturbation (fraction of the period)
    shimmer: float  # period-to-period amplitude perturbation (log amplitude std)
    breathiness: float  # aspiration noise relative to voicing
    rate_syl_s: float  # speaking rate, syllables per second
    bandwidth_scale: float  # formant bandwidths (wider = more muffled)
    sibilant_scale: float  # colour of s/sh
    sinus_hz: float  # a fixed spectral dip of the speaker's anatomy (piriform-sinus anti-resonance)
    accent: str  # per-vowel F1/F2 offsets (log ratios), "v:f1,f2;..."


def draw_speaker(rng: np.random.Generator, speaker_id: str, split: str) -> Speaker:
    """Random but realistic traits; the accent gives each speaker their own vowel targets."""
    sex = "f" if rng.random() < 0.5 else "m"
    female = sex == "f"
    f0 = rng.normal(205, 25) if female else rng.normal(118, 18)
    offsets = rng.normal(0.0, 0.1, size=(len(VOWELS), 2))
    accent = ";".join(f"{v}:{o1:+.3f},{o2:+.3f}" for v, (o1, o2) in zip(VOWEL_NAMES, offsets))
    return Speaker(
        id=speaker_id,
        split=split,
        sex=sex,
        f0_hz=round(float(np.clip(f0, 80, 260)), 1),
        f0_range_st=round(float(rng.uniform(2.0, 7.0)), 2),
        formant_scale=round(float(rng.normal(1.17, 0.07) if female else rng.normal(1.0, 0.07)), 3),
        tilt_db_oct=round(float(rng.uniform(-13.0, -3.0)), 2),
        jitter=round(float(rng.uniform(0.003, 0.02)), 4),
        shimmer=round(float(rng.uniform(0.02, 0.12)), 3),
        breathiness=round(float(rng.uniform(0.02, 0.5)), 3),
        rate_syl_s=round(float(rng.uniform(3.0, 6.0)), 2),
        bandwidth_scale=round(float(np.exp(rng.normal(0.0, 0.2))), 3),
        sibilant_scale=round(float(np.exp(rng.normal(0.0, 0.1))), 3),
        sinus_hz=round(float(rng.uniform(3500.0, 5500.0)), 0),
        accent=accent,
    )


def _accent_offsets(speaker: Speaker) -> np.ndarray:
    """The accent string back as a (n_vowels, 2) array of log F1/F2 offsets."""
    return np.array([[float(x) for x in item.split(":")[1].split(",")] for item in speaker.accent.split(";")])


# ---------------------------------------------------------------------------- sessions
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
        eq_db=tuple(float(x) for x in rng.normal(0.0, 1.0, size=5) / np.arange(1, 6) ** 0.5),
        eq_tilt_db_oct=float(rng.normal(0.0, 0.4)),
        lowpass_hz=float(rng.uniform(4000, 7000)) if rng.random() < 0.1 else 0.0,
        highpass_hz=float(rng.uniform(150, 300)) if rng.random() < 0.1 else 0.0,
        rt60_s=float(rng.uniform(0.15, 0.6)) if rng.random() < 0.6 else 0.0,
        reverb_ratio=float(rng.uniform(0.05, 0.6)),
        noise=str(rng.choice(["white", "pink", "brown", "babble"], p=[0.05, 0.35, 0.4, 0.2])),
        snr_db=float(5.0 + 25.0 * (1.0 - rng.random() ** 4)),  # 5-30 dB, mostly on the clean side
        level_dbfs=float(rng.uniform(-32.0, -16.0)),
    )


# ---------------------------------------------------------------------------- one utterance
class Step(NamedTuple):
    """One phone of an utterance's plan."""

    phone: Phone
    frames: int
    vowel: int  # index into VOWEL_NAMES, -1 for consonants and pauses
    stressed: bool
    phrase: int


def _phone_plan(rng: np.random.Generator, rate: float, seconds: float) -> list[Step]:
    """Syllables ((C)V(C)), words and phrases at ``rate`` syllables/s until ``seconds`` are filled."""
    frames_left = int(seconds * FRAME_RATE)
    vowel_frames = 0.55 * FRAME_RATE / rate  # a vowel takes about half a syllable
    plan = [Step(PAUSE, int(rng.integers(5, 25)), -1, False, 0)]
    phrase, syllables_in_phrase = 0, int(rng.integers(5, 12))
    frames_left -= plan[0].frames
    while frames_left > 0:
        stressed = bool(rng.random() < 0.3)
        vowel = int(rng.integers(len(VOWELS)))
        onset = CONSONANTS[CONSONANT_NAMES[rng.integers(len(CONSONANTS))]] if rng.random() < 0.8 else []
        coda = CONSONANTS[CONSONANT_NAMES[rng.integers(len(CONSONANTS))]] if rng.random() < 0.3 else []
        syllable = [(p, -1) for p in onset] + [(VOWELS[VOWEL_NAMES[vowel]], vowel)] + [(p, -1) for p in coda]
        for phone, index in syllable:
            n = max(1, int(round(vowel_frames * phone.length * (1.3 if stressed else 1.0) * rng.lognormal(0.0, 0.2))))
            plan.append(Step(phone, n, index, stressed and index >= 0, phrase))
            frames_left -= n
        syllables_in_phrase -= 1
        if syllables_in_phrase == 0:  # end of phrase: a long pause, then the pitch resets
            phrase, syllables_in_phrase = phrase + 1, int(rng.integers(5, 12))
            plan.append(Step(PAUSE, int(rng.integers(20, 50)), -1, False, phrase))
            frames_left -= plan[-1].frames
        elif rng.random() < 0.25:  # a short pause between words
            plan.append(Step(PAUSE, int(rng.integers(6, 20)), -1, False, phrase))
            frames_left -= plan[-1].frames
    return plan


def _tracks(plan: list[Step], speaker: Speaker) -> dict[str, np.ndarray]:
    """Per-frame parameters from the phone plan: piecewise-constant targets, then smoothed."""
    lengths = np.array([step.frames for step in plan])
    table = np.array([step.phone for step in plan], dtype=np.float32)  # (phones, fields of Phone)
    vowel_index = np.array([step.vowel for step in plan])
    accent = _accent_offsets(speaker)
    scale = np.ones((len(plan), 2), dtype=np.float32)
    is_vowel = vowel_index >= 0
    scale[is_vowel] = np.exp(accent[vowel_index[is_vowel]])  # the speaker's own vowels
    formants = np.stack(
        [table[:, 0] * scale[:, 0], table[:, 1] * scale[:, 1], table[:, 2], np.full(len(plan), F4_HZ), np.full(len(plan), F5_HZ)], axis=1
    ) * speaker.formant_scale
    repeat = lambda x: np.repeat(x, lengths, axis=0)  # noqa: E731  (phone values -> frame values)
    phrase = repeat(np.array([step.phrase for step in plan]))
    start = np.searchsorted(phrase, phrase)  # first frame of each frame's phrase
    end = np.searchsorted(phrase, phrase, side="right")
    return {
        "formants": uniform_filter1d(repeat(formants), 7, axis=0),  # ~50 ms glides between phones
        "voicing": uniform_filter1d(repeat(table[:, 3]), 3),
        "aspiration": uniform_filter1d(repeat(table[:, 4]), 3),
        "frication": uniform_filter1d(repeat(table[:, 5]), 2),
        "fric_hz": repeat(np.maximum(table[:, 6], 100.0)) * speaker.sibilant_scale * speaker.formant_scale**0.5,
        "fric_octaves": repeat(table[:, 7]),
        "stress": uniform_filter1d(repeat(np.array([float(step.stressed) for step in plan])), 9),
        "phrase_position": (np.arange(len(phrase)) - start) / np.maximum(end - start, 1),
    }


def _glottal_pulses(rng: np.random.Generator, f0_frames: np.ndarray, n_samples: int, speaker: Speaker) -> np.ndarray:
    """A pulse train following the F0 track, with jitter (timing) and shimmer (amplitude)."""
    frame_times = (np.arange(len(f0_frames)) + 0.5) * HOP
    f0 = np.interp(np.arange(n_samples), frame_times, f0_frames)
    phase = np.cumsum(f0 / SAMPLE_RATE)
    cycle = np.floor(phase)
    at = np.flatnonzero(np.diff(cycle)) + 1  # first sample of each new glottal cycle
    period = SAMPLE_RATE / f0[at]
    when = at - (phase[at] - cycle[at]) * period + rng.normal(0.0, speaker.jitter, len(at)) * period
    amplitude = np.sqrt(period) * np.exp(rng.normal(0.0, speaker.shimmer, len(at)))  # unit power per sample
    when = np.clip(when, 0, n_samples - 2)
    index = when.astype(np.int64)
    frac = when - index
    # each pulse is split between its two neighbouring samples (fractional timing)
    return (np.bincount(index, amplitude * (1 - frac), n_samples) + np.bincount(index + 1, amplitude * frac, n_samples)).astype(np.float32)


_WINDOW = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def _stft(x: np.ndarray) -> np.ndarray:
    """Frames (hop ``HOP``, sqrt-Hann window) -> (frames, N_FFT // 2 + 1) complex spectrum."""
    padded = np.pad(x, (N_FFT - HOP, N_FFT))
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    return sfft.rfft(frames * _WINDOW, axis=1)


def _istft(spectrum: np.ndarray, n_samples: int) -> np.ndarray:
    """Overlap-add inverse of ``_stft`` (sqrt-Hann twice at hop N/4 sums to 2)."""
    frames = sfft.irfft(spectrum, N_FFT, axis=1).astype(np.float32) * _WINDOW
    n_frames, overlap = len(frames), N_FFT // HOP
    out = np.zeros((n_frames + overlap) * HOP, dtype=np.float32)
    for k in range(overlap):
        out[k * HOP : (k + n_frames) * HOP] += frames[:, k * HOP : (k + 1) * HOP].reshape(-1)
    return out[N_FFT - HOP : N_FFT - HOP + n_samples] / 2.0


def _vocal_tract(formants: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """|H(f)| of a cascade of resonators, one row per frame: prod_k F_k^2 / |F_k^2 - f^2 + j f B_k|."""
    f2 = FREQS**2
    power = np.ones((len(formants), len(FREQS)), dtype=np.float32)
    for k in range(formants.shape[1]):
        fk2 = (formants[:, k : k + 1] ** 2).astype(np.float32)
        power *= fk2**2 / ((fk2 - f2) ** 2 + f2 * bandwidths[k] ** 2)
    return np.sqrt(power)


def synthesize_speech(rng: np.random.Generator, speaker: Speaker, session: Session, seconds: float) -> np.ndarray:
    """``seconds`` of clean speech from this speaker in this session's mood (float32, unscaled)."""
    plan = _phone_plan(rng, speaker.rate_syl_s * session.rate_shift, seconds)
    tracks = _tracks(plan, speaker)
    n_frames = len(tracks["voicing"])
    n_samples = n_frames * HOP
    # F0: declination over each phrase, a bump on stressed vowels, slow drift (in semitones)
    drift = uniform_filter1d(np.cumsum(rng.normal(0.0, 0.15, n_frames)), 25)
    semitones = speaker.f0_range_st * (0.4 - 0.8 * tracks["phrase_position"] + 0.6 * tracks["stress"]) + drift - drift.mean()
    f0 = speaker.f0_hz * session.f0_shift * 2.0 ** (semitones / 12)
    voiced = _stft(_glottal_pulses(rng, f0, n_samples, speaker))[:n_frames]
    noise = _stft(rng.standard_normal(n_samples, dtype=np.float32))[:n_frames]
    tract = _vocal_tract(tracks["formants"], BANDWIDTHS_HZ * speaker.bandwidth_scale)
    tract *= 1.0 - 0.9 * np.exp(-0.5 * ((FREQS - speaker.sinus_hz) / 250.0) ** 2)  # the speaker's dip
    octaves = np.log2(np.maximum(FREQS, 50.0) / 100.0)
    glottal_tilt = 2.0 ** (octaves.clip(0) * (speaker.tilt_db_oct + session.tilt_shift_db_oct) / 6.02)
    aspiration_shape = FREQS / (FREQS + 1000.0)  # turbulence is weak at low frequencies
    band = np.exp(-0.5 * ((octaves - np.log2(tracks["fric_hz"][:, None] / 100.0)) / tracks["fric_octaves"][:, None]) ** 2)
    breath = tracks["aspiration"] + speaker.breathiness * tracks["voicing"]
    spectrum = voiced * (tracks["voicing"][:, None] * tract * glottal_tilt)
    spectrum += noise * (breath[:, None] * tract * aspiration_shape + 0.3 * tracks["frication"][:, None] * band)
    return _istft(spectrum, n_samples)[: int(seconds * SAMPLE_RATE)]  # the plan ends on a whole syllable: cut


# ---------------------------------------------------------------------------- the channel
def _coloured_noise(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    """White, pink (1/f) or brown (1/f^2) noise of unit power, drawn directly as a random spectrum."""
    slope = {"white": 0.0, "pink": 0.5, "brown": 1.0}[kind]
    size = sfft.next_fast_len(n, real=True)
    freqs = np.maximum(np.fft.rfftfreq(size, 1 / SAMPLE_RATE), 20.0).astype(np.float32)
    real, imag = rng.standard_normal((2, len(freqs)), dtype=np.float32)
    spectrum = (real + 1j * imag) / freqs**slope
    x = sfft.irfft(spectrum, size)[:n]
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def babble(rng: np.random.Generator, seconds: float = 3.0, voices: int = 6) -> np.ndarray:
    """Several random background talkers at once, unit power."""
    mix = sum(_unit(synthesize_speech(rng, draw_speaker(rng, "babble", "none"), draw_session(rng), seconds)) for _ in range(voices))
    return _unit(mix)


@functools.lru_cache(maxsize=2)
def babble_loops(seed: int, count: int = 4) -> list[np.ndarray]:
    """The corpus's babble recordings, made once per process and shared by all sessions."""
    return [babble(_rng(seed, 5, k)) for k in range(count)]


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


def record(rng: np.random.Generator, speech: np.ndarray, session: Session, loops: list[np.ndarray]) -> np.ndarray:
    """Speech through the session's room, noise, equaliser and gain -> int16 samples."""
    n = len(speech)
    if session.rt60_s:  # exponentially decaying noise tail after the direct sound
        t = np.arange(int(session.rt60_s * SAMPLE_RATE)) / SAMPLE_RATE
        tail = rng.standard_normal(len(t), dtype=np.float32) * np.exp(-6.9 * t / session.rt60_s).astype(np.float32)
        ir = np.concatenate([[1.0], np.sqrt(session.reverb_ratio / np.sum(tail**2)) * tail]).astype(np.float32)
        speech = fftconvolve(speech, ir)[:n]
    if session.noise == "babble":
        loop = loops[rng.integers(len(loops))]
        noise = _unit(np.roll(np.resize(loop, n), int(rng.integers(n))))
    else:
        noise = _coloured_noise(rng, session.noise, n)
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


# ---------------------------------------------------------------------------- the corpus
@dataclass(frozen=True)
class Preset:
    """How big a corpus is."""

    train_speakers: int  # id0xxxx, listed in meta/train_list.txt
    test_speakers: int  # id1xxxx, used by meta/veri_test.txt
    train_sessions: tuple[int, int]  # sessions per training speaker (inclusive range)
    train_utterances: tuple[int, int]  # utterances per training session (inclusive range)
    test_sessions: int  # sessions per test speaker
    test_utterances: int  # utterances per test session
    seconds: tuple[float, float, float]  # utterance length: shortest, mean, longest
    trials: int  # half targets (mostly across sessions), half non-targets


PRESETS = {
    "tiny": Preset(8, 4, (2, 2), (2, 2), 2, 2, (2.0, 2.5, 3.0), 40),  # a few seconds, for unit tests
    "lab": Preset(300, 40, (2, 4), (1, 2), 6, 3, (2.0, 3.2, 10.0), 8000),  # about 1.8 hours, the offline lab
}
CROSS_SESSION_TARGETS = 0.9  # fraction of target trials whose two utterances come from different videos


def _rng(*keys: int) -> np.random.Generator:
    """An independent random stream per (seed, purpose, speaker, session, utterance)."""
    return np.random.default_rng(np.random.SeedSequence(list(keys)))


@dataclass
class SpeakerJob:
    """Everything a worker needs to write one speaker's files."""

    seed: int
    index: int
    speaker: Speaker
    sessions: list[Session]
    seconds: list[list[float]]  # per session, the length of each utterance


def plan_corpus(preset: Preset, seed: int) -> list[SpeakerJob]:
    """Speakers, their sessions and utterance lengths (cheap; the audio comes later)."""
    jobs = []
    for index in range(preset.train_speakers + preset.test_speakers):
        train = index < preset.train_speakers
        speaker_id = f"id{index + 1:05d}" if train else f"id1{index - preset.train_speakers + 1:04d}"
        speaker = draw_speaker(_rng(seed, 0, index), speaker_id, "train" if train else "test")
        rng = _rng(seed, 1, index)
        n_sessions = int(rng.integers(preset.train_sessions[0], preset.train_sessions[1] + 1)) if train else preset.test_sessions
        sessions = [draw_session(rng) for _ in range(n_sessions)]
        lo, mean, hi = preset.seconds
        seconds = []
        for _ in sessions:
            n = int(rng.integers(preset.train_utterances[0], preset.train_utterances[1] + 1)) if train else preset.test_utterances
            seconds.append([float(np.clip(lo + rng.exponential(mean - lo), lo, hi)) for _ in range(n)])
        jobs.append(SpeakerJob(seed, index, speaker, sessions, seconds))
    return jobs


def write_speaker(job: SpeakerJob, wav_dir: Path) -> list[tuple[str, int, float]]:
    """Synthesise and record one speaker's utterances; return (utterance id, session, seconds) rows."""
    rows = []
    for s, (session, lengths) in enumerate(zip(job.sessions, job.seconds)):
        folder = wav_dir / job.speaker.id / session.video
        folder.mkdir(parents=True, exist_ok=True)
        for u, seconds in enumerate(lengths):
            rng = _rng(job.seed, 2, job.index, s, u)
            loops = babble_loops(job.seed) if session.noise == "babble" else []
            audio = record(rng, synthesize_speech(rng, job.speaker, session, seconds), session, loops)
            name = f"{u + 1:05d}.wav"
            sf.write(folder / name, audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
            rows.append((f"{job.speaker.id}/{session.video}/{name}", s, len(audio) / SAMPLE_RATE))
    return rows


def make_trials(rows: list[tuple[str, int, int]], n_trials: int, seed: int) -> Trials:
    """Balanced trials from (utterance id, speaker index, session) rows: targets mostly cross-session."""
    rng = _rng(seed, 4)
    utts = np.array([r[0] for r in rows])
    speaker = np.array([r[1] for r in rows])
    session = np.array([r[2] for r in rows])
    i, j = np.triu_indices(len(rows), k=1)
    same_speaker = speaker[i] == speaker[j]
    cross = np.flatnonzero(same_speaker & (session[i] != session[j]))
    within = np.flatnonzero(same_speaker & (session[i] == session[j]))
    n_targets = n_trials // 2
    n_cross = min(len(cross), round(CROSS_SESSION_TARGETS * n_targets))
    n_within = min(len(within), n_targets - n_cross)
    targets = np.concatenate([rng.choice(cross, n_cross, replace=False), rng.choice(within, n_within, replace=False)])
    nontargets = rng.choice(np.flatnonzero(~same_speaker), n_trials - len(targets), replace=False)
    chosen = np.concatenate([targets, nontargets])
    a, b = i[chosen], j[chosen]
    flip = rng.random(len(chosen)) < 0.5  # either utterance may be the enrolment one
    enroll, test = np.where(flip, b, a), np.where(flip, a, b)
    order = np.lexsort((utts[test], utts[enroll]))
    labels = (speaker[enroll] == speaker[test]).astype(np.int8)
    return Trials(labels=labels[order], enroll=utts[enroll][order], test=utts[test][order])


def make_corpus(
    out_dir: str | Path,
    preset: str = "tiny",
    seed: int = 0,
    speakers: int | None = None,
    workers: int | None = None,
    force: bool = False,
) -> Path:
    """Write a synthetic corpus in VoxCeleb's layout to ``out_dir`` and return its path.

    ``speakers`` overrides the preset's number of training speakers. An existing corpus made
    with the same settings is reused; anything else already at ``out_dir`` is an error unless
    ``force`` (then it is replaced, only once the new corpus is complete). The corpus is built
    in a temporary folder beside ``out_dir`` and moved into place at the end.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown corpus preset {preset!r}; expected one of {sorted(PRESETS)}")
    sizes = PRESETS[preset]
    if speakers is not None:
        sizes = Preset(**{**asdict(sizes), "train_speakers": int(speakers)})
    out = Path(out_dir)
    recipe = _recipe(preset, seed, sizes)
    if out.exists() and not force:
        readme = out / "README.txt"
        if readme.is_file() and recipe in readme.read_text(encoding="utf-8"):
            return out  # made before with the same settings
        raise ValueError(f"{out} already exists and is not a corpus with {recipe}; choose another folder or pass --force")
    started = time.perf_counter()
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "meta").mkdir(parents=True)
    jobs = plan_corpus(sizes, seed)
    workers = workers or (min(2, os.cpu_count() or 1) if len(jobs) > 50 else 1)  # small corpora: not worth a pool
    command = f"labkit make-corpus --out {out.name} --preset {preset} --seed {seed}" + (f" --speakers {speakers}" if speakers is not None else "")
    try:
        written = _write_audio(jobs, partial / "wav", workers, preset)
        _write_meta(partial, sizes, seed, jobs, written)
        baseline = baseline_eer(partial)
        _write_readme(partial, command, recipe, sizes, jobs, written, baseline)
    except BaseException:  # an error or Ctrl-C: leave nothing half-written behind
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out.exists():  # --force: swap the finished corpus in, then drop the old one
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(partial, out)
        shutil.rmtree(old)
    else:
        os.replace(partial, out)
    seconds = sum(row[2] for rows in written for row in rows)
    print(f"{out}: {len(jobs)} speakers, {seconds / 3600:.2f} h of audio in {time.perf_counter() - started:.1f} s "
          f"({workers} processes); mean log-mel baseline EER {100 * baseline['eer']:.1f} %", file=sys.stderr)
    return out


def _write_audio(jobs: list[SpeakerJob], wav_dir: Path, workers: int, preset: str) -> list[list[tuple[str, int, float]]]:
    """Every speaker's wav files, in ``workers`` processes; returns each speaker's rows in job order."""
    written = []
    with tqdm(total=len(jobs), desc=f"synthetic corpus ({preset})", unit="speaker") as bar:
        if workers == 1:
            for job in jobs:
                written.append(write_speaker(job, wav_dir))
                bar.update()
        else:
            with ProcessPoolExecutor(workers) as pool:  # output does not depend on the number of workers
                for rows in pool.map(write_speaker, jobs, [wav_dir] * len(jobs)):
                    written.append(rows)
                    bar.update()
    return written


GENERATOR_VERSION = 1  # bump when the audio changes for the same seed


def _recipe(preset: str, seed: int, sizes: Preset) -> str:
    """One line that identifies a corpus: generator version, preset, seed and sizes."""
    return f"recipe: generator v{GENERATOR_VERSION}, preset {preset}, seed {seed}, {sizes}"


def _write_meta(root: Path, sizes: Preset, seed: int, jobs: list[SpeakerJob], written: list[list[tuple[str, int, float]]]) -> None:
    """meta/train_list.txt, meta/veri_test.txt and meta/speakers.csv."""
    train_lines = [f"{job.speaker.id} {utt}\n" for job, rows in zip(jobs, written) if job.speaker.split == "train" for utt, _, _ in rows]
    (root / "meta" / "train_list.txt").write_text("".join(train_lines), encoding="utf-8")
    test_rows = [(utt, job.index, session) for job, rows in zip(jobs, written) if job.speaker.split == "test" for utt, session, _ in rows]
    write_trials(root / "meta" / "veri_test.txt", make_trials(test_rows, sizes.trials, seed))
    with open(root / "meta" / "speakers.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([field.name for field in fields(Speaker)] + ["sessions", "utterances", "seconds"])
        for job, rows in zip(jobs, written):
            writer.writerow(list(asdict(job.speaker).values()) + [len(job.sessions), len(rows), round(sum(r[2] for r in rows), 2)])


def _write_readme(
    root: Path, command: str, recipe: str, sizes: Preset, jobs: list[SpeakerJob], written: list[list[tuple[str, int, float]]], baseline: dict[str, float]
) -> None:
    """README.txt: how the corpus was made, what varies with the speaker and what with the session."""
    seconds = {split: sum(r[2] for job, rows in zip(jobs, written) if job.speaker.split == split for r in rows) for split in ("train", "test")}
    utterances = {split: sum(len(rows) for job, rows in zip(jobs, written) if job.speaker.split == split) for split in ("train", "test")}
    text = f"""Synthetic speaker-verification corpus in VoxCeleb's layout (made by labkit)
===========================================================================

Command: {command}
{recipe}

Contents
- wav/idNNNNN/<11-character video id>/NNNNN.wav: 16 kHz mono PCM16, one folder per session ("video").
- {sizes.train_speakers} training speakers (id0xxxx, like VoxCeleb2): {utterances['train']} utterances, {seconds['train'] / 3600:.2f} h,
  listed in meta/train_list.txt (voxceleb_trainer format: "id00001 id00001/<video>/00001.wav").
- {sizes.test_speakers} test speakers (id1xxxx, like VoxCeleb1): {utterances['test']} utterances, {seconds['test'] / 3600:.2f} h,
  {sizes.test_sessions} sessions each; meta/veri_test.txt has {sizes.trials} trials ("1 enrol.wav test.wav"), half of them
  targets, {100 * CROSS_SESSION_TARGETS:.0f} % of the targets across sessions.
- meta/speakers.csv: every speaker's traits (below), so you can see what makes two speakers confusable.

How the audio is made (labkit/data/synthetic.py)
A source-filter synthesiser: random syllables (fricatives, plosive bursts, nasals, liquids, vowels
with formant glides), words, phrases and pauses; a glottal pulse train plus noise, shaped frame by
frame by the formants of the vocal tract.
Stays with the speaker (meta/speakers.csv):
  sex-like cluster (m/f), mean F0 (80-260 Hz) and intonation range, vocal-tract length (formant
  scaling), glottal spectral tilt, jitter, shimmer, breathiness, speaking rate, formant bandwidths,
  sibilant colour, a narrow spectral dip at 3.5-5.5 kHz (piriform-sinus anti-resonance), and an
  accent: the speaker's own F1/F2 offsets for each of the 8 vowels.
Changes with the session (video):
  pitch, effort and tempo of the day; microphone equaliser (smooth wiggles of a few dB and a
  tilt); in 10 % of sessions a low-pass (4-7 kHz), in 10 % a high-pass (150-300 Hz); room reverb
  (RT60 0.15-0.6 s) in 60 %; additive white, pink, brown or babble noise at 5-30 dB SNR (mostly
  above 20 dB); recording level. Nothing about the channel depends on the speaker.
Utterances are 2-10 s (mean about {sizes.seconds[1]:g} s). The same command always writes the same bytes.

Difficulty (training-free baseline: cosine between centred mean log-mel vectors, labkit.data.synthetic.baseline_eer)
  EER on all trials of meta/veri_test.txt:          {100 * baseline['eer']:.1f} %
  EER with cross-session targets only:              {100 * baseline['eer_cross_session']:.1f} %
  EER with same-session targets only:               {100 * baseline['eer_same_session']:.1f} %
A speaker-embedding network trained on the training speakers should do far better.
"""
    (root / "README.txt").write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------- a training-free baseline
def mean_logmel(audio: np.ndarray, n_mels: int = 40) -> np.ndarray:
    """The average log-mel spectrum of an utterance's speech frames (25-ms Hamming frames, 10-ms hop).

    Speech frames are the louder half of the frames (a crude energy voice-activity detector), so
    that pauses, which hold only the session's noise, do not dominate the average.
    """
    frames = np.lib.stride_tricks.sliding_window_view(audio, 400)[::160] * np.hamming(400)
    banks = htk_mel_banks(n_mels, 512, SAMPLE_RATE).numpy()  # the melspec front-end's filters, (257, n_mels)
    logmel = np.log(np.abs(np.fft.rfft(frames, 512, axis=1)) ** 2 @ banks + 1e-8)
    energy = logmel.sum(axis=1)
    return logmel[energy >= np.median(energy)].mean(axis=0)


def baseline_eer(root: str | Path) -> dict[str, float]:
    """EER of the cosine between mean log-mel vectors (level removed, centred) on root/meta/veri_test.txt.

    Returns ``eer`` (all trials), ``eer_cross_session`` and ``eer_same_session`` (each with
    all non-targets but only the targets across / within a session).
    """
    root = Path(root)
    trials = read_trials(root / "meta" / "veri_test.txt")
    utts = trials.utterances()
    vectors = np.stack([mean_logmel(sf.read(root / "wav" / utt, dtype="float32")[0]) for utt in utts])
    vectors -= vectors.mean(axis=1, keepdims=True)  # a recording's level adds the same constant to every band
    vectors -= vectors.mean(axis=0)  # centre on the corpus average spectrum
    scores = cosine_scores(trials, utts, vectors)
    video = lambda utts: np.array([u.split("/")[1] for u in utts])  # noqa: E731
    same_session = video(trials.enroll) == video(trials.test)
    targets = trials.labels == 1
    result = {"eer": eer(scores, trials.labels)[0]}
    for name, keep in (("eer_cross_session", ~same_session), ("eer_same_session", same_session)):
        subset = ~targets | keep
        result[name] = eer(scores[subset], trials.labels[subset])[0]
    return result
