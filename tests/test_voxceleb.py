"""VoxCeleb-layout folders -> manifest: real files, bad files, the CSV cache, lists, splits and subsets."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from labkit.data import voxceleb
from labkit.data.synthetic import make_corpus
from labkit.data.voxceleb import BadAudioError, read_train_list, scan


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    audio = 0.3 * np.sin(2 * np.pi * 220 * t)
    return np.stack([audio] * channels, axis=1) if channels > 1 else audio


def write_m4a(path: Path) -> None:
    """A real AAC file, as VoxCeleb2 ships them."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray((tone(1.0) * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)


@pytest.fixture
def handmade(tmp_path) -> Path:
    """Good files (two wav, one flac) and bad ones (stereo, 22.05 kHz, empty, m4a, not audio)."""
    wav = tmp_path / "vox" / "wav"
    for rel, audio, rate, fmt in [
        ("id10001/abcdefghijk/00001.wav", tone(1.5), 16000, "WAV"),
        ("id10001/abcdefghijk/00002.wav", tone(2.0), 16000, "WAV"),
        ("id10002/ZYXWVUTSRQP/00001.flac", tone(0.5), 16000, "FLAC"),
        ("id10002/ZYXWVUTSRQP/00002.wav", tone(1.0, channels=2), 16000, "WAV"),
        ("id10003/k_-0123456A/00001.wav", tone(1.0, rate=22050), 22050, "WAV"),
        ("id10003/k_-0123456A/00002.wav", np.zeros(0), 16000, "WAV"),
    ]:
        (wav / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(wav / rel, audio, rate, format=fmt, subtype="PCM_16")
    write_m4a(wav / "id10003" / "k_-0123456A" / "00003.m4a")
    (wav / "id10003" / "k_-0123456A" / "00004.wav").write_bytes(b"this is not a RIFF file")
    (wav / "id10003" / "k_-0123456A" / "notes.txt").write_text("ignored: not audio")
    return tmp_path / "vox"


def test_bad_files_listed_in_one_error(handmade):
    with pytest.raises(BadAudioError) as caught:
        scan(handmade)
    message = str(caught.value)
    assert message.startswith("5 unusable audio file(s)")
    assert "00002.wav: 2 channels, expected mono" in message
    assert "00001.wav: 22050 Hz, expected 16000 Hz" in message
    assert "00002.wav: empty (0 samples)" in message
    assert "00004.wav: unreadable" in message
    assert "00003.m4a" in message and "ffmpeg -i x.m4a -ac 1 -ar 16000 x.wav" in message and "PyAV" in message
    assert not (handmade / "manifest.csv").exists()


def test_skip_keeps_good_files_with_a_warning(handmade):
    with pytest.warns(UserWarning, match="skipping 5 unusable"):
        manifest = scan(handmade, on_error="skip")
    assert list(manifest.columns) == voxceleb.COLUMNS
    assert manifest["utt"].tolist() == [
        "id10001/abcdefghijk/00001.wav",
        "id10001/abcdefghijk/00002.wav",
        "id10002/ZYXWVUTSRQP/00001.flac",
    ]
    assert manifest["speaker"].tolist() == ["id10001", "id10001", "id10002"]
    assert manifest["session"].tolist() == ["abcdefghijk", "abcdefghijk", "ZYXWVUTSRQP"]
    assert manifest["frames"].tolist() == [24000, 32000, 8000]
    assert manifest["duration"].tolist() == [1.5, 2.0, 0.5]
    assert (manifest["sample_rate"] == 16000).all()
    assert all(Path(p).is_file() and p.endswith(u) for p, u in zip(manifest["path"], manifest["utt"]))


def test_cache_is_written_atomically_and_refreshed_when_files_change(handmade):
    wav = handmade / "wav"
    (wav / "id10002" / "ZYXWVUTSRQP" / "00002.wav").unlink()
    shutil.rmtree(wav / "id10003")
    first = scan(handmade)
    cache = handmade / "manifest.csv"
    assert cache.is_file() and not list(handmade.glob(".*tmp"))
    assert len(pd.read_csv(cache)) == 3
    # a cached row is what the next scan returns, even if the header would now say otherwise...
    table = pd.read_csv(cache)
    table.loc[0, "frames"] = 12345
    table.to_csv(cache, index=False)
    assert scan(handmade)["frames"].iloc[0] == 12345
    # ...until the file itself changes (size / modification time): then it is read again
    changed = wav / "id10001" / "abcdefghijk" / "00001.wav"
    sf.write(changed, tone(3.0), 16000, subtype="PCM_16")
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    again = scan(handmade)
    assert again["frames"].iloc[0] == 48000 and again["duration"].iloc[0] == 3.0
    assert pd.read_csv(cache)["frames"].iloc[0] == 48000
    # new and deleted files too
    (wav / "id10004" / "aaaaaaaaaaa").mkdir(parents=True)
    sf.write(wav / "id10004" / "aaaaaaaaaaa" / "00001.wav", tone(1.0), 16000)
    (wav / "id10002" / "ZYXWVUTSRQP" / "00001.flac").unlink()
    final = scan(handmade)
    assert final["utt"].tolist() == [first["utt"][0], first["utt"][1], "id10004/aaaaaaaaaaa/00001.wav"]
    assert len(pd.read_csv(cache)) == 3


def test_speaker_folders_directly_under_root_and_missing_root(tmp_path):
    (tmp_path / "id00007" / "video000001").mkdir(parents=True)
    sf.write(tmp_path / "id00007" / "video000001" / "00001.wav", tone(1.0), 16000)
    manifest = scan(tmp_path, cache=False)
    assert manifest["utt"].tolist() == ["id00007/video000001/00001.wav"]
    assert not (tmp_path / "manifest.csv").exists()
    with pytest.raises(FileNotFoundError, match="no such folder"):
        scan(tmp_path / "nowhere")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "tiny", preset="tiny", seed=0, workers=1)


def test_synthetic_corpus_manifest_and_train_list(tiny):
    manifest = scan(tiny)
    assert len(manifest) == len(list(tiny.glob("wav/*/*/*.wav")))
    assert manifest["speaker"].nunique() == 12 and manifest["duration"].between(2.0, 3.0).all()
    train = read_train_list(tiny / "meta" / "train_list.txt", tiny)
    assert train["utt"].tolist() == [line.split()[1] for line in (tiny / "meta" / "train_list.txt").read_text().splitlines()]
    assert set(train["speaker"]) == {s for s in manifest["speaker"] if s.startswith("id0")}


def test_train_list_errors_name_file_and_line(tiny, tmp_path):
    bad = tmp_path / "list.txt"
    bad.write_text("id00001 id00001/x/00001.wav\nid00002 id00001/x/00001.wav\n")
    with pytest.raises(ValueError, match=r"list.txt, line 2: expected"):
        read_train_list(bad, tiny)
    bad.write_text("id00001 id00001/nothere0000/00001.wav\n")
    with pytest.raises(FileNotFoundError, match="1 listed utterance"):
        read_train_list(bad, tiny)
