"""A VoxCeleb-layout folder -> a manifest table.

The layout is VoxCeleb's: ``root/wav/idXXXXX/<video>/NNNNN.wav`` (or the speaker folders
directly under ``root``). Every utterance is named by its path below that folder,
``idXXXXX/<video>/NNNNN.wav``, as in the official trial lists. The manifest has one row per
utterance with the columns of ``COLUMNS``; it is cached as ``manifest.csv`` next to the
data and refreshed when a file's size or modification time changes.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import soundfile as sf
from tqdm.auto import tqdm

from labkit.files import atomic_path

SAMPLE_RATE = 16000  # VoxCeleb and every labkit corpus: 16 kHz mono
AUDIO_SUFFIXES = (".wav", ".flac")  # what soundfile reads; VoxCeleb2's .m4a must be converted first
COLUMNS = ["utt", "speaker", "session", "path", "duration", "sample_rate", "frames"]
CACHE_NAME = "manifest.csv"
M4A_HELP = (
    "soundfile cannot read AAC (.m4a); convert to 16-kHz mono wav first, e.g. with "
    "`ffmpeg -i x.m4a -ac 1 -ar 16000 x.wav` or with PyAV (`labkit subset` converts while it copies)"
)


class BadAudioError(ValueError):
    """Audio files that cannot be used (unreadable, wrong rate, not mono, empty, m4a)."""


def audio_dir(root: str | Path) -> Path:
    """Where the speaker folders are: ``root/wav`` if it exists, else ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder (expected a VoxCeleb-layout root with wav/idXXXXX/<video>/NNNNN.wav)")
    return root / "wav" if (root / "wav").is_dir() else root


def _list_files(folder: Path) -> dict[str, os.stat_result]:
    """Every ``id*/<video>/<file>`` below ``folder`` with its stat (size, mtime)."""
    found = {}
    for speaker in sorted(os.scandir(folder), key=lambda e: e.name):
        if not (speaker.is_dir() and speaker.name.startswith("id")):
            continue
        for video in os.scandir(speaker.path):
            if video.is_dir():
                for entry in os.scandir(video.path):
                    if entry.is_file() and not entry.name.startswith("."):
                        found[f"{speaker.name}/{video.name}/{entry.name}"] = entry.stat()
    return found


def _check_file(path: Path, expected_rate: int) -> tuple[dict | None, str]:
    """(row fields, "") for a usable file, or (None, reason)."""
    if path.suffix.lower() == ".m4a":
        return None, M4A_HELP
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as error:
        return None, f"unreadable ({error})"
    if info.frames == 0:
        return None, "empty (0 samples)"
    if info.channels != 1:
        return None, f"{info.channels} channels, expected mono"
    if info.samplerate != expected_rate:
        return None, f"{info.samplerate} Hz, expected {expected_rate} Hz (resample it)"
    return {"sample_rate": info.samplerate, "frames": info.frames, "duration": info.frames / info.samplerate}, ""


def _read_cache(path: Path | None) -> pd.DataFrame:
    """The cached manifest with its ``size``/``mtime_ns`` signature columns (empty if none or unreadable)."""
    columns = [c for c in COLUMNS if c != "path"] + ["size", "mtime_ns"]
    try:
        return pd.read_csv(path, dtype={"utt": str, "speaker": str, "session": str})[columns] if path else pd.DataFrame(columns=columns)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, KeyError, ValueError):
        return pd.DataFrame(columns=columns)


def _write_cache(path: Path, table: pd.DataFrame) -> None:
    """Write the cache atomically (temp file + rename); a read-only folder only costs a warning."""
    try:
        with atomic_path(path) as tmp:
            table.drop(columns="path").to_csv(tmp, index=False)
    except OSError as error:
        warnings.warn(f"could not write the manifest cache {path}: {error}", stacklevel=3)


def scan(root: str | Path, on_error: str = "raise", expected_rate: int = SAMPLE_RATE, cache: bool = True) -> pd.DataFrame:
    """The manifest of a VoxCeleb-layout folder, one row per wav/flac utterance, sorted by ``utt``.

    Bad files (unreadable, not ``expected_rate``, not mono, empty, .m4a) raise one
    ``BadAudioError`` listing them all (``on_error="raise"``) or are left out with a warning
    (``on_error="skip"``). Only files that are new or changed since the cached manifest
    (``manifest.csv`` beside the speaker folders) have their headers read again.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    folder = audio_dir(root)
    cache_path = folder.parent / CACHE_NAME if folder.name == "wav" else folder / CACHE_NAME
    stats = {u: st for u, st in _list_files(folder).items() if Path(u).suffix.lower() in AUDIO_SUFFIXES + (".m4a",)}
    files = pd.DataFrame({
        "utt": list(stats), "size": [st.st_size for st in stats.values()], "mtime_ns": [st.st_mtime_ns for st in stats.values()]
    })
    cached = _read_cache(cache_path if cache else None)
    known = files.merge(cached, on=["utt", "size", "mtime_ns"], how="inner")  # unchanged since the last scan
    fresh, bad = [], []
    todo = files[~files["utt"].isin(known["utt"])]
    for utt, size, mtime_ns in tqdm(todo.itertuples(index=False), total=len(todo), desc=f"reading headers in {folder}", unit="file", disable=len(todo) < 500):
        fields, reason = _check_file(folder / utt, expected_rate)
        if fields is None:
            bad.append(f"{folder / utt}: {reason}")
        else:
            speaker, session, _ = utt.split("/")
            fresh.append({"utt": utt, "speaker": speaker, "session": session, **fields, "size": size, "mtime_ns": mtime_ns})
    if bad and on_error == "raise":
        raise BadAudioError(f"{len(bad)} unusable audio file(s) under {folder}:\n  " + "\n  ".join(bad))
    if bad:
        warnings.warn(f"skipping {len(bad)} unusable audio file(s) under {folder}:\n  " + "\n  ".join(bad), stacklevel=2)
    table = pd.concat([known, pd.DataFrame(fresh, columns=known.columns)], ignore_index=True) if fresh else known
    table = table.astype({"sample_rate": int, "frames": int, "duration": float}).sort_values("utt", ignore_index=True)
    table["path"] = [str(folder / utt) for utt in table["utt"]]
    if cache and (fresh or len(table) != len(cached)):
        _write_cache(cache_path, table)
    return table[COLUMNS]


def train_list_entries(path: str | Path) -> list[str]:
    """The utterances of a voxceleb_trainer list (``id00012 id00012/21Uxsk56VDQ/00001.wav`` per line), in order."""
    path = Path(path)
    wanted = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1].count("/") != 2 or not parts[1].startswith(parts[0] + "/"):
            raise ValueError(f"{path}, line {number}: expected '<speaker> <speaker>/<video>/<file>.wav', got {line!r}")
        wanted.append(parts[1])
    return wanted


def read_train_list(path: str | Path, root: str | Path, on_error: str = "raise") -> pd.DataFrame:
    """The manifest rows named by a voxceleb_trainer list (``id00012 id00012/21Uxsk56VDQ/00001.wav`` per line)."""
    wanted = train_list_entries(path)
    manifest = scan(root, on_error=on_error).set_index("utt", drop=False)
    missing = [utt for utt in wanted if utt not in manifest.index]
    if missing:
        raise FileNotFoundError(f"{path}: {len(missing)} listed utterance(s) not found under {audio_dir(root)}, e.g. {missing[:3]}")
    return manifest.loc[wanted].reset_index(drop=True)
