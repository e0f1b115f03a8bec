"""``labkit subset``: ~100 h of VoxCeleb2 without downloading 77 GB.

1. choose utterances: a published list (Vaessen & van Leeuwen 2022) or a seeded choice by
   hours and speakers;
2. open the split zip (``vox2_dev_aac_parta{a..h}``), local or remote: remotely only the end
   of the last part (the central directory) and the selected members' byte ranges are read,
   neighbouring ranges (up to ``max_gap`` bytes apart) merged into one HTTP Range request; the
   number of requests is printed before the first one, beside the naive one per member;
3. read each member (zipfile checks its CRC-32), convert AAC -> 16 kHz mono PCM16 wav with
   PyAV in parallel threads, write ``wav/idXXXXX/<video>/<nnnnn>.wav`` plus ``meta/``; the time
   left is printed from the conversion rate measured on the first batch.

Finished wav files are skipped, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import csv
import io
import os
import random
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from labkit.data.archives import MultiPartFile, NotEnoughSpace, ensure_free_space, human_size
from labkit.data.download import (KAIST_KEY_ENV, FetchOptions, default_data_root, drive_cache_dir, fetch, keeps_copies,
                                  refuse_drive_mount, source_kind)
from labkit.data.http import RATE_LIMIT_WAIT, RemoteParts
from labkit.data.hub import TOKEN_HINT, auth_headers
from labkit.data.labpack import MANIFEST, persist_dataset, restore_dataset, write_manifest
from labkit.data.registry import get_asset
from labkit.data.voxceleb import SAMPLE_RATE
from labkit.files import atomic_path, write_text_atomic

WAV_BYTES_PER_SECOND = 2 * SAMPLE_RATE  # mono PCM16
AAC_BYTES_PER_SECOND = 9100  # estimate: 77.5 GB of AAC for ~2,360 h of VoxCeleb2 dev
BATCH_BYTES = 64 << 20  # bytes fetched (and held in memory) per batch of members
CONVERT_RATE = 240  # seconds of audio converted (AAC -> 16 kHz wav) per second by one worker: PyAV 18, a 2-core VM
MAX_GAP = 64 << 10  # members at most this far apart (under one 8-s VoxCeleb2 utterance) share one Range request
PUBLISHED_LISTS = {  # name -> file of the "vaessen_subsets" asset
    "tiny_few": "tiny_few_utterance_list.csv",
    "tiny_many_low": "tiny_many_low_utterance_list.csv",
    "tiny_many_high": "tiny_many_high_utterance_list.csv",
}


def read_subset_list(path: str | Path, sets: Sequence[str] = ("train",)) -> dict[str, str]:
    """``{idXXXXX/<video>/<nnnnn>: set name}`` of a published list (``utterance_key;shard_dix;set_name``).

    The published lists hold the ~100 h of ``train`` rows and ``val`` rows (held-out utterances of the
    same speakers): only ``train`` by default; ``sets=("train", "val")`` adds the validation rows."""
    path = Path(path)
    keys = {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f, delimiter=";")
        header = next(rows, None)
        if header != ["utterance_key", "shard_dix", "set_name"]:
            raise ValueError(f"{path}:1: expected the header 'utterance_key;shard_dix;set_name', got {header}")
        for line, row in enumerate(rows, start=2):
            if len(row) != 3 or len(row[0].split("/")) != 3:
                raise ValueError(f"{path}:{line}: expected 'idXXXXX/<video>/<nnnnn>;<shard>;<set>', got {';'.join(row)!r}")
            if row[2] in sets:
                keys[row[0]] = row[2]
    return keys


def member_key(name: str) -> str | None:
    """``dev/aac/id00012/21Uxsk56VDQ/00001.m4a`` -> ``id00012/21Uxsk56VDQ/00001`` (None for folders)."""
    parts = name.rstrip("/").split("/")
    if name.endswith("/") or len(parts) < 3 or not parts[-3].startswith("id"):
        return None
    return "/".join(parts[-3:-1] + [parts[-1].rsplit(".", 1)[0]])


def estimated_seconds(info: zipfile.ZipInfo) -> float:
    """Duration guessed from the member's size (exact for PCM16 wav, about right for VoxCeleb2 AAC)."""
    if info.filename.endswith(".wav"):
        return max(info.file_size - 44, 0) / WAV_BYTES_PER_SECOND
    return info.compress_size / AAC_BYTES_PER_SECOND


def choose_subset(seconds: dict[str, float], hours: float | None = None, speakers: int | None = None, seed: int = 0) -> list[str]:
    """A seeded choice: ``speakers`` random speakers, then random utterances of theirs up to ``hours``."""
    rng = random.Random(seed)
    by_speaker: dict[str, list[str]] = {}
    for key in sorted(seconds):
        by_speaker.setdefault(key.split("/")[0], []).append(key)
    chosen = sorted(by_speaker) if speakers is None else sorted(rng.sample(sorted(by_speaker), min(speakers, len(by_speaker))))
    pool = [key for speaker in chosen for key in by_speaker[speaker]]
    rng.shuffle(pool)
    budget, picked = (hours or float("inf")) * 3600, []
    for key in pool:
        if budget <= 0:
            break
        picked.append(key)
        budget -= seconds[key]
    return sorted(picked)


def member_spans(zf: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    """Byte range of every member: its local header up to the next member (or the central directory)."""
    infos = sorted(zf.infolist(), key=lambda i: i.header_offset)
    ends = [i.header_offset for i in infos[1:]] + [zf.start_dir]
    return {info.filename: (info.header_offset, end) for info, end in zip(infos, ends)}


def coalesce(spans: Sequence[tuple[int, int]], max_gap: int = 0) -> list[tuple[int, int]]:
    """Merge sorted ``[start, end)`` ranges that touch (or are at most ``max_gap`` apart)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= max_gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def to_wav(data: bytes, out: Path, sample_rate: int = SAMPLE_RATE) -> int:
    """Decode any audio PyAV reads (AAC/m4a, wav, ...) to mono PCM16 at ``sample_rate``; return its frames."""
    import av

    chunks = []
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        for frame in container.decode(container.streams.audio[0]):
            chunks += [f.to_ndarray() for f in resampler.resample(frame)]
        chunks += [f.to_ndarray() for f in resampler.resample(None)]  # flush the resampler
    samples = np.concatenate(chunks, axis=1).reshape(-1) if chunks else np.zeros(0, np.int16)
    with atomic_path(out) as tmp:
        sf.write(tmp, samples, sample_rate, subtype="PCM_16", format="WAV")
    return len(samples)


def open_split_zip(parts: Sequence[str | Path], sizes: Sequence[int] | None = None, **remote_options
                   ) -> tuple[zipfile.ZipFile, MultiPartFile | RemoteParts]:
    """The zip spread over ``parts`` (local paths or http(s) URLs) and the raw reader under it.

    ``remote_options`` go to ``RemoteParts`` (headers, denied_hint, rate_limit_wait, ...)."""
    remote = all(str(p).startswith(("http://", "https://")) for p in parts)
    raw = RemoteParts([str(p) for p in parts], sizes, **remote_options) if remote else MultiPartFile(parts)
    return zipfile.ZipFile(io.BufferedReader(raw, buffer_size=1 << 16)), raw


def extract_subset(
    parts: Sequence[str | Path],
    out_dir: str | Path,
    keys: Sequence[str] | None = None,
    hours: float | None = None,
    speakers: int | None = None,
    seed: int = 0,
    workers: int = 2,
    sizes: Sequence[int] | None = None,
    sets: dict[str, str] | None = None,
    progress: bool = True,
    max_gap: int = MAX_GAP,
    remote_options: dict | None = None,
) -> dict:
    """Extract the utterances ``keys`` (or a seeded choice by ``hours``/``speakers``) as 16 kHz wav.

    Writes ``out_dir/wav/idXXXXX/<video>/<nnnnn>.wav``, ``out_dir/meta/manifest.csv``,
    ``out_dir/meta/train_list.txt`` (plus ``val_list.txt`` for keys that ``sets`` marks "val") and
    ``out_dir/MANIFEST.tsv`` (sha256 of every file, for ``labkit verify``); returns a summary
    (utterances, hours, bytes fetched, archive bytes, HTTP requests and the naive count, one per member).
    """
    out_dir = Path(out_dir)
    if progress:
        print(f"reading the table of contents of {len(parts)} part(s) (VoxCeleb2: ~100 MB at the end of the last part)")
    zf, raw = open_split_zip(parts, sizes, **(remote_options or {}))
    remote = isinstance(raw, RemoteParts)
    with zf, raw:
        infos = {k: info for info in zf.infolist() if (k := member_key(info.filename))}
        if keys is None:
            keys = choose_subset({k: estimated_seconds(i) for k, i in infos.items()}, hours, speakers, seed)
        missing = [k for k in keys if k not in infos]
        if missing:
            raise ValueError(f"{len(missing)} of {len(keys)} utterances are not in the archive, e.g. {missing[:3]}")
        wav_of = {k: out_dir / "wav" / f"{k}.wav" for k in keys}
        todo = [k for k in keys if not wav_of[k].is_file()]  # finished files are kept: resume
        ensure_free_space(out_dir, int(sum(estimated_seconds(infos[k]) for k in todo) * WAV_BYTES_PER_SECOND),
                          f"{len(todo)} wav files")
        spans = member_spans(zf)
        todo.sort(key=lambda k: spans[infos[k].filename][0])  # archive order: ranges become adjacent
        plan = [(batch, coalesce([spans[infos[k].filename] for k in batch], max_gap))
                for batch in _batches(todo, lambda k: spans[infos[k].filename])]
        planned = sum(raw.requests_for(ranges) for _, ranges in plan) if remote else 0
        if progress and remote:
            fetched = sum(end - start for _, ranges in plan for start, end in ranges)
            print(f"{len(todo)} utterances: {planned} HTTP range requests for {human_size(fetched)} "
                  f"({fetched / raw.size:.2%} of the archive); one request per member would be {len(todo)}")
        seconds = {k: estimated_seconds(infos[k]) for k in todo}
        if progress and todo:
            print(conversion_estimate(sum(seconds.values())))
        started, converted = time.perf_counter(), 0.0
        with ThreadPoolExecutor(workers) as pool, tqdm(total=len(todo), desc="subset", unit="utt", disable=not progress) as bar:
            for number, (batch, ranges) in enumerate(plan):
                if remote:
                    raw.prefetch(ranges)
                jobs = [pool.submit(to_wav, zf.read(infos[k]), wav_of[k]) for k in batch]  # zf.read checks CRC-32
                for job in jobs:
                    job.result()
                    bar.update()
                converted += sum(seconds[k] for k in batch)
                if progress and number == 0 and len(plan) > 1:
                    print(eta_line(converted, time.perf_counter() - started, sum(seconds.values()) - converted))
    rows = [_manifest_row(k, out_dir, (sets or {}).get(k, "train")) for k in sorted(keys)]
    _write_meta(out_dir, rows)
    write_manifest(out_dir, progress)
    return {
        **_summary(rows),
        "bytes_fetched": raw.bytes_fetched if remote else 0,
        "archive_bytes": raw.size,
        "http_requests": raw.requests if remote else 0,
        "planned_requests": planned,
        "naive_requests": len(todo) if remote else 0,
    }


def _summary(rows: list[dict]) -> dict:
    """Utterances, speakers and hours of manifest rows."""
    return {"utterances": len(rows), "speakers": len({r["speaker"] for r in rows}),
            "hours": sum(float(r["duration"]) for r in rows) / 3600}


def conversion_estimate(audio_seconds: float, rate: float = CONVERT_RATE) -> str:
    """The expected conversion time of ``audio_seconds`` before any is converted, at one worker's measured rate."""
    return (f"converting {audio_seconds / 3600:.1f} h of audio: about {audio_seconds / rate / 60:.0f} min at {rate} s of "
            "audio per second (one worker, measured on a 2-core machine; a second worker helps when a core is free), "
            "plus the download")


def eta_line(audio_done: float, wall: float, audio_left: float) -> str:
    """The measured rate (hours of audio converted per hour, fetching included) and the time left at that rate."""
    rate = audio_done / max(wall, 1e-9)
    return (f"measured: {rate:.0f} s of audio per second (download + AAC -> wav); "
            f"about {audio_left / rate / 60:.0f} min left for {audio_left / 3600:.1f} h of audio")


def _batches(keys: list[str], span) -> list[list[str]]:
    """Consecutive keys grouped so that each group's bytes stay under BATCH_BYTES."""
    batches: list[list[str]] = [[]]
    size = 0
    for key in keys:
        start, end = span(key)
        if batches[-1] and size + end - start > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(key)
        size += end - start
    return [b for b in batches if b]


def _manifest_row(key: str, out_dir: Path, set_name: str) -> dict:
    """One manifest line; ``path`` is relative to the dataset folder, so the folder can be moved or packed."""
    path = Path("wav") / f"{key}.wav"
    info = sf.info(out_dir / path)
    speaker, session, _ = key.split("/")
    return {"utt": f"{key}.wav", "speaker": speaker, "session": session, "path": str(path),
            "duration": info.frames / info.samplerate, "sample_rate": info.samplerate, "frames": info.frames,
            "set": set_name}


def _write_meta(out_dir: Path, rows: list[dict]) -> None:
    """meta/train_list.txt and val_list.txt (voxceleb_trainer format) and meta/manifest.csv, written atomically."""
    lists = {f"{name}_list.txt": "".join(f"{r['speaker']} {r['utt']}\n" for r in rows if r["set"] == name)
             for name in ("train", "val")}
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(rows[0]) if rows else ["utt"])
    writer.writeheader()
    writer.writerows(rows)
    for name, text in {**lists, "manifest.csv": table.getvalue()}.items():
        write_text_atomic(out_dir / "meta" / name, text)


def prepare_subset(
    dest: str | Path = "",
    list_name: str = "",
    list_file: str = "",
    hours: float | None = None,
    speakers: int | None = None,
    seed: int = 0,
    sets: Sequence[str] = ("train",),
    parts_dir: str = "",
    source: str = "hf",
    key: str = "",
    workers: int = 2,
    progress: bool = True,
    rate_limit_wait: float = RATE_LIMIT_WAIT,
    drive_cache: str = "",
    persist: bool | None = None,
) -> dict:
    """``labkit subset``: pick the utterances, find the parts (a local folder or a remote source), extract.

    ``list_name`` is one of PUBLISHED_LISTS (fetched and verified like any asset); ``list_file`` a
    local copy; neither means a seeded choice by ``hours``/``speakers``. Without ``parts_dir`` the
    parts are read remotely from ``source`` ("hf" or "kaist") of the ``voxceleb2_dev`` asset.

    A copy kept in the Drive cache (``drive_cache``, $LABKIT_DRIVE_CACHE or MyDrive/labkit_cache) by an
    earlier run is restored instead (one archive: seconds, not a download); ``persist`` keeps the result
    there for the next VM (``None``: when a Drive cache is chosen, see ``download.keeps_copies``).
    """
    if not (list_name or list_file or hours or speakers):  # all 2,360 h is `labkit download voxceleb2_dev`
        raise ValueError("choose the utterances: --list, --list-file, --hours and/or --speakers")
    dest = Path(dest or default_data_root() / "voxceleb2_subset")
    refuse_drive_mount(dest)
    cache = drive_cache_dir(drive_cache)
    if not (dest / MANIFEST).is_file() and (seconds := restore_dataset(dest, cache, progress)) is not None:
        with open(dest / "meta" / "manifest.csv", newline="", encoding="utf-8") as f:
            return {**_summary(list(csv.DictReader(f))), "restored_from": str(cache), "restore_seconds": seconds}
    keys = sets_of = None
    if list_name:
        if list_name not in PUBLISHED_LISTS:
            raise ValueError(f"unknown subset list {list_name!r}; choose one of {sorted(PUBLISHED_LISTS)}")
        folder = fetch("vaessen_subsets", dest / "downloads", FetchOptions(progress=progress))
        list_file = str(folder / PUBLISHED_LISTS[list_name])
    if list_file:
        sets_of = read_subset_list(list_file, sets)
        keys = list(sets_of)
    vox2 = get_asset("voxceleb2_dev")
    remote_options: dict = {"rate_limit_wait": rate_limit_wait}
    if parts_dir:
        parts: list[str | Path] = [Path(parts_dir) / f.name for f in vox2.files]
        absent = [str(p) for p in parts if not Path(p).is_file()]
        if absent:
            raise FileNotFoundError(f"missing VoxCeleb2 parts in {parts_dir}: {', '.join(absent)}")
    else:
        remote = next((s for s in vox2.sources if source_kind(s) == source), None)
        if remote is None:
            raise ValueError(f"voxceleb2_dev has no {source!r} source; use 'hf' or 'kaist'")
        key = key or os.environ.get(KAIST_KEY_ENV, "")
        if remote.needs_key and not key:
            raise ValueError(f"the KAIST mirror needs your key: set {KAIST_KEY_ENV} or pass --key")
        parts = [remote.url(f.name, key) for f in vox2.files]
        if source == "hf":  # the token raises Hugging Face's per-IP limit; a refusal says how to get one
            remote_options = {"headers": auth_headers(), "denied_hint": TOKEN_HINT, "rate_limit_wait": rate_limit_wait}
    summary = extract_subset(parts, dest, keys, hours, speakers, seed, workers, sizes=[f.size for f in vox2.files],
                             sets=sets_of, progress=progress, remote_options=remote_options)
    if persist or (persist is None and keeps_copies(drive_cache)):
        try:
            summary["kept_on_drive"] = str(persist_dataset(dest, cache, progress))
        except NotEnoughSpace as error:
            if persist:
                raise
            print(f"note: {error}")
    return summary
