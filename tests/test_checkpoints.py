"""Checkpoints: our round trip, parity with the peers' own embeddings, their full-size key maps, and bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from labkit.config import ModelConfig
from labkit.models import CheckpointError, build_model, load, load_extra, save
from labkit.models.checkpoints import FORMAT

PEERS = "peers"


def assert_parity(ours: torch.Tensor, reference: np.ndarray) -> None:
    """The issue's bar: cosine >= 0.99999 and max abs difference <= 1e-3 for every embedding."""
    ours_np = ours.detach().numpy().astype(np.float64)
    reference = reference.astype(np.float64)
    assert ours_np.shape == reference.shape
    cosine = (ours_np * reference).sum(1) / np.linalg.norm(ours_np, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosine.min() >= 0.99999
    assert np.abs(ours_np - reference).max() <= 1e-3


# --- parity with the peers' own code ---------------------------------------------------------------


def test_wespeaker_parity_from_features_and_from_waveform(fixtures_dir: Path) -> None:
    folder = fixtures_dir / PEERS / "wespeaker_resnet34"
    parity = np.load(folder / "parity.npz")
    model = load(folder)
    assert (model.config.depth, model.config.width, model.config.embed_dim, model.config.pooling) == (34, 32, 256, "tstp")
    assert (model.config.frontend.kind, model.config.frontend.input_scale, model.config.frontend.normalize) == ("fbank", 32768.0, "cmn")
    with torch.no_grad():
        from_feats = model.encoder(torch.from_numpy(parity["input_feats"]).transpose(1, 2))  # WeSpeaker: (B, frames, 80)
        from_wav = model(torch.from_numpy(parity["wav"])[None])
    assert_parity(from_feats, parity["embedding"])
    assert_parity(from_wav, parity["embedding_from_wav"])


def test_wespeaker_model_file_with_config_beside_it(fixtures_dir: Path) -> None:
    folder = fixtures_dir / PEERS / "wespeaker_resnet34"
    parity = np.load(folder / "parity.npz")
    with torch.no_grad():
        embedding = load(folder / "avg_model.pt")(torch.from_numpy(parity["wav"])[None])
    assert_parity(embedding, parity["embedding_from_wav"])


def test_wespeaker_config_without_two_emb_layer_reads_it_off_the_weights(fixtures_dir: Path, tmp_path: Path) -> None:
    """WeSpeaker's own default for two_emb_layer changed between versions: a config that omits it still loads."""
    folder = fixtures_dir / PEERS / "wespeaker_resnet34"
    text = (folder / "config.yaml").read_text()
    assert "two_emb_layer: false" in text
    (tmp_path / "config.yaml").write_text(text.replace("  two_emb_layer: false\n", ""))
    shutil.copy(folder / "avg_model.pt", tmp_path / "avg_model.pt")
    model = load(tmp_path)
    assert model.config.two_embed_layers is False
    with torch.no_grad():
        embedding = model(torch.from_numpy(np.load(folder / "parity.npz")["wav"])[None])
    assert_parity(embedding, np.load(folder / "parity.npz")["embedding_from_wav"])


@pytest.mark.parametrize("folder, arch_check", [
    ("voxceleb_trainer_resnetse34l", dict(width=16, stem_kernel=7, pooling="sap", n_mels=40, preemphasis=0.0)),
    ("voxceleb_trainer_resnetse34v2", dict(width=32, stem_kernel=3, pooling="asp", n_mels=64, preemphasis=0.97)),
])
def test_voxceleb_trainer_legacy_parity(fixtures_dir: Path, folder: str, arch_check: dict) -> None:
    parity = np.load(fixtures_dir / PEERS / folder / "parity.npz")
    model = load(fixtures_dir / PEERS / folder / "model_legacy_format.model")
    config = model.config
    seen = dict(width=config.width, stem_kernel=config.stem_kernel, pooling=config.pooling, n_mels=config.frontend.n_mels,
                preemphasis=config.frontend.preemphasis)
    assert seen == arch_check
    with torch.no_grad():
        assert_parity(model(torch.from_numpy(parity["input_wav"])), parity["embedding"])


def test_voxceleb_trainer_newer_format(fixtures_dir: Path, tmp_path: Path) -> None:
    """{model_state_dict, optimizer_state_dict, scheduler_state_dict, epoch}, as SpeakerNet.saveParameters writes now."""
    folder = fixtures_dir / PEERS / "voxceleb_trainer_resnetse34l"
    legacy = torch.load(folder / "model_legacy_format.model", weights_only=True)
    newer = {"model_state_dict": legacy, "optimizer_state_dict": {"state": {}, "param_groups": [{"lr": 0.001}]},
             "scheduler_state_dict": {"last_epoch": 3}, "epoch": 3}
    torch.save(newer, tmp_path / "model000000003.model")
    parity = np.load(folder / "parity.npz")
    with torch.no_grad():
        assert_parity(load(tmp_path / "model000000003.model")(torch.from_numpy(parity["input_wav"])), parity["embedding"])


# --- full-size key maps of the published models ----------------------------------------------------


def state_from_key_map(path: Path) -> dict[str, torch.Tensor]:
    """Random tensors with exactly the keys and shapes of a published checkpoint (keys/*.json)."""
    generator = torch.Generator().manual_seed(0)
    shapes = json.loads(path.read_text())
    return {key: torch.randn(shape, generator=generator).half() if shape else torch.tensor(0) for key, shape in shapes.items()}


def test_published_wespeaker_resnet34_key_map_loads(fixtures_dir: Path, tmp_path: Path) -> None:
    state = state_from_key_map(fixtures_dir / PEERS / "keys/wespeaker_resnet34_keys_with_projection.json")
    state["projection.weight"] = torch.zeros(17982, 256)  # the published classifier (speed-perturbed classes): ignored
    torch.save(state, tmp_path / "avg_model.pt")
    shutil.copy(fixtures_dir / PEERS / "wespeaker_resnet34/config.yaml", tmp_path / "config.yaml")
    model = load(tmp_path)
    assert sum(p.numel() for p in model.parameters()) == 6_634_336
    torch.testing.assert_close(model.encoder.layer2[0].downsample[0].weight, state["layer2.0.shortcut.0.weight"].float())


@pytest.mark.parametrize("name, params", [("vt_resnetse34l_speakernet_keys", 1_437_078), ("vt_resnetse34v2_speakernet_keys", 8_028_492)])
def test_published_voxceleb_trainer_key_maps_load(fixtures_dir: Path, tmp_path: Path, name: str, params: int) -> None:
    state = state_from_key_map(fixtures_dir / PEERS / f"keys/{name}.json")
    torch.save(state, tmp_path / "baseline.model")
    model = load(tmp_path / "baseline.model")
    assert sum(p.numel() for p in model.parameters()) == params
    torch.testing.assert_close(model.encoder.embedding.weight, state["__S__.fc.weight"].float())


# --- our own files ---------------------------------------------------------------------------------


def small_model(**overrides: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(depth=10, width=8, embed_dim=32, **overrides)).eval()


@pytest.mark.parametrize("overrides", [dict(), dict(pooling="asp", two_embed_layers=True), dict(arch="xvector")])
def test_round_trip_keeps_config_weights_and_extra(tmp_path: Path, overrides: dict) -> None:
    model = small_model(**overrides)
    path = save(model, tmp_path / "runs/model.pt", extra={"epochs": 3, "val_eer": 0.125, "note": "test"})
    assert path == tmp_path / "runs/model.pt" and sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]
    loaded = load(path)
    assert loaded.config == model.config and not loaded.training
    x = torch.randn(2, 16000) * 0.1
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=0, rtol=0)
    assert load_extra(path) == {"epochs": 3, "val_eer": 0.125, "note": "test"}


def test_bad_extra_is_refused_before_writing(tmp_path: Path) -> None:
    model = small_model()
    path = save(model, tmp_path / "model.pt", extra={"epochs": 1})
    before = path.read_bytes()
    with pytest.raises(TypeError, match="extra"):
        save(model, path, extra={"epochs": np.float32(2.0)})  # not a plain value
    assert path.read_bytes() == before


# --- bad files -------------------------------------------------------------------------------------


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    return save(small_model(), tmp_path / "model.pt")


def test_truncated_file(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"model\.pt: cannot be read as a PyTorch checkpoint"):
        load(saved)


@pytest.mark.parametrize("content", [np.random.default_rng(0).bytes(4096), b"", b"1 id10001/a.wav id10002/b.wav\n"])
def test_random_bytes_and_text(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="cannot be read as a PyTorch checkpoint"):
        load(path)


class _Trap:
    """Pickles to a call of Path.touch: loading it without weights_only would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_code_in_a_checkpoint_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    torch.save({"state_dict": _Trap(marker)}, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="cannot be read"):
        load(tmp_path / "model.pt")
    assert not marker.exists()


def test_missing_extra_and_misshapen_keys_are_named(saved: Path) -> None:
    checkpoint = torch.load(saved, weights_only=True)
    state = checkpoint["state_dict"]
    del state["encoder.layer1.0.bn1.running_var"]
    state["encoder.head.weight"] = torch.zeros(3)
    state["encoder.embedding.weight"] = torch.zeros(7, 7)
    torch.save(checkpoint, saved)
    with pytest.raises(CheckpointError) as error:
        load(saved)
    message = str(error.value)
    assert "does not fit a labkit speaker model" in message
    assert "missing keys [encoder.layer1.0.bn1.running_var]" in message
    assert "unexpected keys [encoder.head.weight]" in message
    assert "encoder.embedding.weight (7, 7) (expected (32, 1280))" in message  # TSTP of 64 channels x 10 bins: 1280


def test_peer_file_with_a_missing_key(fixtures_dir: Path, tmp_path: Path) -> None:
    state = torch.load(fixtures_dir / PEERS / "wespeaker_resnet34/avg_model.pt", weights_only=True)
    del state["layer3.1.conv2.weight"]
    torch.save(state, tmp_path / "avg_model.pt")
    shutil.copy(fixtures_dir / PEERS / "wespeaker_resnet34/config.yaml", tmp_path / "config.yaml")
    with pytest.raises(CheckpointError, match=r"does not fit WeSpeaker ResNet34 .*missing keys \[layer3\.1\.conv2\.weight\]"):
        load(tmp_path)


def test_unknown_dicts_and_missing_files(tmp_path: Path) -> None:
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=rf"not a checkpoint labkit knows; expected a labkit file .*{FORMAT}.*found keys \[weights\]"):
        load(tmp_path / "other.pt")
    torch.save({"seg_1.weight": torch.zeros(3)}, tmp_path / "wespeaker.pt")
    with pytest.raises(CheckpointError, match="needs its config.yaml"):
        load(tmp_path / "wespeaker.pt")
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load(tmp_path / "absent.pt")
    with pytest.raises(CheckpointError, match="not a WeSpeaker model directory"):
        load(tmp_path)
