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
from labkit.data.archives import MultiPartFile, UnsafeArchive, human_size, open_parts, safe_extract
from labkit.data.http import PermanentError, RemoteParts


def make_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def zip_symlink(path: Path, name: str, target: str) -> Path:
    return zip_modes(path, [(name, target.encode(), stat.S_IFLNK | 0o777)])


def zip_modes(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """A zip whose members carry Unix modes (symlinks store their target as data, as Info-ZIP does)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
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


CHAIN = [("sub/link", ".."), ("sub/link/up", "..")]  # each link stays inside on paper; chained they reach the parent


def test_tar_chained_symlinks_cannot_write_outside(tmp_path):
    members = [tar_info(name, tarfile.SYMTYPE, link) for name, link in CHAIN] + [tar_info("sub/link/up/escaped.txt")]
    archive = make_tar(tmp_path / "chain.tar", members, {"sub/link/up/escaped.txt": b"out"})
    with pytest.raises(UnsafeArchive, match="through the archive's own symlink sub/link"):
        safe_extract(archive, tmp_path / "out", kind="tar", progress=False)
    assert not (tmp_path / "escaped.txt").exists() and list((tmp_path / "out").iterdir()) == []


def test_zip_chained_symlinks_cannot_write_outside(tmp_path):
    link = stat.S_IFLNK | 0o777
    members = [(name, target.encode(), link) for name, target in CHAIN] + [("sub/link/up/escaped.txt", b"out", stat.S_IFREG | 0o644)]
    with pytest.raises(UnsafeArchive, match="through the archive's own symlink sub/link"):
        safe_extract(zip_modes(tmp_path / "chain.zip", members), tmp_path / "out", progress=False)
    assert not (tmp_path / "escaped.txt").exists() and list((tmp_path / "out").iterdir()) == []


def test_hard_link_through_the_archives_symlinks_cannot_copy_a_file_in(tmp_path):
    (tmp_path / "secret.txt").write_text("private")
    members = [tar_info(name, tarfile.SYMTYPE, link) for name, link in CHAIN]
    members.append(tar_info("stolen.txt", tarfile.LNKTYPE, "sub/link/up/secret.txt"))
    with pytest.raises(UnsafeArchive, match="through the archive's own symlink"):
        safe_extract(make_tar(tmp_path / "h.tar", members), tmp_path / "out", kind="tar", progress=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_symlink_to_a_symlink_is_refused_but_links_are_made_last(tmp_path):
    with pytest.raises(UnsafeArchive, match="through the archive's own symlink b"):
        safe_extract(make_tar(tmp_path / "ab.tar", [tar_info("a", tarfile.SYMTYPE, "b"), tar_info("b", tarfile.SYMTYPE, ".")]),
                     tmp_path / "out", kind="tar", progress=False)
    # a link listed before its file: the file is still written as a file, then the link is made
    members = [tar_info("alias", tarfile.SYMTYPE, "d/data.txt"), tar_info("d/data.txt")]
    safe_extract(make_tar(tmp_path / "ok.tar", members, {"d/data.txt": b"x"}), tmp_path / "ok", kind="tar", progress=False)
    assert (tmp_path / "ok" / "alias").is_symlink() and (tmp_path / "ok" / "alias").read_bytes() == b"x"


def test_symlink_made_on_disk_since_planning_is_caught_at_write_time(tmp_path, monkeypatch):
    import labkit.data.archives as archives

    out = tmp_path / "out"
    archive = make_zip(tmp_path / "a.zip", {"d/x.txt": b"x"})
    plan = archives._zip_plan  # between the check and the write, someone turns out/d into a link to the parent

    def plan_then_swap(*args):
        members = plan(*args)
        (out / "d").symlink_to(tmp_path)
        return members

    monkeypatch.setattr(archives, "_zip_plan", plan_then_swap)
    with pytest.raises(UnsafeArchive, match="now resolves outside"):
        safe_extract(archive, out, progress=False)
    assert not (tmp_path / "x.txt").exists()


def test_huge_zip_symlink_is_refused_before_reading_it(tmp_path):
    archive = zip_modes(tmp_path / "l.zip", [("link", b"a/" * 2049, stat.S_IFLNK | 0o777)])  # 4098 bytes
    with pytest.raises(UnsafeArchive, match="symlink of 4098 bytes is not a path"):
        safe_extract(archive, tmp_path / "out", progress=False)


@pytest.mark.parametrize("mode", [stat.S_IFCHR | 0o644, stat.S_IFBLK | 0o644, stat.S_IFIFO | 0o644])
def test_zip_device_entry_is_refused(tmp_path, mode):
    archive = zip_modes(tmp_path / "d.zip", [("ok.txt", b"fine", stat.S_IFREG | 0o644), ("dev", b"", mode)])
    with pytest.raises(UnsafeArchive, match="device or special file"):
        safe_extract(archive, tmp_path / "out", progress=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_human_size():
    assert [human_size(n) for n in (0, 999, 1000, 307_200, 999_999, 1_070_000_000, 77_000_000_000_000)] == \
        ["0 B", "999 B", "1 kB", "307 kB", "1 MB", "1.07 GB", "77 TB"]


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
    (out / "wav/id00001/v/00001.wav").write_bytes(b"half")  # wrong size (e.g. copied in by hand): rewritten
    safe_extract(archive, out, progress=False)
    assert done.read_bytes() == b"k" * 1000
    for name, data in list(members.items())[1:]:
        assert (out / name).read_bytes() == data
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["00001.wav"] * 5  # no temporary files left


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
    with MultiPartFile(parts) as raw:
        assert raw.read_at(len(whole) - 10, len(whole) + 100) == whole[-10:]  # clamped at the end, no endless loop
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
        with pytest.raises(PermanentError, match="does not serve byte ranges"):
            remote.read_at(7001, 7100)


def test_remote_parts_retry_like_downloads(tmp_path):
    whole = os.urandom(10_000)
    with FileServer() as server:
        url = server.add("/whole", whole, errors=[429, 503])  # rate limit, then a server hiccup: both worth a retry
        remote = RemoteParts([url], sizes=[len(whole)], retries=2, backoff=0.01, rate_limit_wait=0.01)
        assert remote.read_at(100, 200) == whole[100:200] and remote.requests == 1
        server.files["/whole"].errors = [429, 429, 429]
        with pytest.raises(OSError, match="not received after 3 tries"):
            remote.read_at(0, 10)
        server.files["/whole"].errors = [403]
        with pytest.raises(PermanentError, match="HTTP 403"):  # not worth a retry
            remote.read_at(0, 10)


def test_split_tar_gz_extracts_from_one_virtual_file(tmp_path):
    data = {f"wav/id{i:05d}/v/00001.wav": os.urandom(20_000) for i in range(6)}
    archive = make_tar(tmp_path / "a.tar.gz", [tar_info(name) for name in data], data, mode="w:gz")
    with open_parts(split(archive.read_bytes(), tmp_path / "parts", 30_001)) as f:
        safe_extract(f, tmp_path / "out", kind="tar", progress=False)
    for name, payload in data.items():
        assert (tmp_path / "out" / name).read_bytes() == payload


def test_many_small_members_that_add_up_to_a_bomb_are_refused(tmp_path):
    members = {f"z/{i:03d}.bin": bytes(1 << 20) for i in range(400)}  # 400 x 1 MiB of zeros: ~0.45 MB zipped
    archive = make_zip(tmp_path / "bomb.zip", members)
    assert archive.stat().st_size < 500_000
    with pytest.raises(UnsafeArchive, match=r"zip inflates \d+x \(419430400 bytes from \d+\) > 200 \(zip bomb\?\)"):
        safe_extract(archive, tmp_path / "out", progress=False)
    assert not any((tmp_path / "out").iterdir())


def test_a_name_longer_than_file_systems_allow_is_refused_clearly(tmp_path):
    archive = make_zip(tmp_path / "long.zip", {"ok.txt": b"x", "d/" + "n" * 300 + ".txt": b"y"})
    with pytest.raises(UnsafeArchive, match="a name of 304 bytes; file systems allow 255"):
        safe_extract(archive, tmp_path / "out", progress=False)
    assert not any((tmp_path / "out").iterdir())


def test_a_file_and_a_folder_of_the_same_name_are_refused_clearly(tmp_path):
    archive = make_zip(tmp_path / "clash.zip", {"a/b": b"file", "a/b/c.txt": b"inside a folder b"})
    with pytest.raises(UnsafeArchive, match="member 'a/b': a file, but other members need a folder a/b/ of the same name"):
        safe_extract(archive, tmp_path / "out", progress=False)
    assert not any((tmp_path / "out").iterdir())
