"""Atomic writes: the old file survives any failure, and no temporary file is left behind."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest

from labkit.files import atomic_path, sha256_file, write_bytes_atomic, write_text_atomic


def test_write_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "scores.txt"
    write_text_atomic(target, "old\n")
    write_text_atomic(target, "new\n", fsync=True)
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["scores.txt"]


def test_failure_keeps_the_old_file(tmp_path):
    target = write_bytes_atomic(tmp_path / "model.pt", b"good weights")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"good weights"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_temporary_keeps_the_suffix(tmp_path):
    with atomic_path(tmp_path / "figure.pdf") as tmp:
        assert tmp.suffix == ".pdf" and tmp.parent == tmp_path and tmp.name.startswith(".")
        tmp.write_bytes(b"%PDF")
    assert (tmp_path / "figure.pdf").read_bytes() == b"%PDF"


def test_killed_writer_never_leaves_a_partial_file(tmp_path):
    target = write_bytes_atomic(tmp_path / "answers.json", b"{}" * 1000)
    writer = (
        "import sys; from labkit.files import write_bytes_atomic\n"
        "while True: write_bytes_atomic(sys.argv[1], b'x' * 5_000_000)\n"
    )
    for _ in range(5):
        process = subprocess.Popen([sys.executable, "-c", writer, str(target)])
        time.sleep(0.4)
        process.kill()
        process.wait()
        assert target.read_bytes() in (b"{}" * 1000, b"x" * 5_000_000)  # old or new, never a mixture


@pytest.fixture
def umask():
    """Set the process umask for one test and put the previous one back."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_files_follow_the_umask_as_open_would(tmp_path, umask, mask, mode):
    umask(mask)
    written = write_text_atomic(tmp_path / "config.yaml", "a: 1\n")
    with open(tmp_path / "opened.yaml", "w") as plain:
        plain.write("a: 1\n")
    assert (written.stat().st_mode & 0o777) == (tmp_path / "opened.yaml").stat().st_mode & 0o777 == mode


def test_a_rewritten_file_keeps_its_permissions(tmp_path, umask):
    target = write_text_atomic(tmp_path / "scores.txt", "old\n")
    target.chmod(0o600)  # the owner chose to make it private
    write_text_atomic(target, "new\n")
    assert target.stat().st_mode & 0o777 == 0o600


def test_sha256_file_streams_the_file(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than three read chunks
    (tmp_path / "model.pt").write_bytes(data)
    assert sha256_file(tmp_path / "model.pt") == hashlib.sha256(data).hexdigest()
    assert sha256_file(write_bytes_atomic(tmp_path / "empty", b"")) == hashlib.sha256(b"").hexdigest()
