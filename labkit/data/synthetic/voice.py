"""The voice: speakers with stable traits, and a source-filter synthesiser that makes them speak.

How one utterance is made (a source-filter synthesiser working in the STFT domain):
1. a phone plan: random syllables (consonant noise bursts and fricatives, vowels) with the
   speaker's rate, pauses between words and phrases, stress;
2. per-frame tracks: formants F1..F5 (the phone's targets through the speaker's vocal-tract length,
   articulatory setting, accent and own F4/F5; smoothed, so vowels glide), voicing, aspiration and
   frication levels, F0 with declination, stress bumps and drift;
3. sources: Rosenberg glottal pulses of the speaker's open and speed quotients (with jitter and
   shimmer) and white noise;
4. filter: each STFT frame of each source times the vocal-tract envelope of that frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import fft as sfft
from scipy.ndimage import uniform_filter1d

from labkit.data.voxceleb import SAMPLE_RATE

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
    open_quotient: float  # fraction of each glottal cycle the folds are open (breathy: high, pressed: low)
    speed_quotient: float  # glottal opening time / closing time (pulse skew)
    tilt_db_oct: float  # extra spectral tilt of the source (dB per octave; a slow return phase darkens the voice)
    jitter: float  # period-to-period pitch perturbation (fraction of the period)
    shimmer: float  # period-to-period amplitude perturbation (log amplitude std)
    breathiness: float  # aspiration noise relative to voicing
    rate_syl_s: float  # speaking rate, syllables per second
    f1_ratio: float  # articulatory setting: the speaker's F1, F2 and F3 relative to every phone's target
    f2_ratio: float  # (jaw opening, tongue fronting, lip rounding, pharynx width: habits of a lifetime)
    f3_ratio: float
    f4_hz: float  # F4 and F5 (before the vocal-tract scaling): set by the laryngeal and hypopharyngeal
    f5_hz: float  # cavities, they change little with the phone but a lot between speakers
    bandwidth_scale: float  # formant bandwidths (wider = more muffled)
    sibilant_scale: float  # colour of s/sh
    sinus_hz: float  # a fixed spectral dip of the speaker's anatomy (piriform-sinus anti-resonance)
    accent: str  # per-vowel F1/F2 offsets (log ratios), "v:f1,f2;..."


def draw_speaker(rng: np.random.Generator, speaker_id: str, split: str) -> Speaker:
    """Random but realistic traits; the accent gives each speaker their own vowel targets."""
    sex = "f" if rng.random() < 0.5 else "m"
    female = sex == "f"
    f0 = rng.normal(210, 30) if female else rng.normal(120, 24)
    offsets = rng.normal(0.0, 0.15, size=(len(VOWELS), 2))
    accent = ";".join(f"{v}:{o1:+.3f},{o2:+.3f}" for v, (o1, o2) in zip(VOWEL_NAMES, offsets))
    return Speaker(
        id=speaker_id,
        split=split,
        sex=sex,
        f0_hz=round(float(np.clip(f0, 80, 260)), 1),
        f0_range_st=round(float(rng.uniform(2.0, 7.0)), 2),
        formant_scale=round(float(rng.normal(1.17, 0.09) if female else rng.normal(1.0, 0.09)), 3),
        open_quotient=round(float(rng.uniform(0.5, 0.9) if female else rng.uniform(0.35, 0.8)), 3),
        speed_quotient=round(float(rng.uniform(1.2, 4.0)), 2),
        tilt_db_oct=round(float(rng.uniform(-9.0, 0.0)), 2),
        jitter=round(float(rng.uniform(0.003, 0.02)), 4),
        shimmer=round(float(rng.uniform(0.02, 0.12)), 3),
        breathiness=round(float(rng.uniform(0.02, 0.5)), 3),
        rate_syl_s=round(float(rng.uniform(3.0, 6.0)), 2),
        f1_ratio=round(float(np.exp(rng.normal(0.0, 0.06))), 3),
        f2_ratio=round(float(np.exp(rng.normal(0.0, 0.06))), 3),
        f3_ratio=round(float(np.exp(rng.normal(0.0, 0.05))), 3),
        f4_hz=round(float(rng.normal(3500.0, 200.0)), 0),
        f5_hz=round(float(rng.normal(4500.0, 250.0)), 0),
        bandwidth_scale=round(float(np.exp(rng.normal(0.0, 0.2))), 3),
        sibilant_scale=round(float(np.exp(rng.normal(0.0, 0.1))), 3),
        sinus_hz=round(float(rng.uniform(3500.0, 5500.0)), 0),
        accent=accent,
    )


def _accent_offsets(speaker: Speaker) -> np.ndarray:
    """The accent string back as a (n_vowels, 2) array of log F1/F2 offsets."""
    return np.array([[float(x) for x in item.split(":")[1].split(",")] for item in speaker.accent.split(";")])


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
            plan.append(Step(PAUSE, int(rng.integers(12, 30)), -1, False, phrase))
            frames_left -= plan[-1].frames
        elif rng.random() < 0.1:  # a short pause between words
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
    n = len(plan)
    formants = np.stack([
        table[:, 0] * scale[:, 0] * speaker.f1_ratio,
        table[:, 1] * scale[:, 1] * speaker.f2_ratio,
        table[:, 2] * speaker.f3_ratio,
        np.full(n, speaker.f4_hz),
        np.full(n, speaker.f5_hz),
    ], axis=1) * speaker.formant_scale
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
    """Rosenberg glottal flow-derivative pulses following the F0 track, with jitter and shimmer.

    Each cycle of period T opens for ``open_quotient * T``: the flow rises as a half cosine for
    ``speed_quotient`` times as long as it falls, then the folds stay closed. A long, gentle opening
    (breathy voice) gives a strong first harmonic and little energy above; a short, abrupt one
    (pressed voice) the reverse: the H1-H2 and spectral slope that set speakers apart.
    """
    frame_times = (np.arange(len(f0_frames)) + 0.5) * HOP
    f0 = np.interp(np.arange(n_samples), frame_times, f0_frames)
    phase = np.cumsum(f0 / SAMPLE_RATE)
    cycle = np.floor(phase)
    at = np.flatnonzero(np.diff(cycle)) + 1  # first sample of each new glottal cycle
    if len(at) == 0:  # shorter than one cycle: silence
        return np.zeros(n_samples, dtype=np.float32)
    period = SAMPLE_RATE / f0[at]
    when = at - (phase[at] - cycle[at]) * period + rng.normal(0.0, speaker.jitter, len(at)) * period
    opening = period * speaker.open_quotient * speaker.speed_quotient / (1.0 + speaker.speed_quotient)
    closing = period * speaker.open_quotient / (1.0 + speaker.speed_quotient)
    start = np.floor(when).astype(np.int64)
    t = np.arange(int(np.ceil((opening + closing).max())) + 2) + start[:, None] - when[:, None]  # (pulses, taps)
    op, cl = opening[:, None], closing[:, None]
    rising = (t >= 0) & (t < op)
    falling = (t >= op) & (t < op + cl)
    pulse = np.where(rising, np.pi / (2 * op) * np.sin(np.pi * t / op), 0.0)  # d/dt of 0.5 (1 - cos(pi t / Tp))
    pulse += np.where(falling, -np.pi / (2 * cl) * np.sin(np.pi * (t - op) / (2 * cl)), 0.0)  # d/dt of cos(pi (t - Tp) / 2 Tn)
    energy = np.sum(pulse**2, axis=1, keepdims=True)
    amplitude = np.sqrt(period[:, None] / energy) * np.exp(rng.normal(0.0, speaker.shimmer, (len(at), 1)))  # unit power per sample
    index = (start[:, None] + np.arange(pulse.shape[1])).ravel()
    inside = (index >= 0) & (index < n_samples)
    return np.bincount(index[inside], (pulse * amplitude).ravel()[inside], n_samples).astype(np.float32)


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


def synthesize_speech(
    rng: np.random.Generator, speaker: Speaker, seconds: float, f0_shift: float = 1.0, tilt_shift_db_oct: float = 0.0, rate_shift: float = 1.0
) -> np.ndarray:
    """``seconds`` of clean speech from this speaker (float32, unscaled), in the day's pitch, effort and tempo."""
    plan = _phone_plan(rng, speaker.rate_syl_s * rate_shift, seconds)
    tracks = _tracks(plan, speaker)
    n_frames = len(tracks["voicing"])
    n_samples = n_frames * HOP
    # F0: declination over each phrase, a bump on stressed vowels, slow drift (in semitones)
    drift = uniform_filter1d(np.cumsum(rng.normal(0.0, 0.15, n_frames)), 25)
    semitones = speaker.f0_range_st * (0.4 - 0.8 * tracks["phrase_position"] + 0.6 * tracks["stress"]) + drift - drift.mean()
    f0 = speaker.f0_hz * f0_shift * 2.0 ** (semitones / 12)
    voiced = _stft(_glottal_pulses(rng, f0, n_samples, speaker))[:n_frames]
    noise = _stft(rng.standard_normal(n_samples, dtype=np.float32))[:n_frames]
    tract = _vocal_tract(tracks["formants"], BANDWIDTHS_HZ * speaker.bandwidth_scale)
    tract *= 1.0 - 0.9 * np.exp(-0.5 * ((FREQS - speaker.sinus_hz) / 250.0) ** 2)  # the speaker's dip
    octaves = np.log2(np.maximum(FREQS, 50.0) / 100.0)
    glottal_tilt = 2.0 ** (octaves.clip(0) * (speaker.tilt_db_oct + tilt_shift_db_oct) / 6.02)
    aspiration_shape = FREQS / (FREQS + 1000.0)  # turbulence is weak at low frequencies
    band = np.exp(-0.5 * ((octaves - np.log2(tracks["fric_hz"][:, None] / 100.0)) / tracks["fric_octaves"][:, None]) ** 2)
    breath = tracks["aspiration"] + speaker.breathiness * tracks["voicing"]
    spectrum = voiced * (tracks["voicing"][:, None] * tract * glottal_tilt)
    spectrum += noise * (breath[:, None] * tract * aspiration_shape + 0.3 * tracks["frication"][:, None] * band)
    return _istft(spectrum, n_samples)[: int(seconds * SAMPLE_RATE)]  # the plan ends on a whole syllable: cut


def random_stream(*keys: int) -> np.random.Generator:
    """An independent random stream per (seed, purpose, speaker, session, utterance)."""
    return np.random.default_rng(np.random.SeedSequence(list(keys)))
