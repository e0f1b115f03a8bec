"""Fetching assets: local cache -> copy on a mounted Drive -> Google Drive -> HTTP(S) -> Hugging Face.

Every byte is hashed while it streams into ``<file>.part``; only a file whose size and checksums
match the registry is renamed to its final name, next to a ``<file>.verified`` marker that makes
a second call a no-op. A dropped transfer resumes with ``Range`` + ``If-Range`` and accepts only
``206`` with the matching ``Content-Range`` (a ``200`` restarts the file). A server announcing
another size than the registry's is not downloaded at all, and no transfer may run past the
stated size. A file whose checksum does not match is set aside as ``<file>.mismatch`` (its sha256
in the message) and that source is not asked again; the next source is tried. DNS, TLS, refused
connections and 404 fail at once with the host and what to do; Hugging Face files come through
``huggingface_hub`` (``labkit.data.hub``). Quota and permission refusals from Google Drive
become one message listing what to try next.
"""

from __future__ import annotations

import hashlib
import http.client
import inspect
import itertools
import json
import os
import re
import shutil
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

from tqdm.auto import tqdm

from labkit.data.archives import NotEnoughSpace, ensure_free_space, open_parts, safe_extract
from labkit.data.http import RATE_LIMIT_WAIT, PermanentError, content_range, failure, http_open, is_transient, retry_wait
from labkit.data.hub import hub_download
from labkit.data.registry import Asset, AssetFile, Source, get_asset, load_registry, redact
from labkit.errors import LabkitError
from labkit.files import COLAB_DRIVE, atomic_path, write_text_atomic

CHUNK = 1 << 20  # bytes read per network/disk call
UNKNOWN_SIZE_LIMIT = 4 << 30  # most bytes taken for a file whose size the registry does not state (a model, a list)
KAIST_KEY_ENV = "LABKIT_KAIST_KEY"  # the per-user KAIST key comes from here or an argument, never from a file
DRIVE_CACHE_ENV = "LABKIT_DRIVE_CACHE"  # folder on the mounted Drive that keeps verified archives between sessions
DEFAULT_DRIVE_CACHE = COLAB_DRIVE / "MyDrive" / "labkit_cache"
QUOTA_PATTERN = re.compile(r"too many users|quota|rate limit|cannot retrieve the public link|permission", re.I)


class DownloadError(LabkitError, RuntimeError):
    """No source could deliver a verified file; the message says what was tried and what to do."""


class QuotaError(DownloadError):
    """Google Drive refused the file (download quota or sharing permission)."""


class TooLarge(DownloadError):
    """A server sent more bytes than the file can have."""


def quota_message(file: str, detail: str = "") -> str:
    """The one message for a Drive quota/permission refusal, with the alternatives in order."""
    detail = " ".join(detail.split())  # gdown wraps its text across lines
    return (
        f"Google Drive refused {file}: too many people downloaded it recently, or it is not shared publicly.\n"
        + (f"  (Drive said: {detail[:300]})\n" if detail else "")
        + "Next things to try:\n"
        "  1. wait: the quota resets within 24 hours; finished files are kept, so just rerun the cell;\n"
        "  2. in Drive, copy the course file into your own Drive ('Make a copy'), mount Drive and pass\n"
        f"     drive_cache= (or set {DRIVE_CACHE_ENV}) to the folder holding it: it is used before any download;\n"
        "  3. Hugging Face: labkit download ASSET --source hf;\n"
        f"  4. request a KAIST key (https://mm.kaist.ac.kr/datasets/voxceleb/) and set {KAIST_KEY_ENV} (never in a notebook)."
    )


# ---------------------------------------------------------------- disk, Colab, markers


def is_on_drive_mount(path: str | Path, mount: Path = COLAB_DRIVE) -> bool:
    """True when ``path`` lies on Colab's Google Drive mount (slow, quota-limited, not for datasets)."""
    return Path(os.path.abspath(path)).is_relative_to(mount)


def refuse_drive_mount(path: str | Path, mount: Path = COLAB_DRIVE) -> None:
    """Raise ValueError if data would be written onto the Drive mount instead of the local disk."""
    if is_on_drive_mount(path, mount):
        raise ValueError(
            f"{path} is on the Google Drive mount; extract data to the local disk (e.g. /content/data) "
            "and keep only verified archives on Drive (persist_to_drive)."
        )


def default_data_root() -> Path:
    """/content/data on Colab (local disk, fast), ./data elsewhere."""
    return COLAB_DRIVE.parent / "data" if COLAB_DRIVE.parent.is_dir() else Path("data")


def marker_path(path: Path) -> Path:
    """The ``<file>.verified`` marker written only after a file matched the registry."""
    return path.with_name(path.name + ".verified")


class _Hashes:
    """md5 + sha256 + byte count, updated as bytes stream past."""

    def __init__(self) -> None:
        self.md5, self.sha256, self.size = hashlib.md5(), hashlib.sha256(), 0

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.sha256.update(chunk)
        self.size += len(chunk)

    def feed_file(self, path: Path) -> "_Hashes":
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                self.update(chunk)
        return self

    def mismatch(self, expected: AssetFile) -> str:
        """Empty when size and every published checksum agree, else what differs."""
        problems = []
        if expected.size is not None and self.size != expected.size:
            problems.append(f"size {self.size} != {expected.size}")
        if expected.md5 and self.md5.hexdigest() != expected.md5:
            problems.append(f"md5 {self.md5.hexdigest()} != {expected.md5}")
        if expected.sha256 and self.sha256.hexdigest() != expected.sha256:
            problems.append(f"sha256 {self.sha256.hexdigest()} != {expected.sha256}")
        return ", ".join(problems)


def file_hashes(path: str | Path) -> dict[str, str | int]:
    """Size, md5 and sha256 of a file on disk."""
    h = _Hashes().feed_file(Path(path))
    return {"size": h.size, "md5": h.md5.hexdigest(), "sha256": h.sha256.hexdigest()}


def is_verified(path: Path, expected: AssetFile) -> bool:
    """True when ``path`` exists with a marker whose checksums still match the registry entry."""
    marker = marker_path(path)
    if not (path.is_file() and marker.is_file()):
        return False
    try:
        record = json.loads(marker.read_text())
    except ValueError:
        return False
    return (
        record.get("size") == path.stat().st_size
        and (not expected.md5 or record.get("md5") == expected.md5)
        and (not expected.sha256 or record.get("sha256") == expected.sha256)
    )


def mismatch_path(final: Path) -> Path:
    """Where a file that failed verification is set aside: ``<file>.mismatch`` (never under the final name)."""
    return final.with_name(final.name + ".mismatch")


def mismatched_origins(final: Path) -> list[str]:
    """Sources that delivered a mismatching ``final`` before (while its ``.mismatch`` file is kept)."""
    if not mismatch_path(final).is_file():
        return []
    return _read_record(Path(f"{mismatch_path(final)}.json")).get("sources", [])


def _set_aside(path: Path, final: Path, hashes: _Hashes, problem: str, origin: str) -> DownloadError:
    """Move a file that failed verification to ``<final>.mismatch``, remember its source, say so."""
    aside = mismatch_path(final)
    os.replace(path, aside)
    sources = sorted({*mismatched_origins(final), redact(origin)})  # earlier wrong sources stay refused
    record = {"sources": sources, "size": hashes.size, "sha256": hashes.sha256.hexdigest()}
    write_text_atomic(Path(f"{aside}.json"), json.dumps(record, indent=1))
    return DownloadError(f"{final.name} from {redact(origin)} does not match the registry ({problem}); set aside as "
                         f"{aside.name} (sha256 {hashes.sha256.hexdigest()}); that source is not asked again "
                         f"while {aside.name} exists")


def _publish(part: Path, final: Path, hashes: _Hashes, expected: AssetFile, origin: str) -> Path:
    """Check a finished download; rename it to ``final`` and write its marker, or set it aside."""
    problem = hashes.mismatch(expected)
    if problem:
        raise _set_aside(part, final, hashes, problem, origin)
    if not (expected.md5 or expected.sha256):
        print(f"note: the registry has no checksum for {final.name}; its sha256 is {hashes.sha256.hexdigest()} "
              f"(size {hashes.size}); pin it in labkit/data/assets.yaml")
    os.replace(part, final)  # the final name only ever holds a verified file
    _write_marker(final, hashes, origin)
    return final


def _write_marker(final: Path, hashes: _Hashes, origin: str) -> None:
    """The ``.verified`` marker: size, checksums and where the file came from (never a key: it may go to Drive)."""
    record = {"size": hashes.size, "md5": hashes.md5.hexdigest(), "sha256": hashes.sha256.hexdigest(), "source": redact(origin)}
    write_text_atomic(marker_path(final), json.dumps(record, indent=1))


def _copy_stream(src: BinaryIO, dst: BinaryIO, hashes: _Hashes, bar: tqdm, first: bytes = b"",
                 limit: int | None = None) -> None:
    """Copy ``first`` and then the stream chunk by chunk, hashing and counting as it goes (at most ``limit`` bytes)."""
    for chunk in itertools.chain([first] if first else [], iter(lambda: src.read(CHUNK), b"")):
        if limit is not None and hashes.size + len(chunk) > limit:
            raise TooLarge(f"more than the {limit} bytes expected")
        dst.write(chunk)
        hashes.update(chunk)
        bar.update(len(chunk))


# ---------------------------------------------------------------- the sources


def copy_verified(src: Path, final: Path, expected: AssetFile, progress: bool = True) -> Path:
    """Copy a file (e.g. from the Drive mount) through ``.part``, hashing it on the way."""
    part = final.with_name(final.name + ".part")
    hashes = _Hashes()
    with open(src, "rb") as fin, open(part, "wb") as fout, _bar(final.name, src.stat().st_size, 0, progress) as bar:
        _copy_stream(fin, fout, hashes, bar)
    return _publish(part, final, hashes, expected, f"copy of {src}")


def _bar(name: str, total: int | None, initial: int, progress: bool) -> tqdm:
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=name, disable=not progress, leave=False)


def _validator_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")  # source URL, ETag / Last-Modified of the server copy being resumed


def _read_record(path: Path) -> dict:
    """A small JSON record (the validator beside a ``.part``, the note beside a ``.mismatch``); {} when absent or torn."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _range_fits(header: str | None, have: int, size: int | None) -> bool:
    """A 206 continues our ``.part`` only if its Content-Range starts at ``have`` and runs to the end of the expected file."""
    got = content_range(header)
    if got is None or got[0] != have:
        return False
    _, end, total = got
    return total is None or (end == total - 1 and (size is None or total == size))


def _is_html_page(headers, head: bytes) -> bool:
    """An HTML page (declared and looking like one) where a data file was expected."""
    return "text/html" in (headers.get("Content-Type") or "") and head.lstrip()[:1] == b"<"


def _html_refusal(url: str, file: str, page: bytes) -> DownloadError:
    """An HTML page instead of the file: a Drive quota/permission page, or a login/error page."""
    text = re.sub(r"<[^>]+>", " ", page.decode("utf-8", "replace"))
    if QUOTA_PATTERN.search(text):
        return QuotaError(quota_message(file, text))
    return DownloadError(f"{url} returned an HTML page instead of {file}: {' '.join(text.split())[:200]}")


def http_download(
    url: str,
    final: Path,
    expected: AssetFile,
    timeout: float = 60.0,
    retries: int = 5,
    backoff: float = 2.0,
    progress: bool = True,
    limit: int = UNKNOWN_SIZE_LIMIT,
    rate_limit_wait: float = RATE_LIMIT_WAIT,
) -> Path:
    """Download ``url`` to ``final`` through a resumable, hashed ``.part`` file; return ``final``.

    At most ``expected.size`` bytes (``limit`` when the size is not published) are taken.
    """
    part = final.with_name(final.name + ".part")
    validator_file = _validator_path(part)
    shown = redact(url)  # the URL as messages, validators and markers show it: without a KAIST key
    limit = expected.size if expected.size is not None else limit
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        have = part.stat().st_size if part.exists() else 0
        validator = _read_record(validator_file) if have else {}
        if have and validator.get("url") != shown:  # bytes of unknown or another origin: never splice two sources
            part.unlink()
            have = 0
        headers = {}
        if have:
            headers["Range"] = f"bytes={have}-"
            if validator.get("etag") or validator.get("last_modified"):
                headers["If-Range"] = validator.get("etag") or validator["last_modified"]  # changed file -> 200
        try:
            with http_open(url, headers, timeout) as response:
                if response.status == 206 and not _range_fits(response.headers.get("Content-Range"), have, expected.size):
                    part.unlink(missing_ok=True)  # bytes we did not ask for, or of another file: discard, start over
                    last_error = DownloadError(f"206 with Content-Range {response.headers.get('Content-Range')!r} "
                                               f"for bytes {have}- of {expected.size or '?'}")
                    continue
                if response.status != 206:
                    have = 0  # a 200 (the server ignored Range, or If-Range saw a changed file) restarts the file
                length = response.headers.get("Content-Length")
                total = have + int(length) if length is not None else expected.size
                head = response.read(min(CHUNK, limit - have + 1))
                if _is_html_page(response.headers, head):
                    raise _html_refusal(shown, final.name, head)
                if total is not None and total != (expected.size or total) or (total or 0) > limit:
                    raise DownloadError(f"{shown} announces {total} bytes for {final.name}, expected "
                                        f"{expected.size or f'at most {limit}'}: not downloaded")
                write_text_atomic(validator_file, json.dumps({
                    "url": shown, "etag": response.headers.get("ETag"), "last_modified": response.headers.get("Last-Modified")}))
                hashes = _Hashes().feed_file(part) if have else _Hashes()  # the kept prefix is hashed once
                try:
                    with open(part, "ab" if have else "wb") as out, _bar(final.name, total, have, progress) as bar:
                        _copy_stream(response, out, hashes, bar, first=head, limit=limit)
                except TooLarge as error:
                    part.unlink(missing_ok=True)
                    validator_file.unlink(missing_ok=True)
                    raise TooLarge(f"{shown} sent {final.name} with {error}; stopped and deleted the partial file") from None
                if total is not None and hashes.size != total:
                    raise http.client.IncompleteRead(b"", total - hashes.size)
            validator_file.unlink(missing_ok=True)
            return _publish(part, final, hashes, expected, shown)
        except urllib.error.HTTPError as error:
            if error.code in (403, 429) and _is_html_page(error.headers, page := error.read(1 << 16)):
                refusal = _html_refusal(shown, final.name, page)
                if isinstance(refusal, QuotaError):
                    raise refusal from None  # Drive answers quota with an HTML page; other pages get the status's treatment
            if error.code == 416:  # our part is longer than the file: start over
                part.unlink(missing_ok=True)
            elif not is_transient(error):
                raise DownloadError(failure(error, url)) from None  # from None: error.url has the key
            last_error = error
        except (OSError, http.client.HTTPException) as error:
            if not is_transient(error):
                raise DownloadError(failure(error, url) or f"{shown}: {error}") from None
            last_error = error  # dropped or stalled transfer: keep the part, resume next try
        if attempt < retries:
            try:
                time.sleep(retry_wait(last_error, attempt, backoff, rate_limit_wait))
            except PermanentError as error:
                raise DownloadError(f"{shown}: {error}") from None
    reason = getattr(last_error, "reason", None) or last_error
    kept = part.stat().st_size if part.exists() else 0
    tail = (f"the partial file {part.name} ({kept} bytes) is kept and the next run resumes it" if kept
            else "nothing was kept")
    raise DownloadError(f"{shown}: gave up after {retries + 1} tries ({type(last_error).__name__}: {reason}); {tail}")


def drive_download(file_id: str, final: Path, expected: AssetFile, timeout: float = 60.0, retries: int = 5) -> Path:
    """Fetch a Google Drive file with gdown (5.x or 6.x) into a staging name, then verify it."""
    import gdown

    staging = final.with_name(final.name + ".gdown")  # gdown's output; only verified bytes get the final name
    kwargs = {"id": file_id, "output": str(staging), "resume": True, "quiet": False}
    accepted = inspect.signature(gdown.download).parameters
    kwargs.update({k: v for k, v in (("retries", retries), ("timeout", timeout)) if k in accepted})
    refused = getattr(getattr(gdown, "exceptions", None), "FileURLRetrievalError", ())
    try:
        gdown.download(**kwargs)
    except refused as error:  # quota or permission, text wrapped across lines
        raise QuotaError(quota_message(final.name, str(error))) from error
    if not staging.is_file():
        raise DownloadError(f"Google Drive id {file_id}: gdown finished without writing {staging}")
    return _publish(staging, final, _Hashes().feed_file(staging), expected, f"Google Drive id {file_id}")


# ---------------------------------------------------------------- one file, one asset


@dataclass
class FetchOptions:
    """How to fetch: which source kinds, the KAIST key, the Drive cache, network patience."""

    sources: tuple[str, ...] = ("drive-mount", "drive", "http", "kaist", "hf")  # kinds tried, in registry order
    key: str = ""  # KAIST key; empty = $LABKIT_KAIST_KEY
    drive_cache: str = ""  # folder with copies on the Drive mount; empty = $LABKIT_DRIVE_CACHE or MyDrive/labkit_cache
    timeout: float = 60.0
    retries: int = 5
    backoff: float = 2.0
    rate_limit_wait: float = RATE_LIMIT_WAIT  # least wait after a 429 (tests use a fraction of a second)
    progress: bool = True


def source_kind(source: Source) -> str:
    """"drive", "hf", "kaist" (HTTP with a per-user key) or "http"."""
    return "kaist" if source.needs_key else source.kind


def drive_cache_dir(folder: str | Path = "") -> Path:
    """The Drive cache: ``folder``, else $LABKIT_DRIVE_CACHE, else MyDrive/labkit_cache on the Colab mount."""
    return Path(folder or os.environ.get(DRIVE_CACHE_ENV) or DEFAULT_DRIVE_CACHE)


def fetch_file(asset: Asset, expected: AssetFile, dest: Path, options: FetchOptions) -> Path:
    """One verified file of ``asset`` in ``dest``: reuse, copy from the Drive cache, or download."""
    final = dest / expected.name
    if is_verified(final, expected):
        return final
    if final.exists():  # e.g. copied in by hand: verify it instead of downloading again
        try:
            return _adopt(final, expected)
        except DownloadError as error:
            print(f"note: {error}")
    notes: list[str] = []  # one line per source tried or skipped
    quota: QuotaError | None = None
    key = options.key or os.environ.get(KAIST_KEY_ENV, "")
    cached = drive_cache_dir(options.drive_cache) / expected.name
    refused = mismatched_origins(final)  # sources that delivered a wrong file before: not asked again
    if "drive-mount" in options.sources and cached.is_file() and f"copy of {cached}" not in refused:
        try:
            started = time.perf_counter()
            restored = copy_verified(cached, final, expected, options.progress)
            print(f"restored {expected.name} from {cached.parent} in {time.perf_counter() - started:.1f} s (no download)")
            return restored
        except DownloadError as error:
            notes.append(str(error))
    for source in asset.sources:
        kind = source_kind(source)
        if kind not in options.sources:
            continue
        file_id = source.drive_ids.get(expected.name, "")
        origin = f"Google Drive id {file_id}" if kind == "drive" else redact(source.url(expected.name, key), key)
        if origin in refused:
            notes.append(f"{origin}: delivered a file that did not match on an earlier run (skipped; delete "
                         f"{mismatch_path(final).name} to try it again)")
            continue
        try:
            if kind == "drive":
                if not file_id:
                    notes.append(f"Google Drive: no course id for {expected.name} yet (skipped)")
                    continue
                return drive_download(file_id, final, expected, options.timeout, options.retries)
            if source.needs_key and not key:
                notes.append(f"{source.describe()}: needs your KAIST key ({KAIST_KEY_ENV} or --key; skipped)")
                continue
            if kind == "hf":
                return _hf_download(source, final, expected, origin, options.timeout)
            return http_download(source.url(expected.name, key), final, expected, options.timeout, options.retries,
                                 options.backoff, options.progress, asset.approx_bytes or UNKNOWN_SIZE_LIMIT,
                                 options.rate_limit_wait)
        except QuotaError as error:
            quota = error
            notes.append(f"{source.describe()}: quota/permission refusal")
        except DownloadError as error:
            notes.append(redact(str(error), key))
    tried = "\n  - ".join(notes) or "no source of the selected kinds"
    message = f"could not get a verified {expected.name} ({asset.name}). Tried:\n  - {tried}"
    raise (QuotaError(f"{message}\n{quota}") if quota else DownloadError(message))


def _hf_download(source: Source, final: Path, expected: AssetFile, origin: str, timeout: float) -> Path:
    """A Hugging Face file through ``huggingface_hub`` (token, retries, resume), then labkit's own checks."""
    staging = final.parent / ".hf"
    try:
        landed = hub_download(source, expected.name, staging, timeout)  # resumable pieces stay in .hf/
    except (OSError, PermanentError) as error:
        raise DownloadError(str(error)) from None
    try:
        return _publish(landed, final, _Hashes().feed_file(landed), expected, origin)
    finally:
        if not any(staging.rglob("*.incomplete")):  # keep only what a rerun would resume
            shutil.rmtree(staging, ignore_errors=True)


def _adopt(final: Path, expected: AssetFile) -> Path:
    """Verify a file that is already at its final name; set it aside (``.mismatch``) if it is wrong."""
    hashes = _Hashes().feed_file(final)
    problem = hashes.mismatch(expected)
    if problem:
        raise _set_aside(final, final, hashes, problem, "existing file")
    _write_marker(final, hashes, "existing file")
    return final


def fetch(name: str, dest: str | Path, options: FetchOptions | None = None, extract: bool = True,
          registry: dict[str, Asset] | None = None) -> Path:
    """Download (or reuse) every file of asset ``name`` into ``dest``, verify, unpack; return where it unpacked."""
    options = options or FetchOptions()
    asset = get_asset(name, registry)
    refuse_drive_mount(dest)
    folder, target = download_folder(asset, dest), Path(dest) / asset.unpack_to
    folder.mkdir(parents=True, exist_ok=True)
    missing = [f for f in asset.files if not is_verified(folder / f.name, f)]
    ensure_free_space(folder, asset.bytes_for(missing), f"downloading {name}")
    paths = [fetch_file(asset, f, folder, options) for f in asset.files]
    if extract and asset.unpack_format != "none":
        with open_parts(paths) as archive:  # split parts are read as one file
            safe_extract(archive, target, kind=asset.unpack_format, progress=options.progress)
    return target


def download_folder(asset: Asset, dest: str | Path) -> Path:
    """Where the asset's files land: archives in ``dest``, plain files directly where they belong."""
    return Path(dest) / asset.unpack_to if asset.unpack_format == "none" else Path(dest)


def download(names: Iterable[str], dest: str | Path, options: FetchOptions | None = None, extract: bool = True,
             persist: bool | None = None) -> list[Path]:
    """``labkit download``: fetch several assets (and keep copies in the Drive cache); return where each unpacked.

    ``persist=None`` keeps copies when a Drive cache is chosen (``keeps_copies``); a full Drive then
    only prints a note, while ``persist=True`` makes it an error.
    """
    options = options or FetchOptions()
    registry = load_registry()
    targets = []
    for name in names:
        targets.append(fetch(name, dest, options, extract, registry))
        if persist or (persist is None and keeps_copies(options.drive_cache)):
            try:
                persist_to_drive(name, dest, options.drive_cache or None, registry)
            except NotEnoughSpace as error:
                if persist:
                    raise
                print(f"note: {error}")
    return targets


def keeps_copies(drive_cache: str = "") -> bool:
    """True when a Drive cache is chosen: named here or in $LABKIT_DRIVE_CACHE, or MyDrive/labkit_cache exists."""
    return bool(drive_cache or os.environ.get(DRIVE_CACHE_ENV)) or DEFAULT_DRIVE_CACHE.is_dir()


# ---------------------------------------------------------------- keeping archives on Drive between sessions


def persist_to_drive(name: str, dest: str | Path, drive_cache: str | Path | None = None,
                     registry: dict[str, Asset] | None = None) -> list[Path]:
    """Copy the verified files of asset ``name`` from ``dest`` into the Drive cache (atomically)."""
    asset = get_asset(name, registry)
    cache = drive_cache_dir(drive_cache or "")
    missing = [f for f in asset.files if not is_verified(cache / f.name, f)]
    ensure_free_space(cache, asset.bytes_for(missing), f"keeping {name} on Drive")  # a free Drive holds 15 GB
    cache.mkdir(parents=True, exist_ok=True)
    saved = []
    for expected in asset.files:
        src, out = download_folder(asset, dest) / expected.name, cache / expected.name
        if not is_verified(src, expected):
            raise DownloadError(f"{src} is not a verified download of {name}; run labkit download {name} first")
        if not is_verified(out, expected):
            with atomic_path(out) as tmp:
                shutil.copyfile(src, tmp)
            write_text_atomic(marker_path(out), redact(marker_path(src).read_text()))  # markers of older versions held the URL key
        saved.append(out)
    return saved
