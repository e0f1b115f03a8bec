"""The ResNet family: the seed table, the peers' parameter counts, shapes, gradients and padding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from labkit.config import FrontendConfig, ModelConfig
from labkit.features import build_frontend
from labkit.models import SpeakerModel, build_model, resnet10, resnet34, speaker_resnet
from labkit.models.resnet import BasicBlock, Bottleneck, SpeakerResNet, imagenet_resnet

SEED_TABLE_PARAMS = {18: 11.69e6, 34: 21.80e6, 50: 25.56e6, 101: 44.55e6, 152: 60.19e6}  # He et al. 2016, Table 1 (seed)
TORCHVISION_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}  # torchvision docs
SAMPLE_RATE = 16000


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def wav(seconds: float, seed: int) -> torch.Tensor:
    return 0.1 * torch.randn(int(seconds * SAMPLE_RATE), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("depth", sorted(SEED_TABLE_PARAMS))
def test_imagenet_parameters_match_the_seed_table(depth: int) -> None:
    params = count(imagenet_resnet(depth))
    assert params == pytest.approx(SEED_TABLE_PARAMS[depth], rel=0.03)
    assert params == TORCHVISION_PARAMS[depth]


def test_imagenet_resnet_classifies_images() -> None:
    model = imagenet_resnet(18).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 224, 224)).shape == (2, 1000)


def test_wespeaker_resnet34_parameter_count(fixtures_dir: Path) -> None:
    summary = json.loads((fixtures_dir / "peers/keys/ws_summary.json").read_text())
    assert count(resnet34(width=32, n_mels=80, embed_dim=256)) == summary["resnet34_standard"]["params_model"] == 6_634_336


@pytest.mark.slow
def test_wespeaker_parameter_counts(fixtures_dir: Path) -> None:
    """Every WeSpeaker variant of ws_summary.json: ResNet{18..293}, 80 fbank, width 32, 256-d, one or two embedding layers."""
    summary = json.loads((fixtures_dir / "peers/keys/ws_summary.json").read_text())
    checked = 0
    for name, expected in summary.items():
        if not name.startswith("ResNet"):
            continue
        depth = int(name.split("_")[0].removeprefix("ResNet"))
        model = speaker_resnet(depth, width=32, n_mels=80, embed_dim=256, two_embed_layers=name.endswith("True"))
        assert count(model) == expected, name
        checked += 1
    assert checked == 14


VT_GEOMETRY = {
    "ResNetSE34L": dict(width=16, stem_kernel=7, stem_stride=2, layer4_stride=1, freq_pooling="mean"),
    "ResNetSE34V2": dict(width=32, stem_relu_first=True),
}


@pytest.mark.parametrize("name, arch, pooling, n_mels, embed_dim", [
    ("vt_resnetse34l", "ResNetSE34L", "sap", 40, 512),
    ("vt_resnetse34v2", "ResNetSE34V2", "asp", 64, 512),
    ("ResNetSE34L_SAP_mel64_nOut512", "ResNetSE34L", "sap", 64, 512),
    ("ResNetSE34L_SAP_mel40_nOut256", "ResNetSE34L", "sap", 40, 256),
    ("ResNetSE34V2_ASP_mel40_nOut512", "ResNetSE34V2", "asp", 40, 512),
    ("ResNetSE34V2_ASP_mel80_nOut512", "ResNetSE34V2", "asp", 80, 512),
])
def test_voxceleb_trainer_parameter_counts(fixtures_dir: Path, name: str, arch: str, pooling: str, n_mels: int, embed_dim: int) -> None:
    summary = json.loads((fixtures_dir / "peers/keys/vt_summary.json").read_text())
    model = resnet34(
        n_mels=n_mels, pooling=pooling, embed_dim=embed_dim, squeeze_excitation=True, relu_before_bn=True, **VT_GEOMETRY[arch]
    )
    assert count(model) == summary[name]["params_model"]


SMALL_CONFIGS = {
    "resnet10-fbank-tstp": ModelConfig(depth=10, width=8, embed_dim=32),
    "resnet10-two-embeddings": ModelConfig(depth=10, width=8, embed_dim=32, two_embed_layers=True),
    "se34l-style-melspec-sap": ModelConfig(
        depth=10, width=8, embed_dim=32, pooling="sap", squeeze_excitation=True, relu_before_bn=True, stem_kernel=7,
        stem_stride=2, layer4_stride=1, freq_pooling="mean",
        frontend=FrontendConfig(kind="melspec", n_mels=40, preemphasis=0.0, normalize="instance"),
    ),
    "se34v2-style-odd-mels": ModelConfig(
        depth=10, width=8, embed_dim=32, pooling="asp", squeeze_excitation=True, relu_before_bn=True,
        stem_relu_first=True, frontend=FrontendConfig(kind="melspec", n_mels=30, normalize="instance"),
    ),
}


def small_bottleneck_model() -> SpeakerModel:
    """Bottleneck blocks (one per stage, width 4) with ASP: the masking inside Bottleneck, at a test-friendly size."""
    config = ModelConfig(width=4, embed_dim=32, pooling="asp")
    encoder = SpeakerResNet(Bottleneck, [1, 1, 1, 1], width=4, embed_dim=32, pooling="asp")
    return SpeakerModel(config, build_frontend(config.frontend), encoder)


@pytest.mark.parametrize("name", [*sorted(SMALL_CONFIGS), "bottleneck-asp"])
def test_odd_lengths_batched_equals_single(name: str) -> None:
    """1.1 s and 7.3 s utterances: right shapes, and each row of a padded batch equals the row alone."""
    torch.manual_seed(0)
    model = (small_bottleneck_model() if name == "bottleneck-asp" else build_model(SMALL_CONFIGS[name])).eval()
    rows = [wav(1.1, 1), wav(7.3, 2)]
    lengths = torch.tensor([len(r) for r in rows])
    batch = torch.zeros(len(rows), int(lengths.max()))
    for i, row in enumerate(rows):
        batch[i, : len(row)] = row
    with torch.no_grad():
        batched = model(batch, lengths)
        singles = torch.cat([model(row[None]) for row in rows])
    assert batched.shape == (2, 32)
    assert torch.isfinite(batched).all()
    torch.testing.assert_close(batched, singles, atol=1e-4, rtol=1e-4)


def test_padding_matters_without_lengths() -> None:
    """The equality above is the masking's doing: without lengths, padding changes the short row's embedding."""
    torch.manual_seed(0)
    model = build_model(SMALL_CONFIGS["resnet10-fbank-tstp"]).eval()
    short = wav(1.1, 1)
    padded = torch.cat([short, torch.zeros(SAMPLE_RATE * 6)])[None]
    with torch.no_grad():
        assert not torch.allclose(model(padded), model(short[None]), atol=1e-2)


def test_gradients_reach_the_stem() -> None:
    torch.manual_seed(0)
    for plain in (False, True):
        model = build_model(ModelConfig(depth=10, width=8, embed_dim=32, plain=plain)).train()
        model(torch.randn(2, SAMPLE_RATE) * 0.1).pow(2).sum().backward()
        grad = model.encoder.conv1.weight.grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_eval_is_deterministic() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(depth=10, width=8, embed_dim=32, frontend=FrontendConfig(dither=1.0))).eval()
    x = torch.randn(2, 2 * SAMPLE_RATE) * 0.1
    with torch.no_grad():
        first, second = model(x), model(x)
    assert torch.equal(first, second)


def test_plain_network_has_no_shortcuts() -> None:
    """With its convolutions zeroed, a residual block passes its (non-negative) input through; a plain one outputs zeros."""
    x = torch.rand(1, 8, 10, 12)
    for plain, expected in ((False, x), (True, torch.zeros_like(x))):
        block = BasicBlock(8, 8, plain=plain).eval()
        with torch.no_grad():
            block.conv1.weight.zero_()
            block.conv2.weight.zero_()
            torch.testing.assert_close(block(x), expected)
    residual, plain = resnet10(width=8), resnet10(width=8, plain=True)
    shortcuts = [m for name, m in residual.named_modules() if name.endswith("downsample")]
    assert len(shortcuts) == 3 and not any(name.endswith("downsample") for name, _ in plain.named_modules())
    assert count(residual) - count(plain) == sum(count(m) for m in shortcuts)


def test_stage_shapes_follow_the_speaker_strides() -> None:
    """Stem stride 1, stages 1/2/2/2: 80 mel x 200 frames -> (8 * width) x 10 x 25."""
    model = resnet10(width=8, n_mels=80)
    feature_map, _ = model.forward_features(torch.randn(1, 1, 80, 200))
    assert feature_map.shape == (1, 64, 10, 25)


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="depth 12"):
        speaker_resnet(12)
    with pytest.raises(ValueError, match=r"\(batch, 80, frames\)"):
        resnet10(width=8)(torch.randn(1, 40, 100))
    with pytest.raises(ValueError, match="freq_pooling"):
        resnet10(width=8, freq_pooling="max")
    with pytest.raises(ValueError, match="arch"):
        build_model(ModelConfig(arch="transformer"))


@pytest.mark.parametrize("depth, blocks", [(10, [1, 1, 1, 1]), (18, [2, 2, 2, 2]), (34, [3, 4, 6, 3]), (50, [3, 4, 6, 3])])
def test_the_factories_are_documented_functions_like_torchvision(depth, blocks):
    import inspect

    from labkit import models

    factory = getattr(models, f"resnet{depth}")
    assert inspect.isfunction(factory) and factory.__name__ == f"resnet{depth}" and factory.__doc__
    network = factory(width=4, n_mels=24, embed_dim=8)
    assert [len(stage) for stage in (network.layer1, network.layer2, network.layer3, network.layer4)] == blocks
