"""Writing files so that nothing already written is ever lost or half-written.

Every file labkit writes (checkpoints, answers, downloads, score files, figures) goes to a
temporary name in the same folder first and is renamed over the final name only once it is
complete: ``os.replace`` is atomic, so a reader (or a notebook re-run after a disconnect) sees
either the old file or the new one, never a mixture. The file gets the permissions ``open()``
would give it (so an instructor can read what students write to a shared folder), and
``sha256_file`` is the one checksum every module uses.

It also holds the two places every module finds files from: the repository checkout and
Colab's Drive mount (whose parent, ``/content``, is the VM's local disk).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent  # the checkout: configs/ and report_template/ sit beside the package
COLAB_DRIVE = Path("/content/drive")  # where Colab mounts Google Drive (answers, checkpoints and downloads persist there)
CHUNK = 1 << 20  # bytes read at a time when hashing: memory stays flat for files of any size


def open_mode(path: Path) -> int:
    """The permission bits ``open(path, "w")`` would leave: the existing file's, else 0o666 minus the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)  # the only way to read the umask is to set it: put it straight back
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_path(path: str | Path, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error it becomes ``path``.

    The temporary name keeps the final suffix (``.model.tmp123.pt``), so libraries that pick a
    format from the suffix (``savefig``, ``np.savez``) behave. On error it is removed and ``path``
    is untouched. ``fsync=True`` also flushes the data to the disk before the rename, and the
    folder after it, for files that must survive a crash of the whole machine (the answers).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, open_mode(path))  # mkstemp makes 0600 files: readable by their owner only
        if fsync:
            with open(tmp, "rb") as written:
                os.fsync(written.fileno())
        os.replace(tmp, path)
        if fsync:  # make the rename itself durable too
            folder = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str, fsync: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path``."""
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes as 64 hex digits, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
