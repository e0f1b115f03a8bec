"""The corpus: speakers, sessions and utterances planned from a seed, written in VoxCeleb's layout.

Output, exactly like VoxCeleb: ``out/wav/idNNNNN/<11-char video id>/NNNNN.wav`` (16 kHz mono
PCM16), ``out/meta/veri_test.txt``, ``out/meta/train_list.txt``, ``out/meta/speakers.csv`` and
``out/README.txt``. The same seed gives byte-identical files whatever the number of
processes, because every speaker, session and utterance draws from its own seeded stream.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from tqdm.auto import tqdm

from labkit.data.synthetic.baseline import baseline_eer
from labkit.data.synthetic.channel import Session, babble_loops, draw_session, record
from labkit.data.synthetic.voice import Speaker, draw_speaker, random_stream, synthesize_speech
from labkit.data.voxceleb import SAMPLE_RATE
from labkit.i18n import t
from labkit.trials import Trials, write_trials

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
        speaker = draw_speaker(random_stream(seed, 0, index), speaker_id, "train" if train else "test")
        rng = random_stream(seed, 1, index)
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
            rng = random_stream(job.seed, 2, job.index, s, u)
            loops = babble_loops(job.seed) if session.noise == "babble" else []
            speech = synthesize_speech(rng, job.speaker, seconds, session.f0_shift, session.tilt_shift_db_oct, session.rate_shift)
            audio = record(rng, speech, session, loops)
            name = f"{u + 1:05d}.wav"
            sf.write(folder / name, audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
            rows.append((f"{job.speaker.id}/{session.video}/{name}", s, len(audio) / SAMPLE_RATE))
    return rows


def make_trials(rows: list[tuple[str, int, int]], n_trials: int, seed: int) -> Trials:
    """Balanced trials from (utterance id, speaker index, session) rows: targets mostly cross-session."""
    rng = random_stream(seed, 4)
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
    print(t("corpus.made", root=out, speakers=len(jobs), hours=seconds / 3600, seconds=time.perf_counter() - started,
            workers=workers, eer=100 * baseline["eer"]), file=sys.stderr)
    return out


def _write_audio(jobs: list[SpeakerJob], wav_dir: Path, workers: int, preset: str) -> list[list[tuple[str, int, float]]]:
    """Every speaker's wav files, in ``workers`` processes; returns each speaker's rows in job order.

    Each process runs torch on one thread: the clips are small, and several threads per process on
    a busy machine spend their time waiting for each other (ten times slower on a shared 2-core CPU).
    """
    written = []
    threads = torch.get_num_threads()
    with tqdm(total=len(jobs), desc=f"synthetic corpus ({preset})", unit="speaker") as bar:
        if workers == 1:
            torch.set_num_threads(1)
            try:
                for job in jobs:
                    written.append(write_speaker(job, wav_dir))
                    bar.update()
            finally:
                torch.set_num_threads(threads)
        else:
            # fresh interpreters ("spawn"): a fork of a process that has run torch can hang in its thread pool
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context, initializer=torch.set_num_threads, initargs=(1,)) as pool:
                for rows in pool.map(write_speaker, jobs, [wav_dir] * len(jobs)):  # the output does not depend on `workers`
                    written.append(rows)
                    bar.update()
    return written


GENERATOR_VERSION = 3  # bump when the audio changes for the same seed


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

How the audio is made (labkit/data/synthetic/)
A source-filter synthesiser: random syllables (fricatives, plosive bursts, nasals, liquids, vowels
with formant glides), words, phrases and pauses; Rosenberg glottal pulses plus noise, shaped frame
by frame by the formants of the vocal tract.
Stays with the speaker (meta/speakers.csv):
  sex-like cluster (m/f), mean F0 (80-260 Hz) and intonation range, vocal-tract length (formant
  scaling), glottal open and speed quotients (H1-H2, breathy to pressed), extra source tilt,
  jitter, shimmer, breathiness, speaking rate, an articulatory setting (F1/F2/F3 ratios on every
  phone), the speaker's own F4 and F5, formant bandwidths, sibilant colour, a narrow spectral dip
  at 3.5-5.5 kHz (piriform-sinus anti-resonance), and an accent: the speaker's own F1/F2 offsets
  for each of the 8 vowels.
Changes with the session (video):
  pitch, effort and tempo of the day; microphone equaliser (smooth wiggles of a few dB and a
  tilt); in 3 % of sessions a low-pass (5.5-7.5 kHz), in 3 % a high-pass (100-200 Hz); room reverb
  (RT60 0.15-0.35 s, mostly direct sound) in 10 %; additive white, pink, brown or babble noise at
  25-45 dB SNR (mostly above 35 dB); recording level (-42 to -30 dBFS). Nothing about the channel
  depends on the speaker.
Utterances are 2-10 s (mean about {sizes.seconds[1]:g} s). The same command always writes the same bytes.

Difficulty (training-free baseline: cosine between centred mean log-mel vectors, labkit.data.synthetic.baseline_eer)
  EER on all trials of meta/veri_test.txt:          {100 * baseline['eer']:.1f} %
  EER with cross-session targets only:              {100 * baseline['eer_cross_session']:.1f} %
  EER with same-session targets only:               {100 * baseline['eer_same_session']:.1f} %
A speaker-embedding network trained on the training speakers should do far better.
"""
    (root / "README.txt").write_text(text, encoding="utf-8")

