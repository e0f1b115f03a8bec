"""The real-data path against the local VoxCeleb mirror (tests/mirror.py): the asset table swapped
with LABKIT_ASSETS, Hugging Face through huggingface_hub (token, 401, 429), the subset over HTTP
Range, failures that cost nothing twice, and Drive persistence that restores without a download."""

from __future__ import annotations

import shutil
import zipfile

import pytest
import soundfile as sf

from labkit.data.download import DownloadError, FetchOptions, download, fetch
from labkit.data.hub import TOKEN_HINT
from labkit.data.subset import prepare_subset
from mirror import Mirror, build_mirror_files

QUICK = dict(progress=False, retries=1, backoff=0.01, rate_limit_wait=0.01)


@pytest.fixture(scope="module")
def mirror_files(tmp_path_factory):
    return build_mirror_files(tmp_path_factory.mktemp("mirror"))


@pytest.fixture
def mirror(mirror_files, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))  # no token or cache of this machine's user
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with Mirror(mirror_files) as server:
        monkeypatch.setenv("LABKIT_ASSETS", str(server.assets))
        yield server


def test_the_lab_downloads_from_the_mirror_in_the_real_formats(mirror, mirror_files, tmp_path, capsys):
    from labkit.cli import main
    from labkit.models import load

    assert main(["download", "voxceleb1_test", "voxceleb1_o_cleaned", "wespeaker_resnet34_lm", "voxceleb_trainer_se34v2",
                 "--dest", str(tmp_path / "data")]) == 0
    data = tmp_path / "data"
    with zipfile.ZipFile(mirror_files / "vox1_test_wav.zip") as zf:
        assert sorted(p.relative_to(data / "voxceleb1").as_posix() for p in (data / "voxceleb1" / "wav").rglob("*.wav")) == \
            sorted(zf.namelist())
    assert (data / "voxceleb1" / "meta" / "veri_test2.txt").read_bytes() == (mirror_files / "veri_test2.txt").read_bytes()
    assert sorted(p.name for p in (data / "checkpoints" / "wespeaker_resnet34_lm").iterdir()) == \
        ["avg_model", "avg_model.verified", "config.yaml", "config.yaml.verified"]  # no .hf staging left behind
    assert load(data / "checkpoints" / "wespeaker_resnet34_lm").config.embed_dim == 256
    assert load(data / "checkpoints" / "voxceleb_trainer" / "baseline_v2_smproto.model") is not None
    resolved = [path for method, path, _ in mirror.log if "/resolve/" in path]
    assert any("ProgramComputer/voxceleb/resolve/6085a7c8ec62af7a42fcccb938c56720c358acf0/vox1/vox1_test_wav.zip" in p
               for p in resolved)


def test_a_token_is_sent_when_set_and_its_absence_is_one_line(mirror_files, monkeypatch, tmp_path, capsys):
    from labkit.cli import main

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with Mirror(mirror_files, token="hf_course_token") as mirror:
        monkeypatch.setenv("LABKIT_ASSETS", str(mirror.assets))
        assert main(["download", "wespeaker_resnet34_lm", "--dest", str(tmp_path / "a")]) == 1
        hint = [line for line in capsys.readouterr().err.splitlines() if "HF_TOKEN" in line]
        assert len(hint) == 1 and TOKEN_HINT in hint[0] and "HTTP 401" in hint[0]
        monkeypatch.setenv("HF_TOKEN", "hf_course_token")
        assert main(["download", "wespeaker_resnet34_lm", "--dest", str(tmp_path / "b")]) == 0
        assert mirror.log[-1][2].get("Authorization") is None  # the token stayed with the hub, not the CDN


def test_hub_downloads_wait_for_retry_after(mirror, tmp_path):
    mirror.rate_limited = ["1", "1"]  # huggingface_hub tries its metadata request twice at once, then honours Retry-After
    fetch("wespeaker_resnet34_lm", tmp_path, FetchOptions(sources=("hf",), **QUICK))
    hub = [t for (method, path, _), t in zip(mirror.log, mirror.times) if "/resolve/" in path]
    assert len(hub) == 4 and hub[2] - hub[1] >= 1.0  # 429, 429, then after the 1 s asked for; then config.yaml


def test_subset_over_range_requests_with_a_rate_limit(mirror, mirror_files, tmp_path, capsys):
    mirror.rate_limited = ["1"]  # the first resolve request of the parts is refused for 1 s
    summary = prepare_subset(tmp_path / "subset", list_name="tiny_few", source="hf", rate_limit_wait=0.01, progress=True)
    rows = (mirror_files / "tiny_few_utterance_list.csv").read_text().splitlines()[1:]
    train = sorted(r.split(";")[0] for r in rows if r.endswith(";train"))
    assert summary["utterances"] == len(train) and not (tmp_path / "subset" / "meta" / "val_list.txt").read_text()
    assert sorted(p.relative_to(tmp_path / "subset" / "wav").as_posix()[:-4] for p in (tmp_path / "subset" / "wav").rglob("*.wav")) == train
    info = sf.info(next((tmp_path / "subset" / "wav").rglob("*.wav")))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    out = capsys.readouterr().out
    assert f"{len(train)} utterances: {summary['planned_requests']} HTTP range requests" in out
    assert "h of audio: about" in out  # the conversion estimate, before the first conversion
    assert summary["planned_requests"] < summary["naive_requests"] == len(train)
    waited = [t for (method, path, _), t in zip(mirror.log, mirror.times) if "vox2_dev_aac" in path]
    assert waited[1] - waited[0] >= 1.0


def test_validation_rows_on_request(mirror, mirror_files, tmp_path):
    prepare_subset(tmp_path / "subset", list_name="tiny_few", sets=("train", "val"), source="hf", progress=False)
    rows = (mirror_files / "tiny_few_utterance_list.csv").read_text().splitlines()[1:]
    val = sorted(r.split(";")[0] for r in rows if r.endswith(";val"))
    assert sorted(line.split()[1][:-4] for line in (tmp_path / "subset" / "meta" / "val_list.txt").read_text().splitlines()) == val


def test_a_corrupt_hub_file_is_set_aside_and_not_fetched_again(mirror, tmp_path):
    cdn = next(path for path, entry in ((p, e) for p, e in mirror.hub.items()) if path.endswith("/avg_model"))
    mirror.files[f"/cdn/{mirror.hub[cdn].sha256}"].corrupt = True
    options = FetchOptions(sources=("hf",), **QUICK)
    with pytest.raises(DownloadError, match="set aside as avg_model.mismatch"):
        fetch("wespeaker_resnet34_lm", tmp_path, options)
    requests = len(mirror.log)
    with pytest.raises(DownloadError, match="did not match on an earlier run"):
        fetch("wespeaker_resnet34_lm", tmp_path, options)
    assert len(mirror.log) == requests  # nothing asked of the hub again


def test_an_unreachable_hub_fails_at_once(mirror, tmp_path, monkeypatch):
    text = mirror.assets.read_text().replace(mirror.url("").rstrip("/"), "http://no-such-hub.invalid")
    (tmp_path / "assets.yaml").write_text(text)
    monkeypatch.setenv("LABKIT_ASSETS", str(tmp_path / "assets.yaml"))
    with pytest.raises(DownloadError, match=r"cannot resolve no-such-hub.invalid \(DNS\)"):
        fetch("wespeaker_resnet34_lm", tmp_path / "d", FetchOptions(sources=("hf",), **{**QUICK, "backoff": 3600.0}))


def test_a_new_vm_restores_from_drive_without_any_download(mirror, tmp_path, capsys):
    drive = tmp_path / "drive" / "labkit_cache"
    options = FetchOptions(drive_cache=str(drive), **QUICK)
    download(["voxceleb1_test", "voxceleb1_o_cleaned"], tmp_path / "vm1", options, persist=True)
    first = len(mirror.log)
    download(["voxceleb1_test", "voxceleb1_o_cleaned"], tmp_path / "vm2", options)  # a fresh data folder, the same Drive
    assert len(mirror.log) == first
    assert sorted(p.name for p in (tmp_path / "vm2" / "voxceleb1" / "wav").rglob("*.wav")) == \
        sorted(p.name for p in (tmp_path / "vm1" / "voxceleb1" / "wav").rglob("*.wav"))


def test_the_prepared_subset_restores_from_drive_on_a_new_vm(mirror, tmp_path, capsys):
    from labkit.data.labpack import verify_dir

    drive = tmp_path / "drive"
    first = prepare_subset(tmp_path / "vm1" / "voxceleb2_subset", list_name="tiny_few", source="hf", progress=False,
                           drive_cache=str(drive), persist=True)
    assert sorted(p.name for p in drive.iterdir()) == ["voxceleb2_subset.zip"]  # one archive on Drive, not many files
    requests = len(mirror.log)
    second = prepare_subset(tmp_path / "vm2" / "voxceleb2_subset", list_name="tiny_few", source="hf", progress=False,
                            drive_cache=str(drive))
    assert len(mirror.log) == requests  # nothing downloaded
    assert (second["utterances"], second["speakers"]) == (first["utterances"], first["speakers"])
    assert abs(second["hours"] - first["hours"]) < 1e-9 and second["restore_seconds"] >= 0
    assert "restored voxceleb2_subset from" in capsys.readouterr().out
    assert verify_dir(tmp_path / "vm2" / "voxceleb2_subset", progress=False) == []


def test_doctor_shows_what_works_and_what_to_do(mirror_files, monkeypatch, tmp_path, capsys):
    from labkit.cli import main
    from labkit.doctor import check_sources

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("LABKIT_KAIST_KEY", raising=False)
    with Mirror(mirror_files, token="hf_course_token") as mirror:
        monkeypatch.setenv("LABKIT_ASSETS", str(mirror.assets))
        host = mirror.url("").split("/")[2]
        rows = {c.name: c for c in check_sources()}
        assert rows[f"hf {host}"].level == "fail" and "HTTP 401" in rows[f"hf {host}"].seen
        assert "anonymous" in rows[f"hf {host}"].seen and "HF_TOKEN" in rows[f"hf {host}"].todo
        assert rows[f"http {host}"].level == "ok" and rows["Google Drive ids"].level == "warn"
        monkeypatch.setenv("HF_TOKEN", "hf_course_token")
        rows = {c.name: c for c in check_sources()}
        assert rows[f"hf {host}"].level == "ok" and "token set" in rows[f"hf {host}"].seen
        main(["doctor", "--dest", str(tmp_path)])
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["check", "seen", "what", "to", "do"]
    assert {line.split()[0] for line in table[1:]} >= {"GPU", "disk", "Google", "PyAV", "TeX", "hf", "http"}


def test_the_notebooks_doctor_cell_checks_this_machine_without_asking_any_host(mirror, monkeypatch, tmp_path):
    from labkit.doctor import doctor

    monkeypatch.setenv("LABKIT_ASSETS", str(mirror.assets))
    requests = len(mirror.log)
    rows = doctor(tmp_path, sources=False)
    assert [c.name for c in rows] == ["GPU", "disk", "Google Drive", "PyAV", "TeX"]
    assert len(mirror.log) == requests
    assert len(doctor(tmp_path, timeout=5.0)) > len(rows) and len(mirror.log) > requests

    from labkit import i18n
    from labkit.doctor import format_table

    monkeypatch.setattr(i18n, "_chosen", i18n._chosen)  # restored after the test
    i18n.set_language("es")  # the notebook's LANGUAGE: the table in the student's language
    table = format_table(doctor(tmp_path, sources=False)).splitlines()
    assert table[0].split() == ["comprobación", "visto", "qué", "hacer"]
    assert "GB libres en" in next(line for line in table if line.startswith("disco"))


def test_instructor_fills_drive_ids_and_students_get_drive_first(mirror, tmp_path, monkeypatch, capsys):
    import gdown

    from labkit.cli import main

    uploaded = {"1VeriTest2FileId": mirror.files_dir / "veri_test2.txt"}  # "uploaded to Drive and shared"

    def drive(id=None, output=None, quiet=False, resume=False, **kwargs):  # gdown's signature; Drive is not reachable here
        shutil.copyfile(uploaded[id], output)
        return output

    monkeypatch.setattr(gdown, "download", drive)
    course = tmp_path / "course_assets.yaml"
    assert main(["drive-ids", str(course), "veri_test2.txt=1VeriTest2FileId"]) == 0
    monkeypatch.setenv("LABKIT_ASSETS", str(course))
    requests = len(mirror.log)
    fetch("voxceleb1_o_cleaned", tmp_path / "data", FetchOptions(**QUICK))
    assert (tmp_path / "data" / "voxceleb1" / "meta" / "veri_test2.txt").read_bytes() == uploaded["1VeriTest2FileId"].read_bytes()
    assert len(mirror.log) == requests  # Drive first: the other hosts were not asked
    assert main(["drive-ids", str(tmp_path / "x.yaml"), "nowhere.zip=1AbCdEfGhIjKlM"]) == 1
    assert "nowhere.zip: no empty Google Drive entry" in capsys.readouterr().err and not (tmp_path / "x.yaml").exists()


def test_a_dropped_transfer_from_the_hub_is_tried_again(mirror, mirror_files, tmp_path):
    cdn = next(p for p in mirror.hub if p.endswith("/vox1_test_wav.zip"))
    served = mirror.files[f"/cdn/{mirror.hub[cdn].sha256}"]
    served.drop_after = len(served.data) // 3  # the connection dies a third of the way through
    fetch("voxceleb1_test", tmp_path, FetchOptions(sources=("hf",), **QUICK), extract=False)
    assert (tmp_path / "vox1_test_wav.zip").read_bytes() == (mirror_files / "vox1_test_wav.zip").read_bytes()
    assert len(mirror.gets(f"/cdn/{mirror.hub[cdn].sha256}")) == 2  # huggingface_hub tried again by itself (from byte 0)


def test_the_drive_quota_page_becomes_the_quota_message(mirror, tmp_path, monkeypatch):
    from labkit.data.download import QuotaError

    text = mirror.assets.read_text()
    for route in ("/vgg/data/voxceleb/meta/{file}", "/datasets/voxceleb/meta/{file}"):  # both meta hosts answer with it
        text = text.replace(route, "/drive/uc?id={file}")
    (tmp_path / "assets.yaml").write_text(text)
    monkeypatch.setenv("LABKIT_ASSETS", str(tmp_path / "assets.yaml"))
    with pytest.raises(QuotaError, match="Too many users have viewed or downloaded this file recently"):
        fetch("voxceleb1_o_cleaned", tmp_path / "d", FetchOptions(sources=("http",), **QUICK))
