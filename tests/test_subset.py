"""``labkit subset``: published lists, seeded choices, and extraction of chosen members from a
multi-part zip of real AAC (m4a) files, locally and over HTTP Range with bytes counted."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from httpserver import FileServer
from mirror import encode_m4a
from labkit.data.subset import choose_subset, coalesce, extract_subset, member_key, read_subset_list

RATE = 16000
SPEAKERS, VIDEOS, UTTS = 6, 2, 5  # 60 utterances


def m4a(freq: float, seconds: float = 1.0) -> bytes:
    """A real AAC-in-mp4 file holding a sine tone, encoded with PyAV."""
    return encode_m4a(0.3 * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE), RATE)


@pytest.fixture(scope="module")
def vox2_like(tmp_path_factory) -> tuple[dict[str, float], bytes]:
    """A VoxCeleb2-style zip (dev/aac/idXXXXX/<video>/<nnnnn>.m4a) and each utterance's tone."""
    tones, buf = {}, io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("dev/aac/", b"")
        for s in range(SPEAKERS):
            for v in range(VIDEOS):
                for u in range(UTTS):
                    key = f"id{s:05d}/vid{v}_abcdef/{u + 1:05d}"
                    tones[key] = 200.0 + 25 * len(tones)
                    zf.writestr(f"dev/aac/{key}.m4a", m4a(tones[key]))
    return tones, buf.getvalue()


def split(data: bytes, n: int) -> list[bytes]:
    size = len(data) // n + 1
    return [data[i : i + size] for i in range(0, len(data), size)]


def dominant_hz(path: Path) -> float:
    x, rate = sf.read(path, dtype="float32")
    return np.argmax(np.abs(np.fft.rfft(x))) * rate / len(x)


def test_remote_subset_reads_under_20_percent_and_converts(vox2_like, tmp_path):
    tones, whole = vox2_like
    chosen = sorted(tones)[::10]  # 10% of the utterances, spread over the archive
    with FileServer() as server:
        urls = [server.add(f"/vox2_dev_aac_parta{chr(97 + i)}", part) for i, part in enumerate(split(whole, 3))]
        summary = extract_subset(urls, tmp_path / "vox2", chosen, progress=False, max_gap=0)  # no gap merged: exact ranges
        sent = sum(server.sent.values())
    assert sent == summary["bytes_fetched"] and sent < 0.2 * len(whole), (sent, len(whole))
    assert summary["utterances"] == len(chosen) == 6
    wavs = sorted((tmp_path / "vox2" / "wav").rglob("*.wav"))
    assert [str(p.relative_to(tmp_path / "vox2" / "wav"))[:-4] for p in wavs] == chosen
    for key in chosen:
        path = tmp_path / "vox2" / "wav" / f"{key}.wav"
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert 0.95 < info.duration < 1.2  # 1 s plus the AAC encoder delay
        assert abs(dominant_hz(path) - tones[key]) < 2
    lines = (tmp_path / "vox2" / "meta" / "train_list.txt").read_text().splitlines()
    assert lines[0] == f"id00000 {chosen[0]}.wav" and len(lines) == 6
    manifest = pd.read_csv(tmp_path / "vox2" / "meta" / "manifest.csv")
    assert list(manifest.columns) == ["utt", "speaker", "session", "path", "duration", "sample_rate", "frames", "set"]
    assert list(manifest["path"]) == [f"wav/{k}.wav" for k in chosen]
    assert np.allclose(manifest["duration"], manifest["frames"] / 16000) and summary["hours"] == manifest["duration"].sum() / 3600


def test_adjacent_members_are_fetched_in_one_request(vox2_like, tmp_path):
    tones, whole = vox2_like
    chosen = sorted(tones)[20:30]  # ten neighbours in the archive, all inside the first part
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        first, after = (zf.getinfo(f"dev/aac/{k}.m4a").header_offset for k in (chosen[0], sorted(tones)[30]))
    with FileServer() as server:
        urls = [server.add(f"/p{i}", part) for i, part in enumerate(split(whole, 2))]
        extract_subset(urls, tmp_path / "out", chosen, progress=False)
        assert [h["Range"] for _, path, h in server.log if path == "/p0" and "Range" in h] == [f"bytes={first}-{after - 1}"]


def test_local_parts_give_the_same_files_and_resume(vox2_like, tmp_path):
    tones, whole = vox2_like
    paths = []
    for i, part in enumerate(split(whole, 4)):
        paths.append(tmp_path / f"vox2_dev_aac_parta{chr(97 + i)}")
        paths[-1].write_bytes(part)
    chosen = sorted(tones)[5:15]
    out = tmp_path / "out"
    extract_subset(paths, out, chosen[:4], progress=False)
    first = {p: p.stat().st_mtime_ns for p in (out / "wav").rglob("*.wav")}
    summary = extract_subset(paths, out, chosen, progress=False)  # a larger run reuses the finished files
    assert summary["utterances"] == 10 and summary["speakers"] == 2
    assert all(p.stat().st_mtime_ns == t for p, t in first.items())
    assert all(abs(dominant_hz(out / "wav" / f"{k}.wav") - tones[k]) < 2 for k in chosen)


def test_corrupted_member_fails_its_crc_and_leaves_no_wav(vox2_like, tmp_path):
    tones, whole = vox2_like
    key = sorted(tones)[7]
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        info = zf.getinfo(f"dev/aac/{key}.m4a")
        data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    broken = bytearray(whole)
    broken[data_start + info.compress_size // 2] ^= 0xFF
    with FileServer() as server:
        url = server.add("/whole.zip", bytes(broken))
        with pytest.raises(zipfile.BadZipFile, match="CRC"):
            extract_subset([url], tmp_path / "out", [key], progress=False)
    assert not (tmp_path / "out" / "wav" / f"{key}.wav").exists()


def test_subset_output_passes_labkit_verify(vox2_like, tmp_path, capsys):
    from labkit.cli import main

    tones, whole = vox2_like
    (tmp_path / "a.zip").write_bytes(whole)
    out = tmp_path / "out"
    extract_subset([tmp_path / "a.zip"], out, sorted(tones)[:3], progress=False)
    manifest = (out / "MANIFEST.tsv").read_text().splitlines()
    assert manifest[0] == "path\tsize\tsha256" and len(manifest) == 1 + 3 + 3  # 3 wav, manifest.csv, train and val lists
    assert main(["verify", str(out)]) == 0
    wav = out / "wav" / f"{sorted(tones)[1]}.wav"
    wav.write_bytes(wav.read_bytes()[:-2] + b"\x00\x01")
    assert main(["verify", str(out)]) == 1
    assert f"wav/{sorted(tones)[1]}.wav: sha256 differs" in capsys.readouterr().out


def test_subset_without_a_selection_is_refused_before_any_network(tmp_path, capsys):
    from labkit.cli import main

    assert main(["subset", "--dest", str(tmp_path / "out")]) == 1
    assert "choose the utterances: --list, --list-file, --hours and/or --speakers" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_kaist_key_is_not_in_remote_part_errors(vox2_like, tmp_path):
    _, whole = vox2_like
    with FileServer() as server:
        server.add("/dl", whole, ignore_range=True)
        url = server.url("/dl?key=s3/cr%26t&file=vox2_dev_aac_partaa")
        with pytest.raises(ValueError, match=r"key=<key>&file=vox2_dev_aac_partaa does not serve byte ranges") as error:
            extract_subset([url], tmp_path / "out", ["id00000/vid0_abcdef/00001"], progress=False)
        assert "s3" not in str(error.value)
        missing = server.url("/none?key=s3/cr%26t&file=vox2_dev_aac_partaa")
        with pytest.raises(ValueError, match="HTTP 404") as error:  # the size comes from a HEAD request
            extract_subset([missing], tmp_path / "out", ["id00000/vid0_abcdef/00001"], progress=False)
        assert "s3" not in str(error.value) and "key=<key>" in str(error.value)


def test_unknown_utterances_are_named(vox2_like, tmp_path):
    _, whole = vox2_like
    (tmp_path / "a.zip").write_bytes(whole)
    with pytest.raises(ValueError, match=r"1 of 1 utterances are not in the archive.*id09999"):
        extract_subset([tmp_path / "a.zip"], tmp_path / "out", ["id09999/x/00001"], progress=False)


def test_seeded_choice_by_hours_and_speakers():
    seconds = {f"id{s:05d}/v/{u:05d}": 10.0 for s in range(20) for u in range(50)}
    picked = choose_subset(seconds, hours=0.5, speakers=4, seed=3)
    assert picked == choose_subset(seconds, hours=0.5, speakers=4, seed=3)
    assert picked != choose_subset(seconds, hours=0.5, speakers=4, seed=4)
    assert len({k.split("/")[0] for k in picked}) == 4 and len(picked) == 180  # 1800 s / 10 s
    assert len(choose_subset(seconds, speakers=2, seed=0)) == 100


def test_published_lists(fixtures_dir, tmp_path):
    path = fixtures_dir / "voxceleb" / "subsets" / "tiny_few_utterance_list.csv"
    keys = read_subset_list(path)
    assert len(keys) == 49_400 and len({k.split("/")[0] for k in keys}) == 100  # train rows by default
    val = read_subset_list(path, sets=("val",))
    assert len(val) == 599 and not set(val) & set(keys)
    bad = tmp_path / "bad.csv"
    bad.write_text("utterance_key;shard_dix;set_name\nid00001/abc/00001;0;train\nid00001;0\n")
    with pytest.raises(ValueError, match=f"{bad}:3: expected"):
        read_subset_list(bad)


def test_member_key_and_coalesce():
    assert member_key("dev/aac/id00012/21Uxsk56VDQ/00001.m4a") == "id00012/21Uxsk56VDQ/00001"
    assert member_key("dev/aac/id00012/") is None
    assert coalesce([(10, 20), (0, 10), (25, 30), (30, 31)]) == [(0, 20), (25, 31)]
    assert coalesce([(0, 10), (12, 20)], max_gap=2) == [(0, 20)]


def test_lab_pack_round_trip_through_the_registry(vox2_like, tmp_path):
    from labkit.data.download import FetchOptions, fetch
    from labkit.data.labpack import pack, verify_dir
    from labkit.data.registry import load_registry

    rng = np.random.default_rng(0)
    vox1 = tmp_path / "vox1"
    for spk, vid in (("id10270", "5r0dWxy17C8"), ("id10271", "1gtz-CUIygI")):
        (vox1 / "wav" / spk / vid).mkdir(parents=True)
        sf.write(vox1 / "wav" / spk / vid / "00001.wav", rng.uniform(-0.5, 0.5, RATE), RATE, subtype="PCM_16")
    trials = tmp_path / "veri_test2.txt"
    trials.write_text("0 id10270/5r0dWxy17C8/00001.wav id10271/1gtz-CUIygI/00001.wav\n")
    tones, whole = vox2_like
    (tmp_path / "vox2.zip").write_bytes(whole)
    extract_subset([tmp_path / "vox2.zip"], tmp_path / "subset", sorted(tones)[:3], progress=False)
    for junk in ("downloads/subsets/list.csv", "downloads/subsets/list.csv.verified", "wav/id00000/.00001.x1.tmp.wav",
                 "meta/list.csv.part"):  # what a subset folder may also hold: none of it belongs in the pack
        (tmp_path / "subset" / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "subset" / junk).write_text("junk")
    checkpoint = tmp_path / "resnet34.pt"
    checkpoint.write_bytes(rng.bytes(5000))

    text = pack(tmp_path / "pack", vox1, trials, tmp_path / "subset", checkpoint, hf_repo="course/labpack",
                hf_revision="0123456789abcdef0123456789abcdef01234567", progress=False)
    entries = __import__("yaml").safe_load(text)
    with zipfile.ZipFile(tmp_path / "pack" / "labpack_vox2_subset.zip") as zf:
        names = sorted(n.split("/", 1)[1] for n in zf.namelist())
    assert names == ["MANIFEST.tsv", "meta/manifest.csv", "meta/train_list.txt", "meta/val_list.txt"] + \
        [f"wav/{k}.wav" for k in sorted(tones)[:3]]
    assert list(entries) == ["labpack_vox1_test", "labpack_vox2_subset", "labpack_model"]
    with FileServer() as server:
        for entry in entries.values():  # "upload": serve the archives, point the pasted entries at the server
            name = entry["files"][0]["name"]
            server.add(f"/{name}", (tmp_path / "pack" / name).read_bytes())
            entry["sources"] = [{"http": server.url("/{file}")}] + entry["sources"]
        (tmp_path / "assets.yaml").write_text(__import__("yaml").safe_dump(entries))
        registry = load_registry(tmp_path / "assets.yaml")
        options = FetchOptions(sources=("http",), progress=False)
        for name in entries:
            fetch(name, tmp_path / "student", options, registry=registry)
    student = tmp_path / "student"
    assert (student / "voxceleb1" / "meta" / "veri_test2.txt").read_text() == trials.read_text()
    assert (student / "checkpoints" / "resnet34" / "resnet34.pt").read_bytes() == checkpoint.read_bytes()
    assert len(list((student / "voxceleb2_subset" / "wav").rglob("*.wav"))) == 3
    for folder in ("voxceleb1", "voxceleb2_subset", "checkpoints/resnet34"):
        assert verify_dir(student / folder, progress=False) == []

    wav = student / "voxceleb1" / "wav" / "id10270" / "5r0dWxy17C8" / "00001.wav"
    data = bytearray(wav.read_bytes())
    data[-1] ^= 1
    wav.write_bytes(bytes(data))
    (student / "voxceleb1" / "meta" / "veri_test2.txt").unlink()
    problems = verify_dir(student / "voxceleb1", progress=False)
    assert problems == ["meta/veri_test2.txt: missing", "wav/id10270/5r0dWxy17C8/00001.wav: sha256 differs"]
    assert verify_dir(student / "voxceleb1", quick=True, progress=False) == ["meta/veri_test2.txt: missing"]


def test_cli_verify(tmp_path, capsys):
    from labkit.cli import main

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("hello")
    sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"  # sha256("hello")
    (tmp_path / "data" / "MANIFEST.tsv").write_text(f"path\tsize\tsha256\na.txt\t5\t{sha}\n")
    assert main(["verify", str(tmp_path / "data")]) == 0
    (tmp_path / "data" / "a.txt").write_text("jello")
    assert main(["verify", str(tmp_path / "data")]) == 1
    assert "a.txt: sha256 differs" in capsys.readouterr().out
    (tmp_path / "data" / "MANIFEST.tsv").write_text("path,size\n")
    assert main(["verify", str(tmp_path / "data")]) == 1
    assert "MANIFEST.tsv:1: expected the header" in capsys.readouterr().err


def test_prepare_subset_from_a_parts_folder_and_a_list_file(vox2_like, tmp_path, monkeypatch):
    from labkit.data.subset import prepare_subset

    tones, whole = vox2_like
    for i, part in enumerate(split(whole, 8)):  # the eight registry names, in a folder
        (tmp_path / f"vox2_dev_aac_parta{chr(97 + i)}").write_bytes(part)
    chosen = sorted(tones)[40:44]
    listing = tmp_path / "my_list.csv"
    sets = ["train", "val", "train", "val"]
    listing.write_text("utterance_key;shard_dix;set_name\n" + "".join(f"{k};0;{s}\n" for k, s in zip(chosen, sets)))
    summary = prepare_subset(tmp_path / "out", list_file=str(listing), sets=["train"], parts_dir=str(tmp_path), progress=False)
    assert summary["utterances"] == 2
    assert sorted(p.stem for p in (tmp_path / "out" / "wav").rglob("*.wav")) == sorted(k.split("/")[-1] for k in chosen[::2])
    prepare_subset(tmp_path / "both", list_file=str(listing), sets=["train", "val"], parts_dir=str(tmp_path), progress=False)
    speaker = chosen[0].split("/")[0]
    assert (tmp_path / "both" / "meta" / "train_list.txt").read_text().splitlines() == [f"{speaker} {k}.wav" for k in chosen[::2]]
    assert (tmp_path / "both" / "meta" / "val_list.txt").read_text().splitlines() == [f"{speaker} {k}.wav" for k in chosen[1::2]]
    (tmp_path / "vox2_dev_aac_partah").unlink()
    with pytest.raises(FileNotFoundError, match="vox2_dev_aac_partah"):
        prepare_subset(tmp_path / "out2", list_file=str(listing), parts_dir=str(tmp_path), progress=False)
    monkeypatch.delenv("LABKIT_KAIST_KEY", raising=False)
    with pytest.raises(ValueError, match="KAIST mirror needs your key"):
        prepare_subset(tmp_path / "out3", list_file=str(listing), source="kaist", progress=False)


def test_pack_leaves_out_download_bookkeeping(tmp_path):
    from labkit.data.labpack import build_pack

    for folder in ("vox1/wav/id10270/v", "subset/wav/id00001/v", "subset/meta"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "vox1/wav/id10270/v/00001.wav").write_bytes(b"wav")
    (tmp_path / "subset/wav/id00001/v/00001.wav").write_bytes(b"wav")
    (tmp_path / "trials.txt").write_text("1 a b\n")
    model = tmp_path / "wespeaker_resnet34"
    (model / ".hf" / "sub").mkdir(parents=True)
    for name in ("avg_model.pt", "config.yaml", "avg_model.pt.verified", "config.yaml.part.json", "avg_model.pt.part",
                 "x.gdown", "y.mismatch", "y.mismatch.json", ".hf/sub/avg_model.pt.metadata"):
        (model / name).write_text(name)
    build_pack(tmp_path / "pack", tmp_path / "vox1", tmp_path / "trials.txt", tmp_path / "subset", model, progress=False)
    with zipfile.ZipFile(tmp_path / "pack" / "labpack_model.zip") as zf:
        assert sorted(zf.namelist()) == [f"checkpoints/wespeaker_resnet34/{n}" for n in ("MANIFEST.tsv", "avg_model.pt", "config.yaml")]


def test_conversion_estimate_for_tiny_few():
    from labkit.data.subset import CONVERT_RATE, conversion_estimate

    line = conversion_estimate(112.8 * 3600)  # tiny_few's train rows
    assert line.startswith("converting 112.8 h of audio: about 28 min at 240 s of audio per second") and CONVERT_RATE == 240
