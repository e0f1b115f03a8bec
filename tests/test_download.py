"""Downloads against a real HTTP server on 127.0.0.1: resume, ignored Range, corruption, 404,
timeouts, a Drive quota page, idempotence, the Drive cache and the disk-space check."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import textwrap
import zipfile
from collections import namedtuple
from pathlib import Path

import pytest

from httpserver import FileServer
from labkit.data.archives import NotEnoughSpace
from labkit.data.download import (
    DownloadError,
    FetchOptions,
    QuotaError,
    fetch,
    is_verified,
    marker_path,
    persist_to_drive,
    quota_message,
    refuse_drive_mount,
)
from labkit.data.registry import AssetFile, load_registry, redact

DATA = bytes(range(256)) * 1200  # 307,200 bytes
EXPECTED = AssetFile("blob.bin", len(DATA), hashlib.md5(DATA).hexdigest(), hashlib.sha256(DATA).hexdigest())
FAST = dict(timeout=2.0, retries=2, backoff=0.01, rate_limit_wait=0.01, progress=False, sources=("http", "kaist", "hf"))
QUOTA_PAGE = b"""<html><head><title>Google Drive - Quota exceeded</title></head><body>
<p class="uc-error-caption">Sorry, you can't view or download this file at this time.</p>
<p class="uc-error-subcaption">Too many users have viewed or downloaded this file recently. Please try accessing
the file again later.</p></body></html>"""


@pytest.fixture
def server():
    with FileServer() as s:
        yield s


def registry_for(tmp_path: Path, urls: list[str], files: dict[str, bytes] | None = None, unpack: str = "none"):
    """A one-asset registry of ``files`` (default: blob.bin = DATA) whose sources are the given URL templates."""
    files = files or {"blob.bin": DATA}
    entry = {
        "test_asset": {
            "files": [{"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                       "md5": hashlib.md5(data).hexdigest()} for name, data in files.items()],
            "sources": [{"http": u} for u in urls],
            "unpack": {"format": unpack, "to": "."},
        }
    }
    path = tmp_path / "assets.yaml"
    path.write_text(json.dumps(entry))  # JSON is YAML
    return load_registry(path)


def test_dropped_transfer_resumes_with_range_and_if_range(server, tmp_path):
    url = server.add("/blob.bin", DATA, drop_after=100_000)
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    final = tmp_path / "d" / "blob.bin"
    assert final.read_bytes() == DATA and is_verified(final, EXPECTED)
    first, second = server.gets("/blob.bin")
    assert "Range" not in first
    assert second["Range"] == "bytes=100000-" and second["If-Range"] == '"v1"'
    assert server.sent["/blob.bin"] == len(DATA)  # nothing sent twice
    assert not list((tmp_path / "d").glob("*.part*"))


def test_server_ignoring_range_restarts_the_file(server, tmp_path):
    url = server.add("/blob.bin", DATA, drop_after=100_000, ignore_range=True)
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert (tmp_path / "d" / "blob.bin").read_bytes() == DATA
    assert server.sent["/blob.bin"] == 100_000 + len(DATA)  # the 200 answer was taken from byte 0


def test_changed_file_on_server_restarts_via_if_range(server, tmp_path):
    url = server.add("/blob.bin", DATA, drop_after=100_000, etag='"old"')
    with pytest.raises(DownloadError):
        fetch("test_asset", tmp_path / "d", FetchOptions(**{**FAST, "retries": 0}), registry=registry_for(tmp_path, [url]))
    assert (tmp_path / "d" / "blob.bin.part").stat().st_size == 100_000
    server.files["/blob.bin"].etag = '"new"'  # the server copy changed: If-Range must not splice the two
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert (tmp_path / "d" / "blob.bin").read_bytes() == DATA
    assert server.gets("/blob.bin")[-1]["If-Range"] == '"old"'


@pytest.mark.parametrize("wrong", ["bytes 100001-307199/307200",  # not where we asked
                                   "bytes 100000-200000/307200",  # stops short of the end
                                   "bytes 100000-399999/400000"])  # another file: the registry says 307,200 bytes
def test_206_with_a_wrong_content_range_restarts_the_file(server, tmp_path, wrong):
    url = server.add("/blob.bin", DATA, drop_after=100_000, wrong_range=wrong)
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert (tmp_path / "d" / "blob.bin").read_bytes() == DATA
    assert [h.get("Range") for h in server.gets("/blob.bin")] == [None, "bytes=100000-", None]


def test_416_for_a_part_longer_than_the_file_restarts_it(server, tmp_path):
    url = server.add("/blob.bin", DATA, drop_after=100_000)
    registry = registry_for(tmp_path, [url])
    with pytest.raises(DownloadError, match=r"partial file blob.bin.part \(100000 bytes\) is kept"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**{**FAST, "retries": 0}), registry=registry)
    with open(tmp_path / "d" / "blob.bin.part", "ab") as part:
        part.write(bytes(300_000))  # now 400,000 bytes: longer than the file
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry)
    assert (tmp_path / "d" / "blob.bin").read_bytes() == DATA
    assert [h.get("Range") for h in server.gets("/blob.bin")] == [None, "bytes=400000-", None]


def test_torn_validator_restarts_instead_of_failing(server, tmp_path):
    url = server.add("/blob.bin", DATA, drop_after=100_000)
    registry = registry_for(tmp_path, [url])
    with pytest.raises(DownloadError):
        fetch("test_asset", tmp_path / "d", FetchOptions(**{**FAST, "retries": 0}), registry=registry)
    (tmp_path / "d" / "blob.bin.part.json").write_text('{"url": "http')  # a crash while it was written
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry)
    assert (tmp_path / "d" / "blob.bin").read_bytes() == DATA
    assert "Range" not in server.gets("/blob.bin")[-1]


def test_a_part_from_one_source_is_not_continued_from_another(server, tmp_path):
    first = server.add("/a/blob.bin", DATA, drop_after=100_000, drops=10)  # always drops
    second = server.add("/b/blob.bin", DATA)
    fetch("test_asset", tmp_path / "d", FetchOptions(**{**FAST, "retries": 0}), registry=registry_for(tmp_path, [first, second]))
    assert (tmp_path / "d" / "blob.bin").read_bytes() == DATA
    assert [h.get("Range") for h in server.gets("/b/blob.bin")] == [None]  # started over: no splice of two sources


def test_corrupt_source_is_deleted_and_the_next_source_used(server, tmp_path):
    bad = server.add("/bad/blob.bin", DATA, corrupt=True)
    good = server.add("/good/blob.bin", DATA)
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [bad, good]))
    final = tmp_path / "d" / "blob.bin"
    assert final.read_bytes() == DATA
    assert json.loads(marker_path(final).read_text())["source"] == good


def test_no_unverified_final_file_when_every_source_is_corrupt(server, tmp_path):
    urls = [server.add("/a/blob.bin", DATA, corrupt=True), server.add("/b/blob.bin", DATA, corrupt=True)]
    with pytest.raises(DownloadError, match="does not match the registry") as error:
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, urls))
    assert "/a/blob.bin" in str(error.value) and "/b/blob.bin" in str(error.value)
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["blob.bin.mismatch", "blob.bin.mismatch.json"]


def test_rate_limit_and_server_errors_are_retried(server, tmp_path):
    url = server.add("/blob.bin", DATA, errors=[429, 503])
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert (tmp_path / "d" / "blob.bin").read_bytes() == DATA and len(server.gets("/blob.bin")) == 3


def test_html_429_that_is_not_a_quota_page_is_retried(server, tmp_path):
    url = server.add("/blob.bin", b"<html><body>Slow down</body></html>", status=429, content_type="text/html")
    with pytest.raises(DownloadError, match=r"gave up after 3 tries \(HTTPError: Too Many Requests\)"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert len(server.gets("/blob.bin")) == 3


def test_404_gives_a_clear_error(server, tmp_path):
    url = server.url("/missing.bin")
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert len(server.gets("/missing.bin")) == 1  # a 404 is not retried


def test_timeout_gives_up_after_bounded_retries(server, tmp_path):
    url = server.add("/slow.bin", DATA, delay=1.0)
    options = FetchOptions(**{**FAST, "timeout": 0.2, "retries": 1})
    with pytest.raises(DownloadError, match=r"gave up after 2 tries.*timed out"):
        fetch("test_asset", tmp_path / "d", options, registry=registry_for(tmp_path, [url]))
    assert len(server.gets("/slow.bin")) == 2
    assert not (tmp_path / "d" / "blob.bin").exists()


@pytest.mark.parametrize("status", [200, 403])
def test_drive_quota_page_maps_to_the_quota_message(server, tmp_path, status):
    url = server.add("/uc", QUOTA_PAGE, content_type="text/html; charset=utf-8", status=status)
    with pytest.raises(QuotaError) as error:
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    text = str(error.value)
    for alternative in ("wait", "your own Drive", "--source hf", "KAIST key", "LABKIT_KAIST_KEY"):
        assert alternative in text
    assert "Too many users have viewed or downloaded this file recently" in text
    assert not (tmp_path / "d" / "blob.bin").exists()


def test_gdown_wrapped_refusal_text_is_unwrapped():
    # gdown wraps the Drive sub-caption into lines (textwrap.wrap) inside FileURLRetrievalError
    caption = "Too many users have viewed or downloaded this file recently. Please try accessing the file again later."
    wrapped = "Failed to retrieve file url:\n\n" + textwrap.indent("\n".join(textwrap.wrap(caption, 40)), "\t")
    message = quota_message("vox1_test_wav.zip", wrapped)
    assert caption in message and "vox1_test_wav.zip" in message


def test_second_fetch_is_a_no_op(server, tmp_path):
    url = server.add("/blob.bin", DATA)
    registry = registry_for(tmp_path, [url])
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry)
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry)
    assert len(server.gets("/blob.bin")) == 1


def test_existing_file_without_marker_is_verified_not_downloaded(server, tmp_path):
    url = server.add("/blob.bin", DATA)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "blob.bin").write_bytes(DATA)
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert server.gets("/blob.bin") == [] and marker_path(tmp_path / "d" / "blob.bin").exists()


def test_kaist_source_needs_a_key_and_never_shows_it(server, tmp_path, monkeypatch):
    monkeypatch.delenv("LABKIT_KAIST_KEY", raising=False)
    template = server.url("/dl?key={key}&file={file}")
    registry = registry_for(tmp_path, [template])
    with pytest.raises(DownloadError, match="needs your KAIST key"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry)
    with pytest.raises(DownloadError) as error:  # /dl is not served: 404, and the key is masked
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST, key="s3cret"), registry=registry)
    assert "s3cret" not in str(error.value) and "<key>" in str(error.value)
    assert server.log[-1][1] == "/dl?key=s3cret&file=blob.bin"


KEY = "s3/cr&t"  # quoted in the URL as s3/cr%26t


def test_the_kaist_key_never_reaches_markers_messages_or_the_drive_copy(server, tmp_path):
    server.add("/dl", DATA, drop_after=100_000, drops=10)
    registry = registry_for(tmp_path, [server.url("/dl?key={key}&file={file}")])
    options = FetchOptions(**{**FAST, "retries": 1, "key": KEY})
    with pytest.raises(DownloadError) as error:  # every try drops: the give-up message names the URL
        fetch("test_asset", tmp_path / "d", options, registry=registry)
    assert "key=<key>&file=blob.bin" in str(error.value) and "s3" not in str(error.value)
    assert "s3" not in (tmp_path / "d" / "blob.bin.part.json").read_text()
    server.files["/dl"].drops = 0
    fetch("test_asset", tmp_path / "d", options, registry=registry)
    assert server.log[-1][1] == "/dl?key=s3/cr%26t&file=blob.bin"  # the server did get the key
    marker = marker_path(tmp_path / "d" / "blob.bin")
    assert json.loads(marker.read_text())["source"] == server.url("/dl?key=<key>&file=blob.bin")
    marker.write_text(marker.read_text().replace("<key>", "s3/cr%26t"))  # a marker written by an older labkit
    drive = tmp_path / "drive"
    persist_to_drive("test_asset", tmp_path / "d", drive, registry=registry)
    assert "s3" not in marker_path(drive / "blob.bin").read_text() and (drive / "blob.bin").read_bytes() == DATA


def test_redact():
    url = "https://cn01.mmai.io/download/voxceleb?key=s3/cr%26t&file=vox1_test_wav.zip"
    assert redact(f"{url}: HTTP 404") == "https://cn01.mmai.io/download/voxceleb?key=<key>&file=vox1_test_wav.zip: HTTP 404"
    assert redact("bad key s3/cr&t, quoted s3/cr%26t", KEY) == "bad key <key>, quoted <key>"


def test_low_disk_refuses_with_the_space_needed(server, tmp_path, monkeypatch):
    url = server.add("/blob.bin", DATA)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(NotEnoughSpace, match=r"needs 307 kB \(\+5%\), 1 kB free"):  # 307,200 bytes; 1,000 free
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert server.gets("/blob.bin") == []


def test_drive_copy_is_restored_before_any_download(server, tmp_path):
    url = server.add("/blob.bin", DATA)
    registry = registry_for(tmp_path, [url])
    drive = tmp_path / "drive" / "MyDrive" / "labkit_cache"  # stands in for the Colab mount
    options = FetchOptions(**{**FAST, "sources": ("drive-mount", "http"), "drive_cache": str(drive)})
    fetch("test_asset", tmp_path / "session1", options, registry=registry)
    persist_to_drive("test_asset", tmp_path / "session1", drive, registry=registry)
    assert (drive / "blob.bin").read_bytes() == DATA and not list(drive.glob("*.part"))
    fetch("test_asset", tmp_path / "session2", options, registry=registry)  # a new session: local disk is empty
    assert (tmp_path / "session2" / "blob.bin").read_bytes() == DATA
    assert len(server.gets("/blob.bin")) == 1
    assert json.loads(marker_path(tmp_path / "session2" / "blob.bin").read_text())["source"].startswith("copy of")


def test_data_is_never_extracted_onto_the_drive_mount():
    with pytest.raises(ValueError, match="local disk"):
        refuse_drive_mount("/content/drive/MyDrive/voxceleb")
    refuse_drive_mount("/content/data/voxceleb")


def split_zip_asset(server, tmp_path):
    """A zip served as two raw split parts (like vox2_dev_aac_parta{a,b}) and its registry."""
    members = {f"wav/id1000{i}/v/00001.wav": bytes([i]) * 50_000 + DATA[: 1000 * i] for i in range(4)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    whole = buf.getvalue()
    parts = {"archive_partaa": whole[: len(whole) // 2], "archive_partab": whole[len(whole) // 2 :]}
    for name, data in parts.items():
        server.add(f"/{name}", data)
    return members, registry_for(tmp_path, [server.url("/{file}")], parts, unpack="zip")


def test_split_archive_downloads_and_unpacks_as_one_zip(server, tmp_path):
    members, registry = split_zip_asset(server, tmp_path)
    target = fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry)
    for name, data in members.items():
        assert (target / name).read_bytes() == data


def test_low_disk_refuses_extraction_with_the_space_needed(server, tmp_path, monkeypatch):
    members, registry = split_zip_asset(server, tmp_path)
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), extract=False, registry=registry)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 100_000, 100_000))
    assert sum(len(d) for d in members.values()) == 206_000
    with pytest.raises(NotEnoughSpace, match=r"extracting 4 members.*needs 206 kB \(\+5%\), 100 kB free"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry)
    assert not (tmp_path / "d" / "wav").exists()


def test_cli_download_reports_one_clear_line(tmp_path, capsys):
    from labkit.cli import main

    assert main(["download", "voxceleb1_o_cleaned", "--dest", str(tmp_path), "--source", "drive"]) == 1
    assert "Google Drive: no course id for veri_test2.txt yet (skipped)" in capsys.readouterr().err


def test_text_served_as_html_is_still_a_file(server, tmp_path):
    url = server.add("/blob.bin", DATA, content_type="text/html")  # some servers label every file text/html
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert (tmp_path / "d" / "blob.bin").read_bytes() == DATA


# Google Drive cannot be reached here: these stand-ins for gdown.download have gdown's real
# signatures (6.x has retries/timeout, 5.x does not) and raise gdown's real exception class.

def test_gdown_refusal_becomes_the_quota_message(tmp_path, monkeypatch):
    import gdown
    from gdown.exceptions import FileURLRetrievalError

    from labkit.data.download import drive_download

    caption = "Too many users have viewed or downloaded this file recently. Please try accessing the file again later."

    def refuse(**kwargs):
        raise FileURLRetrievalError("Failed to retrieve file url:\n\n\t" + "\n\t".join(textwrap.wrap(caption, 40)))

    monkeypatch.setattr(gdown, "download", refuse)
    with pytest.raises(QuotaError, match="Too many users have viewed or downloaded this file recently. Please"):
        drive_download("1AbC", tmp_path / "blob.bin", EXPECTED)
    assert not (tmp_path / "blob.bin").exists()


@pytest.mark.parametrize("payload", [DATA, DATA[:-1] + b"x"])
def test_gdown_5_signature_and_verification(tmp_path, monkeypatch, payload):
    import gdown

    from labkit.data.download import drive_download

    calls = []

    def gdown5(url=None, output=None, quiet=False, proxy=None, speed=None, use_cookies=True, verify=True,
               id=None, fuzzy=False, resume=False, format=None):  # gdown 5.2 has no retries/timeout
        calls.append({"id": id, "resume": resume})
        Path(output).write_bytes(payload)
        return output

    monkeypatch.setattr(gdown, "download", gdown5)
    if payload == DATA:
        assert drive_download("1AbC", tmp_path / "blob.bin", EXPECTED).read_bytes() == DATA
    else:
        with pytest.raises(DownloadError, match="does not match the registry"):
            drive_download("1AbC", tmp_path / "blob.bin", EXPECTED)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin.mismatch", "blob.bin.mismatch.json"]  # set aside
    assert calls == [{"id": "1AbC", "resume": True}]


# ---------------------------------------------------------------- failures that cost nothing twice (issues 12 and 15)


def test_a_mismatching_file_is_set_aside_and_its_source_not_asked_again(server, tmp_path):
    bad = server.add("/bad/blob.bin", DATA, corrupt=True)
    registry = registry_for(tmp_path, [bad])
    wrong = bytearray(DATA)
    wrong[len(DATA) // 2] ^= 0xFF
    with pytest.raises(DownloadError, match=f"set aside as blob.bin.mismatch \\(sha256 {hashlib.sha256(wrong).hexdigest()}\\)"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry)
    assert (tmp_path / "d" / "blob.bin.mismatch").read_bytes() == wrong and not (tmp_path / "d" / "blob.bin").exists()
    with pytest.raises(DownloadError, match="did not match on an earlier run"):  # the rerun asks nobody
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry)
    assert len(server.gets("/bad/blob.bin")) == 1
    good = server.add("/good/blob.bin", DATA)  # a second source is still tried
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [bad, good]))
    assert (tmp_path / "d" / "blob.bin").read_bytes() == DATA and len(server.gets("/bad/blob.bin")) == 1


def test_a_size_other_than_the_registrys_is_not_downloaded(server, tmp_path):
    url = server.add("/blob.bin", DATA + b"extra")
    with pytest.raises(DownloadError, match=f"announces {len(DATA) + 5} bytes for blob.bin, expected {len(DATA)}: not downloaded"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == []  # nothing streamed to disk


def test_a_server_that_keeps_sending_is_cut_at_the_stated_size(server, tmp_path):
    url = server.add("/blob.bin", DATA * 10, no_length=True)  # no Content-Length: only the cap stops it
    with pytest.raises(DownloadError, match=f"more than the {len(DATA)} bytes expected; stopped and deleted"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == []


def test_a_file_of_unknown_size_is_capped_too(server, tmp_path):
    from labkit.data.download import http_download

    url = server.add("/blob.bin", DATA, no_length=True)
    with pytest.raises(DownloadError, match="more than the 100000 bytes expected"):
        http_download(url, tmp_path / "blob.bin", AssetFile("blob.bin"), retries=0, progress=False, limit=100_000)
    assert list(tmp_path.iterdir()) == []


def test_dns_failure_fails_at_once_with_the_host(tmp_path):
    registry = registry_for(tmp_path, ["http://no-such-host.invalid/{file}"])
    patient = FetchOptions(**{**FAST, "retries": 5, "backoff": 3600.0})  # a retry would wait an hour
    with pytest.raises(DownloadError, match=r"cannot resolve no-such-host.invalid \(DNS\): check the internet connection"):
        fetch("test_asset", tmp_path / "d", patient, registry=registry)


def test_refused_connection_fails_at_once_with_the_host(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = registry_for(tmp_path, [f"http://127.0.0.1:{port}/{{file}}"])
    patient = FetchOptions(**{**FAST, "retries": 5, "backoff": 3600.0})
    with pytest.raises(DownloadError, match=f"127.0.0.1:{port} refused the connection"):
        fetch("test_asset", tmp_path / "d", patient, registry=registry)


def test_404_names_the_host_and_what_to_do(server, tmp_path):
    registry = registry_for(tmp_path, [server.url("/gone/{file}")])
    with pytest.raises(DownloadError, match="127.0.0.1:.*HTTP 404, no file at .*/gone/blob.bin; the registry's path or revision"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**{**FAST, "backoff": 3600.0}), registry=registry)
    assert len(server.gets("/gone/blob.bin")) == 1


def test_429_waits_as_long_as_retry_after_says(server, tmp_path):
    url = server.add("/blob.bin", DATA, errors=[429], retry_after="1")
    fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))  # rate_limit_wait 0.01
    first, second = server.times
    assert second - first >= 1.0 and (tmp_path / "d" / "blob.bin").read_bytes() == DATA


def test_no_partial_file_is_claimed_when_there_is_none(server, tmp_path):
    url = server.add("/blob.bin", DATA, errors=[503, 503, 503])
    with pytest.raises(DownloadError, match="gave up after 3 tries .*; nothing was kept"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=registry_for(tmp_path, [url]))


def test_disk_check_counts_the_approximate_size_when_some_sizes_are_missing(server, tmp_path):
    entry = {"test_asset": {"files": [{"name": "a.bin", "size": 100}, {"name": "b.bin", "size": None}],
                            "sources": [{"http": server.url("/{file}")}], "approx_bytes": 10**18}}  # an exabyte
    (tmp_path / "assets.yaml").write_text(json.dumps(entry))
    with pytest.raises(NotEnoughSpace, match="needs 1e\\+03 PB|needs 1000000 TB|needs"):
        fetch("test_asset", tmp_path / "d", FetchOptions(**FAST), registry=load_registry(tmp_path / "assets.yaml"))
    assert server.log == []
