"""The synthetic corpus: VoxCeleb layout, determinism, speaker traits in the audio, calibrated difficulty."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from labkit.data import synthetic
from labkit.data.synthetic import PRESETS, baseline_eer, make_corpus
from labkit.metrics import eer
from labkit.trials import read_trials

UTT = re.compile(r"^id[01]\d{4}/[A-Za-z0-9_-]{11}/\d{5}\.wav$")


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file below ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "tiny", preset="tiny", seed=0, workers=1)


def test_tiny_layout_is_voxceleb(tiny):
    wavs = sorted(tiny.glob("wav/*/*/*.wav"))
    utts = [str(p.relative_to(tiny / "wav")) for p in wavs]
    preset = PRESETS["tiny"]
    assert all(UTT.match(u) for u in utts), utts[:3]
    assert len({u.split("/")[0] for u in utts if u.startswith("id0")}) == preset.train_speakers
    assert len({u.split("/")[0] for u in utts if u.startswith("id1")}) == preset.test_speakers
    for path in wavs[:5]:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")
        assert preset.seconds[0] <= info.duration <= preset.seconds[2]
    train = [line.split() for line in (tiny / "meta" / "train_list.txt").read_text().splitlines()]
    assert {speaker for speaker, _ in train} == {u.split("/")[0] for u in utts if u.startswith("id0")}
    assert all(utt.startswith(speaker + "/") and (tiny / "wav" / utt).is_file() for speaker, utt in train)
    assert len(train) == sum(u.startswith("id0") for u in utts)


def test_tiny_trials_are_balanced_and_mostly_cross_session(tiny):
    trials = read_trials(tiny / "meta" / "veri_test.txt")
    assert len(trials) == PRESETS["tiny"].trials
    assert trials.labels.sum() == len(trials) // 2
    speaker = lambda utts: np.array([u.split("/")[0] for u in utts])  # noqa: E731
    video = lambda utts: np.array([u.split("/")[1] for u in utts])  # noqa: E731
    assert np.array_equal(trials.labels == 1, speaker(trials.enroll) == speaker(trials.test))
    assert all(u.startswith("id1") and (tiny / "wav" / u).is_file() for u in trials.utterances())
    targets = trials.labels == 1
    cross = (video(trials.enroll) != video(trials.test))[targets]
    assert cross.mean() >= 0.75  # tiny has only 16 cross-session pairs for 20 targets
    assert len(set(zip(trials.enroll, trials.test))) == len(trials)


def test_speakers_csv_and_readme(tiny):
    table = pd.read_csv(tiny / "meta" / "speakers.csv")
    assert len(table) == 12 and set(table["split"]) <= {"train", "test"}
    assert table["f0_hz"].between(80, 260).all()
    male, female = table[table["sex"] == "m"], table[table["sex"] == "f"]
    assert len(male) and len(female) and male["formant_scale"].mean() < female["formant_scale"].mean()
    readme = (tiny / "README.txt").read_text()
    assert "labkit make-corpus --out tiny --preset tiny --seed 0" in readme
    assert "EER" in readme and "F0" in readme


def test_same_seed_same_bytes_any_workers_other_seed_differs(tiny, tmp_path):
    again = make_corpus(tmp_path / "tiny", preset="tiny", seed=0, workers=2)
    assert digest(again) == digest(tiny)
    other = make_corpus(tmp_path / "other", preset="tiny", seed=1, workers=1)
    wavs = lambda d: {k: v for k, v in d.items() if k.endswith(".wav")}  # noqa: E731
    assert not set(wavs(digest(other)).values()) & set(wavs(digest(tiny)).values())


def test_existing_corpus_is_reused_and_others_protected(tiny, tmp_path):
    before = {p: p.stat().st_mtime_ns for p in tiny.rglob("*.wav")}
    assert make_corpus(tiny, preset="tiny", seed=0) == tiny
    assert {p: p.stat().st_mtime_ns for p in tiny.rglob("*.wav")} == before  # nothing rewritten
    with pytest.raises(ValueError, match="seed 3"):
        make_corpus(tiny, preset="tiny", seed=3)
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    with pytest.raises(ValueError, match="--force"):
        make_corpus(mine, preset="tiny")
    assert (mine / "thesis.txt").read_text() == "precious"
    make_corpus(mine, preset="tiny", seed=2, force=True)
    assert not (mine / "thesis.txt").exists() and (mine / "meta" / "veri_test.txt").is_file()
    assert not list(tmp_path.glob(".*"))  # no partial or old folders left behind


def test_unknown_preset_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="tiny"):
        make_corpus(tmp_path / "x", preset="huge")


def _median_f0(audio: np.ndarray) -> float:
    """Median pitch of the most periodic frames (autocorrelation peak between 70 and 300 Hz)."""
    frames = np.lib.stride_tricks.sliding_window_view(audio, 1024)[::256]
    frames = frames - frames.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(frames, 2048)
    ac = np.fft.irfft(np.abs(spectrum) ** 2)[:, :400]
    lags = np.arange(53, 229)  # 300 Hz .. 70 Hz
    best = lags[np.argmax(ac[:, lags], axis=1)]
    periodicity = ac[np.arange(len(ac)), best] / (ac[:, 0] + 1e-9)
    voiced = periodicity > np.quantile(periodicity, 0.7)
    return float(np.median(16000 / best[voiced]))


def test_pitch_in_the_audio_follows_the_speaker_trait():
    """Synthesise (clean) speech for speakers of known F0: the measured pitch follows the trait."""
    measured, trait = [], []
    for k in range(8):
        rng = np.random.default_rng(k)
        speaker = synthetic.draw_speaker(rng, f"id{k:05d}", "train")
        session = synthetic.draw_session(rng)
        audio = synthetic.synthesize_speech(rng, speaker, 3.0, f0_shift=session.f0_shift)
        measured.append(_median_f0(audio))
        trait.append(speaker.f0_hz * session.f0_shift)
    ratio = np.array(measured) / np.array(trait)
    assert np.median(np.abs(np.log2(ratio))) < 0.1, list(zip(measured, trait))


def test_trials_use_cross_session_pairs_first():
    rows = [(f"id10001/v{s}/{u}.wav", 0, s) for s in range(3) for u in range(2)]
    rows += [(f"id10002/w{s}/{u}.wav", 1, s) for s in range(3) for u in range(2)]
    trials = synthetic.make_trials(rows, 20, seed=0)
    video = lambda utts: np.array([u.split("/")[1] for u in utts])  # noqa: E731
    targets = trials.labels == 1
    assert targets.sum() == 10 and (len(trials) - targets.sum()) == 10
    assert (video(trials.enroll) != video(trials.test))[targets].sum() == 9  # 90 % of 10


@pytest.mark.slow
def test_lab_preset_size_and_calibrated_difficulty(lab_corpus):
    root = lab_corpus
    manifest_hours = sum(sf.info(p).duration for p in root.glob("wav/*/*/*.wav")) / 3600
    assert 1.0 <= manifest_hours <= 3.0
    trials = read_trials(root / "meta" / "veri_test.txt")
    assert 7000 <= len(trials) <= 9000 and len({u.split("/")[0] for u in trials.utterances()}) == 40
    result = baseline_eer(root)
    assert 0.15 <= result["eer"] <= 0.35, result
    assert result["eer_cross_session"] > result["eer_same_session"] + 0.08, result  # sessions matter
    assert f"{100 * result['eer']:.1f} %" in (root / "README.txt").read_text()
    # the same baseline from an independent front-end (Kaldi fbank, 80 bands) lands in the band too
    from labkit import features

    window = features.window_function("hamming", 400, periodic=False)
    banks = features.kaldi_mel_banks(80, 512, 16000)
    utts = trials.utterances()
    vectors = []
    for utt in utts:
        wav = torch.from_numpy(sf.read(root / "wav" / utt, dtype="float32")[0])[None]
        logmel = features.kaldi_fbank(wav * 32768, window, banks)[0].T  # (frames, 80)
        energy = logmel.sum(dim=1)
        vectors.append(logmel[energy >= energy.median()].mean(dim=0).numpy())
    vectors = np.stack(vectors)
    vectors -= vectors.mean(axis=1, keepdims=True)
    vectors -= vectors.mean(axis=0)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    row = {u: i for i, u in enumerate(utts)}
    scores = np.sum(vectors[[row[u] for u in trials.enroll]] * vectors[[row[u] for u in trials.test]], axis=1)
    independent = eer(scores, trials.labels)[0]
    assert 0.15 <= independent <= 0.35 and abs(independent - result["eer"]) < 0.05, (independent, result)


def test_command_line_make_corpus_and_pack_audio(tmp_path):
    import subprocess
    import sys

    run = lambda *args: subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True, text=True, timeout=120)  # noqa: E731
    made = run("make-corpus", "--out", str(tmp_path / "c"), "--preset", "tiny", "--seed", "4", "--workers", "1")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == str(tmp_path / "c") and (tmp_path / "c" / "meta" / "veri_test.txt").is_file()
    clash = run("make-corpus", "--out", str(tmp_path / "c"), "--preset", "tiny", "--seed", "5")
    assert clash.returncode == 1 and "pass --force" in clash.stderr and "Traceback" not in clash.stderr
    packed = run("pack-audio", str(tmp_path / "c"), "--out", str(tmp_path / "train"), "--train-list", str(tmp_path / "c" / "meta" / "train_list.txt"))
    assert packed.returncode == 0, packed.stderr
    train_lines = (tmp_path / "c" / "meta" / "train_list.txt").read_text().splitlines()
    assert len(pd.read_csv(tmp_path / "train.csv")) == len(train_lines)
