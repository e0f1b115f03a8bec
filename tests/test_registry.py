"""The asset table: it loads, its facts agree with the published ones, and bad entries are named."""

from __future__ import annotations

import hashlib

import pytest

from labkit.data.download import FetchOptions, DownloadError, fetch
from labkit.data.registry import ASSETS_FILE, get_asset, load_registry


def test_every_asset_has_files_sources_licence_and_citation():
    registry = load_registry()
    assert {"voxceleb1_test", "voxceleb1_o_cleaned", "voxceleb2_dev", "vaessen_subsets", "wespeaker_resnet34"} <= set(registry)
    for asset in registry.values():
        assert asset.files and asset.sources and asset.licence and asset.citation, asset.name
        for f in asset.files:
            assert len(f.md5) in (0, 32) and len(f.sha256) in (0, 64), f.name


def test_assets_without_checksums_are_marked_in_the_table():
    text = ASSETS_FILE.read_text()
    for asset in load_registry().values():
        block = text.split(f"\n{asset.name}:\n", 1)[1].split("\n\n", 1)[0]  # the asset's lines in assets.yaml
        unchecked = any(not (f.md5 or f.sha256) for f in asset.files)
        assert ("# NO CHECKSUM" in block) == unchecked, asset.name


def test_voxceleb2_parts_add_up_to_the_published_size():
    vox2 = get_asset("voxceleb2_dev")
    assert [f.name for f in vox2.files] == [f"vox2_dev_aac_parta{c}" for c in "abcdefgh"]
    assert vox2.total_bytes == 7 * 10_737_418_240 + 2_315_355_528


def test_subset_list_checksums_match_the_published_files(fixtures_dir):
    for f in get_asset("vaessen_subsets").files:
        data = (fixtures_dir / "voxceleb" / "subsets" / f.name).read_bytes()
        assert len(data) == f.size and hashlib.sha256(data).hexdigest() == f.sha256


def test_source_urls():
    vox2 = get_asset("voxceleb2_dev")
    drive, kaist, hf = vox2.sources
    assert hf.url("vox2_dev_aac_partah") == "https://huggingface.co/datasets/ProgramComputer/voxceleb/resolve/6085a7c8ec62af7a42fcccb938c56720c358acf0/vox2/vox2_dev_aac_partah"
    assert kaist.needs_key and kaist.url("vox2_dev_aac_partaa", key="k&y") == \
        "https://cn01.mmai.io/download/voxceleb?key=k%26y&file=vox2_dev_aac_partaa"
    assert drive.kind == "drive" and set(drive.drive_ids) == {f.name for f in vox2.files}


def test_empty_drive_id_is_skipped_with_a_note(tmp_path):
    options = FetchOptions(sources=("drive",), progress=False)
    with pytest.raises(DownloadError, match="no course id for veri_test2.txt yet"):
        fetch("voxceleb1_o_cleaned", tmp_path, options)


def test_unknown_asset_lists_the_known_ones():
    with pytest.raises(ValueError, match="known assets: .*voxceleb1_test"):
        get_asset("voxceleb3")


def test_bad_entry_names_the_file(tmp_path):
    path = tmp_path / "assets.yaml"
    path.write_text("a:\n  files: [{name: x}]\n  sources: [{ftp: 'x'}]\n")
    with pytest.raises(ValueError, match=f"{path}.*asset 'a'"):
        load_registry(path)
    path.write_text("a:\n  files: [{name: x}]\n  sources: [{http: 'x'}]\n  unpak: {format: zip}\n")
    with pytest.raises(ValueError, match=r"asset 'a': unknown key\(s\) \['unpak'\]"):
        load_registry(path)
    path.write_text("a:\n  files: [{name: x, sha: y}]\n  sources: [{http: 'x'}]\n")
    with pytest.raises(ValueError, match="a file entry needs name"):
        load_registry(path)
    path.write_text("a: [unclosed\n")
    with pytest.raises(ValueError, match=f"{path}: not valid YAML"):
        load_registry(path)


def test_every_hf_source_is_pinned_to_a_commit_and_main_is_refused(tmp_path):
    for asset in load_registry().values():
        for source in asset.sources:
            if source.kind == "hf":
                assert len(source.revision) == 40 and int(source.revision, 16) >= 0, asset.name
    assert "revision: main" not in ASSETS_FILE.read_text()
    path = tmp_path / "assets.yaml"
    path.write_text("a:\n  files: [{name: x}]\n  sources: [{hf: {repo: o/r, revision: main, path: '{file}'}}]\n")
    with pytest.raises(ValueError, match="hf revision 'main' is not a commit hash"):
        load_registry(path)


def test_the_published_facts(tmp_path):
    assert [f.name for f in get_asset("wespeaker_resnet34_lm").files] == ["avg_model", "config.yaml"]
    assert [f.name for f in get_asset("voxceleb_trainer_se34v2").files] == ["baseline_v2_smproto.model"]
    assert get_asset("voxceleb1_test").files[0].size == 1_072_793_438
    for name in ("voxceleb1_test", "voxceleb2_dev"):
        hf = next(s for s in get_asset(name).sources if s.kind == "hf")
        assert (hf.repo, hf.revision) == ("ProgramComputer/voxceleb", "6085a7c8ec62af7a42fcccb938c56720c358acf0")
    assert next(s for s in get_asset("voxceleb1_test").sources if s.kind == "hf").repo_path("vox1_test_wav.zip") == \
        "vox1/vox1_test_wav.zip"


def test_labkit_download_lists_every_asset_with_its_pinned_revision(capsys):
    from labkit.cli import main

    assert main(["download"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert set(lines) == set(load_registry())
    assert "hf 6085a7c8ec62" in lines["voxceleb2_dev"] and "hf f0c48c298fd8" in lines["wespeaker_resnet34_lm"]
    assert "http 405c8a0eced9" in lines["vaessen_subsets"]


def test_labkit_assets_replaces_the_table_everywhere(tmp_path, monkeypatch, capsys):
    from labkit.cli import main

    path = tmp_path / "mirror.yaml"
    path.write_text("only_asset:\n  description: a mirror\n  files: [{name: x, size: 3}]\n"
                    "  sources: [{hf: {repo: o/r, revision: " + "ab" * 20 + ", path: '{file}', endpoint: 'http://127.0.0.1:9'}}]\n")
    monkeypatch.setenv("LABKIT_ASSETS", str(path))
    assert list(load_registry()) == ["only_asset"]
    assert get_asset("only_asset").sources[0].url("x") == f"http://127.0.0.1:9/o/r/resolve/{'ab' * 20}/x"
    assert main(["download"]) == 0
    assert capsys.readouterr().out.split()[0] == "only_asset"


def test_a_lab_pack_on_hugging_face_needs_the_upload_commit():
    from labkit.data.labpack import registry_entries

    with pytest.raises(ValueError, match="--hf-repo needs --hf-revision: the commit hash"):
        registry_entries({"archives": []}, hf_repo="course/labpack", hf_revision="main")
