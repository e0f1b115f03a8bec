"""Safe extraction: crafted zip/tar archives are refused before anything is written; split parts
read as one file, locally and over HTTP Range; interrupted extractions resume."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from httpserver import FileServer
from labkit.data.archives import RemoteParts, UnsafeArchive, open_parts, safe_extract


def make_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def zip_symlink(path: Path, name: str, target: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, target)
    return path


def make_tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None, mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for info in members:
            payload = (data or {}).get(info.name)
            info.size = len(payload) if payload is not None else info.size
            tf.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


def tar_info(name: str, kind=tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


@pytest.mark.parametrize("name, reason", [("../evil.txt", r"'\.\.'"), ("a/../../evil.txt", r"'\.\.'"),
                                          ("/tmp/evil.txt", "absolute"), ("C:/evil.txt", "absolute")])
def test_zip_traversal_and_absolute_paths_are_refused(tmp_path, name, reason):
    archive = make_zip(tmp_path / "bad.zip", {"ok.txt": b"fine", name: b"evil"})
    with pytest.raises(UnsafeArchive, match=reason):
        safe_extract(archive, tmp_path / "out", progress=False)
    assert list((tmp_path / "out").iterdir()) == []  # checked before writing anything
    assert not (tmp_path / "evil.txt").exists()


def test_zip_symlink_leaving_the_target_is_refused(tmp_path):
    with pytest.raises(UnsafeArchive, match="leaves the target"):
        safe_extract(zip_symlink(tmp_path / "l.zip", "link", "../../etc/passwd"), tmp_path / "out", progress=False)


def test_zip_bomb_is_refused(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"zeros.bin": bytes(50 << 20)})  # 50 MB of zeros -> ~50 kB
    assert archive.stat().st_size < 200_000
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        safe_extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "zeros.bin").exists()


@pytest.mark.parametrize("members, reason", [
    ([tar_info("../evil.txt")], r"'\.\.'"),
    ([tar_info("/etc/evil.txt")], "absolute"),
    ([tar_info("link", tarfile.SYMTYPE, "/etc/passwd")], "leaves the target"),
    ([tar_info("d/link", tarfile.SYMTYPE, "../../outside")], "leaves the target"),
    ([tar_info("hard", tarfile.LNKTYPE, "../../etc/passwd")], r"'\.\.'"),
    ([tar_info("dev", tarfile.CHRTYPE)], "device"),
    ([tar_info("fifo", tarfile.FIFOTYPE)], "device"),
])
def test_tar_traversal_links_and_devices_are_refused(tmp_path, members, reason):
    archive = make_tar(tmp_path / "bad.tar", [tar_info("ok.txt")] + members, {"ok.txt": b"fine"})
    with pytest.raises(UnsafeArchive, match=reason):
        safe_extract(archive, tmp_path / "out", kind="tar", progress=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_tar_bomb_is_refused(tmp_path):
    archive = make_tar(tmp_path / "bomb.tar.gz", [tar_info("zeros.bin")], {"zeros.bin": bytes(50 << 20)}, mode="w:gz")
    with pytest.raises(UnsafeArchive, match="tar bomb"):
        safe_extract(archive, tmp_path / "out", kind="tar", progress=False)


def test_tar_with_inside_links_extracts(tmp_path):
    members = [tar_info("a/data.txt"), tar_info("a/alias", tarfile.SYMTYPE, "data.txt"),
               tar_info("b/copy.txt", tarfile.LNKTYPE, "a/data.txt")]
    archive = make_tar(tmp_path / "ok.tar.gz", members, {"a/data.txt": b"hello"}, mode="w:gz")
    safe_extract(archive, tmp_path / "out", kind="tar", progress=False)
    assert (tmp_path / "out" / "a" / "alias").read_bytes() == b"hello"
    assert os.readlink(tmp_path / "out" / "a" / "alias") == "data.txt"
    assert (tmp_path / "out" / "b" / "copy.txt").read_bytes() == b"hello"


def test_bad_crc_is_detected_and_no_final_file_written(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"x.bin": os.urandom(5000)}, zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    raw[100] ^= 0xFF  # inside the stored data of x.bin
    archive.write_bytes(bytes(raw))
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        safe_extract(archive, tmp_path / "out", progress=False)
    assert list((tmp_path / "out").iterdir()) == []  # neither x.bin nor x.bin.part


def test_extraction_resumes_and_skips_finished_members(tmp_path):
    members = {f"wav/id{i:05d}/v/00001.wav": os.urandom(1000 + i) for i in range(5)}
    archive = make_zip(tmp_path / "a.zip", members)
    out = tmp_path / "out"
    done = out / "wav/id00000/v/00001.wav"
    done.parent.mkdir(parents=True)
    done.write_bytes(b"k" * 1000)  # an earlier run finished this member: same size, kept as it is
    (out / "wav/id00001/v").mkdir(parents=True)
    (out / "wav/id00001/v/00001.wav.part").write_bytes(b"half")  # an interrupted member
    safe_extract(archive, out, progress=False)
    assert done.read_bytes() == b"k" * 1000
    for name, data in list(members.items())[1:]:
        assert (out / name).read_bytes() == data
    assert not list(out.rglob("*.part"))


def split(data: bytes, folder: Path, size: int) -> list[Path]:
    """``split -b size``: parts named partaa, partab, ..."""
    folder.mkdir()
    paths = []
    for i, start in enumerate(range(0, len(data), size)):
        paths.append(folder / f"parta{chr(97 + i)}")
        paths[-1].write_bytes(data[start : start + size])
    return paths


def test_split_parts_read_as_one_zip(tmp_path):
    members = {f"dev/aac/id{i:05d}/v/00001.m4a": os.urandom(3000) for i in range(20)}
    whole = make_zip(tmp_path / "whole.zip", members).read_bytes()
    parts = split(whole, tmp_path / "parts", 7001)  # boundaries fall inside members and the directory
    with open_parts(parts) as f:
        assert f.read() == whole
        f.seek(6990)
        assert f.read(30) == whole[6990:7020]
        safe_extract(f, tmp_path / "out", progress=False)
    for name, data in members.items():
        assert (tmp_path / "out" / name).read_bytes() == data


def test_remote_parts_over_http_range(tmp_path):
    members = {f"dev/aac/id{i:05d}/v/00001.m4a": os.urandom(3000) for i in range(20)}
    whole = make_zip(tmp_path / "whole.zip", members).read_bytes()
    with FileServer() as server:
        urls = [server.add(f"/{p.name}", p.read_bytes()) for p in split(whole, tmp_path / "parts", 7001)]
        remote = RemoteParts(urls, readahead=1024)
        assert remote.size == len(whole)
        with zipfile.ZipFile(io.BufferedReader(remote)) as zf:
            assert zf.read("dev/aac/id00007/v/00001.m4a") == members["dev/aac/id00007/v/00001.m4a"]
        assert remote.bytes_fetched < len(whole) / 2
        server.files["/partab"].ignore_range = True
        with pytest.raises(ValueError, match="does not serve byte ranges"):
            remote.read_at(7001, 7100)


def test_split_tar_gz_extracts_from_one_virtual_file(tmp_path):
    data = {f"wav/id{i:05d}/v/00001.wav": os.urandom(20_000) for i in range(6)}
    archive = make_tar(tmp_path / "a.tar.gz", [tar_info(name) for name in data], data, mode="w:gz")
    with open_parts(split(archive.read_bytes(), tmp_path / "parts", 30_001)) as f:
        safe_extract(f, tmp_path / "out", kind="tar", progress=False)
    for name, payload in data.items():
        assert (tmp_path / "out" / name).read_bytes() == payload
