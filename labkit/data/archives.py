"""Safe extraction of zip and tar archives, and split parts read as one file.

``safe_extract`` checks every member before writing anything: no absolute paths, no ``..``,
no links that leave the target, no device files, no member that inflates more than
``max_ratio`` times (zip bombs), no path through a symlink the archive itself creates (links
are made last). Each member is written to a temporary name and renamed, so an interrupted
extraction resumes where it stopped (finished members are skipped).

``open_parts`` reads ``vox2_dev_aac_parta{a..h}`` as one seekable zip (no 77 GB ``cat`` copy);
``labkit.data.http.RemoteParts`` does the same over HTTP Range requests.
"""

from __future__ import annotations

import bisect
import io
import os
import re
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

from tqdm.auto import tqdm

from labkit.errors import LabkitError
from labkit.files import atomic_path

MAX_RATIO = 200  # refuse members that inflate more than this (VoxCeleb wav/m4a stay below 2)
MAX_LINK_BYTES = 4096  # a zip symlink stores its target as data: longer is not a path (PATH_MAX)
MAX_NAME_BYTES = 255  # longest file or folder name on ext4, NTFS, APFS and Drive's FUSE mount
SMALL_ARCHIVE = 1 << 20  # an archive that inflates to less than this cannot fill a disk, whatever its ratio


class UnsafeArchive(LabkitError, ValueError):
    """An archive member that would write outside the target, or a likely zip bomb."""


class NotEnoughSpace(LabkitError, RuntimeError):
    """The destination disk cannot hold what is about to be written."""


def human_size(n: float) -> str:
    """Bytes with three significant digits and a decimal unit: 512 B, 307 kB, 1.07 GB."""
    units = ["B", "kB", "MB", "GB", "TB"]
    while abs(n) >= 999.5 and len(units) > 1:  # 999.5 would round up to "1e+03"
        n /= 1000
        units.pop(0)
    return f"{n:.0f} B" if units[0] == "B" else f"{n:.3g} {units[0]}"


def ensure_free_space(folder: str | Path, needed: int, what: str, margin: float = 1.05) -> None:
    """Raise NotEnoughSpace unless ``folder``'s disk has ``needed`` bytes (plus 5%) free."""
    folder = Path(folder)
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    if needed * margin > free:
        raise NotEnoughSpace(
            f"not enough disk space for {what} in {folder}: needs {human_size(needed)} "
            f"(+5%), {human_size(free)} free. Free some space or choose another destination."
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
        """Bytes ``[start, end)`` of the whole (``end`` clamped to the size), crossing part boundaries as needed."""
        chunks, end = [], min(end, self.size)
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
    too_long = next((p for p in parts if len(os.fsencode(p)) > MAX_NAME_BYTES), None)
    if too_long is not None:
        raise UnsafeArchive(f"member {name[:80]!r}...: a name of {len(os.fsencode(too_long))} bytes; "
                            f"file systems allow {MAX_NAME_BYTES} per folder or file name")
    path = target.joinpath(*[p for p in parts if p not in ("", ".")])
    if not path.resolve().is_relative_to(target.resolve()):
        raise UnsafeArchive(f"member {name!r}: resolves outside {target}")
    return path


def _check_link(target: Path, path: Path, link: str, name: str) -> None:
    """Links may point only inside the target (relative to the link's own folder)."""
    if os.path.isabs(link) or not (path.parent / link).resolve().is_relative_to(target.resolve()):
        raise UnsafeArchive(f"member {name!r}: link to {link!r} leaves the target folder")


def _inside(target: Path, path: Path, name: str) -> None:
    """Checked again just before writing: ``path`` as it now exists on disk resolves inside the target."""
    if not path.resolve().is_relative_to(target.resolve()):
        raise UnsafeArchive(f"member {name!r}: {path} now resolves outside {target}")


def _write_member(src: BinaryIO, path: Path, limit: int, bar: tqdm) -> None:
    """Stream one member to a temporary name (at most ``limit`` bytes), then rename it into place."""
    written = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as out:  # a bad or interrupted member leaves nothing behind
        for chunk in iter(lambda: src.read(1 << 20), b""):  # the last read checks the CRC-32 (zip)
            written += len(chunk)
            if written > limit:
                raise UnsafeArchive(f"member {path.name}: inflates beyond its declared {limit} bytes")
            out.write(chunk)
            bar.update(len(chunk))


@dataclass
class _Member:
    """One checked archive member and what to do with it."""

    info: zipfile.ZipInfo | tarfile.TarInfo
    path: Path  # where it goes, inside the target
    kind: str  # "dir", "file", "link" (symlink) or "hardlink" (a copy of an earlier member)
    size: int = 0
    link: str = ""  # symlink target as stored
    source: Path | None = None  # the file a hard link copies, inside the target

    @property
    def name(self) -> str:
        return self.info.filename if isinstance(self.info, zipfile.ZipInfo) else self.info.name


def _refuse_paths_through_links(plan: list[_Member], target: Path) -> None:
    """No member, and no link target, may pass through a symlink that the archive itself creates.

    Checked on the names, before anything exists on disk: ``sub/link -> ..`` followed by
    ``sub/link/up -> ..`` and ``sub/link/up/x`` would otherwise chain out of the target.
    """
    links = {m.path for m in plan if m.kind == "link"}
    for m in plan:
        passes = list(m.path.parents)  # the member's own folders
        if m.kind == "link":
            pointed = Path(os.path.normpath(m.path.parent / m.link))  # what the link names, on paper
            passes += [pointed, *pointed.parents]
        elif m.kind == "hardlink":
            passes += [m.source, *m.source.parents]
        through = next((p for p in passes if p in links), None)
        if through is not None:
            raise UnsafeArchive(f"member {m.name!r}: goes through the archive's own symlink {through.relative_to(target)}")


def _zip_plan(zf: zipfile.ZipFile, target: Path, max_ratio: float) -> list[_Member]:
    """Check every zip member before anything is written."""
    plan = []
    for info in zf.infolist():
        path = _member_path(target, info.filename)
        mode = info.external_attr >> 16  # Unix mode bits, when the zip was made on Unix
        if stat.S_ISLNK(mode):
            if info.file_size > MAX_LINK_BYTES:  # checked before reading: the "target" could be gigabytes
                raise UnsafeArchive(f"member {info.filename!r}: symlink of {info.file_size} bytes is not a path")
            link = zf.read(info).decode("utf-8", "replace")  # a zip symlink stores its target as data
            _check_link(target, path, link, info.filename)
            plan.append(_Member(info, path, "link", link=link))
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchive(f"member {info.filename!r}: device or special file")
        elif info.is_dir():
            plan.append(_Member(info, path, "dir"))
        else:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > max_ratio and info.file_size > SMALL_ARCHIVE:
                raise UnsafeArchive(f"member {info.filename!r}: compression ratio {ratio:.0f} > {max_ratio} (zip bomb?)")
            plan.append(_Member(info, path, "file", info.file_size))
    _refuse_bomb(plan, sum(i.compress_size for i in zf.infolist()), max_ratio, "zip")
    _refuse_paths_through_links(plan, target)
    _refuse_file_folder_clash(plan, target)
    return plan


def _refuse_bomb(plan: list[_Member], stored: int, max_ratio: float, kind: str) -> None:
    """The whole archive may not inflate more than ``max_ratio`` times (many small members add up too)."""
    total = sum(m.size for m in plan)
    if total > max_ratio * max(stored, 1) and total > SMALL_ARCHIVE:
        raise UnsafeArchive(f"{kind} inflates {total / max(stored, 1):.0f}x ({total} bytes from {stored}) > {max_ratio} "
                            f"({kind} bomb?)")


def _refuse_file_folder_clash(plan: list[_Member], target: Path) -> None:
    """No member may be a file (or link) where another member needs a folder of the same name."""
    folders = {parent for m in plan for parent in m.path.parents}
    clash = next((m for m in plan if m.kind != "dir" and m.path in folders), None)
    if clash is not None:
        raise UnsafeArchive(f"member {clash.name!r}: a file, but other members need a folder "
                            f"{clash.path.relative_to(target).as_posix()}/ of the same name")


def _tar_plan(tf: tarfile.TarFile, target: Path, archive_size: int, max_ratio: float) -> list[_Member]:
    """Check every tar member before anything is written (the whole archive for the tar-bomb ratio)."""
    plan = []
    for info in tf.getmembers():
        path = _member_path(target, info.name)
        if info.issym():
            _check_link(target, path, info.linkname, info.name)
            plan.append(_Member(info, path, "link", link=info.linkname))
        elif info.islnk():
            source = _member_path(target, info.linkname)  # the file it copies must be inside too
            plan.append(_Member(info, path, "hardlink", link=info.linkname, source=source))
        elif info.isdir():
            plan.append(_Member(info, path, "dir"))
        elif info.isreg():
            plan.append(_Member(info, path, "file", info.size))
        else:
            raise UnsafeArchive(f"member {info.name!r}: device, fifo or special file")
    _refuse_bomb(plan, archive_size, max_ratio, "tar")
    _refuse_paths_through_links(plan, target)
    _refuse_file_folder_clash(plan, target)
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
            plan = [m for m in plan if m.name in wanted]
        todo = [m for m in plan if not (m.kind == "file" and m.path.is_file() and m.path.stat().st_size == m.size)]
        todo.sort(key=lambda m: ("dir", "file", "hardlink", "link").index(m.kind))  # symlinks last: nothing is written through them
        needed = sum(m.size for m in todo)  # finished members are skipped: resume
        ensure_free_space(target, needed, f"extracting {len(todo)} members")
        with tqdm(total=needed, unit="B", unit_scale=True, desc=f"extract {target.name}", disable=not progress, leave=False) as bar:
            for m in todo:
                m.path.parent.mkdir(parents=True, exist_ok=True)
                _inside(target, m.path.parent, m.name)
                if m.kind == "dir":
                    m.path.mkdir(exist_ok=True)
                elif m.kind == "link":
                    m.path.unlink(missing_ok=True)
                    os.symlink(m.link, m.path)
                elif m.kind == "hardlink":
                    _inside(target, m.source, m.name)
                    with atomic_path(m.path) as tmp:
                        shutil.copyfile(m.source, tmp)
                else:
                    with handle.open(m.info) if kind == "zip" else handle.extractfile(m.info) as src:
                        _write_member(src, m.path, m.size, bar)  # zipfile checks the CRC-32 at the end
    return [m.path for m in plan if m.kind in ("file", "hardlink")]
