"""Safe extraction of zip and tar archives, split parts read as one file, remote zips over HTTP Range.

``safe_extract`` checks every member before writing anything: no absolute paths, no ``..``,
no links that leave the target, no device files, no member that inflates more than
``max_ratio`` times (zip bombs). Each member is written to ``<name>.part`` and renamed, so an
interrupted extraction resumes where it stopped (finished members are skipped).

``open_parts`` reads ``vox2_dev_aac_parta{a..h}`` as one seekable zip (no 77 GB ``cat`` copy);
``open_remote_parts`` does the same over HTTP Range requests, counting the bytes it fetches.
"""

from __future__ import annotations

import bisect
import io
import os
import re
import shutil
import stat
import tarfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

from tqdm.auto import tqdm

MAX_RATIO = 200  # refuse members that inflate more than this (VoxCeleb wav/m4a stay below 2)


class UnsafeArchive(ValueError):
    """An archive member that would write outside the target, or a likely zip bomb."""


class NotEnoughSpace(RuntimeError):
    """The destination disk cannot hold what is about to be written."""


def ensure_free_space(folder: str | Path, needed: int, what: str, margin: float = 1.05) -> None:
    """Raise NotEnoughSpace unless ``folder``'s disk has ``needed`` bytes (plus 5%) free."""
    folder = Path(folder)
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    if needed * margin > free:
        raise NotEnoughSpace(
            f"not enough disk space for {what} in {folder}: needs {needed / 1e9:.2f} GB "
            f"(+5%), {free / 1e9:.2f} GB free. Free some space or choose another destination."
        )


# ---------------------------------------------------------------- several parts as one file


class ConcatFile(io.RawIOBase):
    """Read-only, seekable view of byte sources laid end to end (subclasses read one part)."""

    def __init__(self, sizes: Sequence[int]):
        super().__init__()
        self.sizes = list(sizes)
        self.starts = [sum(self.sizes[:i]) for i in range(len(self.sizes))]  # offset of each part
        self.size = sum(self.sizes)
        self.pos = 0

    def _read_part(self, index: int, offset: int, n: int) -> bytes:
        raise NotImplementedError

    def read_at(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the whole, crossing part boundaries as needed."""
        chunks = []
        while start < end:
            index = bisect.bisect_right(self.starts, start) - 1
            n = min(end, self.starts[index] + self.sizes[index]) - start
            chunks.append(self._read_part(index, start - self.starts[index], n))
            start += n
        return b"".join(chunks)

    def readinto(self, buffer) -> int:
        end = min(self.pos + len(buffer), self.size)
        data = self.read_at(self.pos, end) if end > self.pos else b""
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos


class MultiPartFile(ConcatFile):
    """Local split parts (``split -b``) read as one file, without copying them together."""

    def __init__(self, paths: Sequence[str | Path]):
        self.files = [open(p, "rb") for p in paths]
        super().__init__([os.fstat(f.fileno()).st_size for f in self.files])

    def _read_part(self, index: int, offset: int, n: int) -> bytes:
        f = self.files[index]
        f.seek(offset)
        return f.read(n)

    def close(self) -> None:
        for f in self.files:
            f.close()
        super().close()


class RemoteParts(ConcatFile):
    """Remote split parts read with HTTP Range requests; ``prefetch`` loads whole byte ranges at once.

    ``bytes_fetched`` and ``requests`` count the traffic, so a caller can check what a subset cost.
    """

    def __init__(self, urls: Sequence[str], sizes: Sequence[int] | None = None, timeout: float = 60.0,
                 retries: int = 3, readahead: int = 1 << 16, connections: int = 8):
        self.urls, self.timeout, self.retries, self.readahead = list(urls), timeout, retries, readahead
        self.connections = connections  # parallel range requests in prefetch: latency, not bandwidth, limits many small ranges
        self.bytes_fetched = self.requests = 0
        self.lock = threading.Lock()
        self.cache: list[tuple[int, bytes]] = []  # (start, data) of prefetched ranges, sorted by start
        super().__init__(list(sizes) if sizes else [self._remote_size(u) for u in self.urls])

    def _remote_size(self, url: str) -> int:
        request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "labkit"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return int(response.headers["Content-Length"])

    def _read_part(self, index: int, offset: int, n: int) -> bytes:
        url, last = self.urls[index], offset + n - 1
        for attempt in range(self.retries + 1):
            try:
                request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-{last}", "User-Agent": "labkit"})
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if response.status != 206 or not (response.headers.get("Content-Range") or "").startswith(f"bytes {offset}-{last}/"):
                        raise ValueError(f"{url} does not serve byte ranges (status {response.status}); "
                                         "download the parts instead (labkit download voxceleb2_dev)")
                    data = response.read()
                    with self.lock:
                        self.requests += 1
                        self.bytes_fetched += len(data)
                    if len(data) == n:
                        return data
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
                if isinstance(error, urllib.error.HTTPError) and error.code < 500:
                    raise ValueError(f"{url}: HTTP {error.code} {error.reason}") from error
            time.sleep(0.5 * 2**attempt)
        raise OSError(f"{url}: bytes {offset}-{last} not received after {self.retries + 1} tries")

    def prefetch(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Replace the cache with these ``[start, end)`` ranges: one request each (per part), several at once."""
        ranges = list(ranges)
        with ThreadPoolExecutor(self.connections) as pool:
            blocks = list(pool.map(lambda r: self.read_at(*r), ranges))
        self.cache = sorted(zip([start for start, _ in ranges], blocks))

    def readinto(self, buffer) -> int:
        index = bisect.bisect_right(self.cache, (self.pos, b"\xff")) - 1
        if index >= 0:
            start, data = self.cache[index]
            if start <= self.pos < start + len(data):  # served from a prefetched range
                piece = data[self.pos - start : self.pos - start + len(buffer)]
                buffer[: len(piece)] = piece
                self.pos += len(piece)
                return len(piece)
        want = max(len(buffer), self.readahead)  # small zip header reads: fetch a little ahead
        end = min(self.pos + want, self.size)
        if end <= self.pos:
            return 0
        bisect.insort(self.cache, (self.pos, self.read_at(self.pos, end)))  # keep the prefetched ranges
        return self.readinto(buffer)


def open_parts(paths: Sequence[str | Path]) -> BinaryIO:
    """One seekable binary file over one or more local parts."""
    return io.BufferedReader(MultiPartFile(paths), buffer_size=1 << 20)


# ---------------------------------------------------------------- safe extraction


def _member_path(target: Path, name: str) -> Path:
    """The path a member would get under ``target``; UnsafeArchive if it could land outside."""
    parts = re.split(r"[\\/]+", name)
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        raise UnsafeArchive(f"member {name!r}: absolute path")
    if ".." in parts:
        raise UnsafeArchive(f"member {name!r}: '..' would leave the target folder")
    path = target.joinpath(*[p for p in parts if p not in ("", ".")])
    if not path.resolve().is_relative_to(target.resolve()):
        raise UnsafeArchive(f"member {name!r}: resolves outside {target}")
    return path


def _check_link(target: Path, path: Path, link: str, name: str) -> None:
    """Links may point only inside the target (relative to the link's own folder)."""
    if os.path.isabs(link) or not (path.parent / link).resolve().is_relative_to(target.resolve()):
        raise UnsafeArchive(f"member {name!r}: link to {link!r} leaves the target folder")


def _write_member(src: BinaryIO, path: Path, limit: int, bar: tqdm) -> None:
    """Stream one member to ``<path>.part`` (at most ``limit`` bytes), then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    written = 0
    try:
        with open(part, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):  # the last read checks the CRC-32 (zip)
                written += len(chunk)
                if written > limit:
                    raise UnsafeArchive(f"member {path.name}: inflates beyond its declared {limit} bytes")
                out.write(chunk)
                bar.update(len(chunk))
    except BaseException:
        part.unlink(missing_ok=True)  # a bad or interrupted member leaves nothing behind
        raise
    os.replace(part, path)


@dataclass
class _Member:
    """One checked archive member and what to do with it."""

    info: zipfile.ZipInfo | tarfile.TarInfo
    path: Path  # where it goes, inside the target
    kind: str  # "dir", "file", "link" (symlink) or "hardlink" (a copy of an earlier member)
    size: int = 0
    link: str = ""  # symlink target, or the archive name a hard link copies


def _zip_plan(zf: zipfile.ZipFile, target: Path, max_ratio: float) -> list[_Member]:
    """Check every zip member before anything is written."""
    plan = []
    for info in zf.infolist():
        path = _member_path(target, info.filename)
        mode = info.external_attr >> 16  # Unix mode bits, when the zip was made on Unix
        if stat.S_ISLNK(mode):
            link = zf.read(info).decode("utf-8", "replace")  # a zip symlink stores its target as data
            _check_link(target, path, link, info.filename)
            plan.append(_Member(info, path, "link", link=link))
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchive(f"member {info.filename!r}: device or special file")
        elif info.is_dir():
            plan.append(_Member(info, path, "dir"))
        else:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > max_ratio and info.file_size > 1 << 20:  # small members cannot fill a disk
                raise UnsafeArchive(f"member {info.filename!r}: compression ratio {ratio:.0f} > {max_ratio} (zip bomb?)")
            plan.append(_Member(info, path, "file", info.file_size))
    return plan


def _tar_plan(tf: tarfile.TarFile, target: Path, archive_size: int, max_ratio: float) -> list[_Member]:
    """Check every tar member before anything is written (the whole archive for the tar-bomb ratio)."""
    plan = []
    for info in tf.getmembers():
        path = _member_path(target, info.name)
        if info.issym():
            _check_link(target, path, info.linkname, info.name)
            plan.append(_Member(info, path, "link", link=info.linkname))
        elif info.islnk():
            _member_path(target, info.linkname)  # the file it copies must be inside too
            plan.append(_Member(info, path, "hardlink", link=info.linkname))
        elif info.isdir():
            plan.append(_Member(info, path, "dir"))
        elif info.isreg():
            plan.append(_Member(info, path, "file", info.size))
        else:
            raise UnsafeArchive(f"member {info.name!r}: device, fifo or special file")
    total = sum(m.size for m in plan)
    if total > max_ratio * max(archive_size, 1) and total > 1 << 20:
        raise UnsafeArchive(f"tar inflates {total / max(archive_size, 1):.0f}x > {max_ratio} (tar bomb?)")
    return plan


def _open_archive(archive: str | Path | BinaryIO, kind: str) -> zipfile.ZipFile | tarfile.TarFile:
    if kind == "zip":
        return zipfile.ZipFile(archive)
    if isinstance(archive, (str, Path)):
        return tarfile.open(archive, "r:*")  # any compression
    return tarfile.open(fileobj=archive, mode="r:*")


def _archive_size(archive: str | Path | BinaryIO) -> int:
    """Bytes of a path or of a seekable file (whose position is left where it was)."""
    if isinstance(archive, (str, Path)):
        return Path(archive).stat().st_size
    position = archive.tell()
    size = archive.seek(0, io.SEEK_END)
    archive.seek(position)
    return size


def safe_extract(archive: str | Path | BinaryIO, target: str | Path, kind: str = "zip",
                 members: Iterable[str] | None = None, max_ratio: float = MAX_RATIO, progress: bool = True) -> list[Path]:
    """Extract a zip or tar (any compression) into ``target`` after checking every member; return the files.

    ``members`` limits extraction to those names. Members already present with their full size are
    skipped, so a second call after an interruption finishes the job.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    wanted = set(members) if members is not None else None
    archive_size = _archive_size(archive)
    with _open_archive(archive, kind) as handle:
        if kind == "zip":
            plan = _zip_plan(handle, target, max_ratio)
        else:
            plan = _tar_plan(handle, target, archive_size, max_ratio)
        if wanted is not None:
            plan = [m for m in plan if (m.info.filename if kind == "zip" else m.info.name) in wanted]
        todo = [m for m in plan if not (m.kind == "file" and m.path.is_file() and m.path.stat().st_size == m.size)]
        needed = sum(m.size for m in todo)  # finished members are skipped: resume
        ensure_free_space(target, needed, f"extracting {len(todo)} members")
        with tqdm(total=needed, unit="B", unit_scale=True, desc=f"extract {target.name}", disable=not progress, leave=False) as bar:
            for m in todo:
                m.path.parent.mkdir(parents=True, exist_ok=True)
                if m.kind == "dir":
                    m.path.mkdir(exist_ok=True)
                elif m.kind == "link":
                    m.path.unlink(missing_ok=True)
                    os.symlink(m.link, m.path)
                elif m.kind == "hardlink":
                    shutil.copyfile(_member_path(target, m.link), m.path)
                else:
                    with handle.open(m.info) if kind == "zip" else handle.extractfile(m.info) as src:
                        _write_member(src, m.path, m.size, bar)  # zipfile checks the CRC-32 at the end
    return [m.path for m in plan if m.kind in ("file", "hardlink")]
