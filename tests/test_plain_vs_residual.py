"""labkit.plain_vs_residual: the same ResNet-34 with and without shortcuts, on the tiny corpus."""

from __future__ import annotations

import pytest
import torch

from labkit.config import ModelConfig
from labkit.models import build_model
from labkit.plain_vs_residual import blocks, compare, figure, without_batch_norm


def test_without_batch_norm_leaves_no_batch_norm_and_the_same_convolutions():
    model = build_model(ModelConfig(depth=18, width=8))
    convolutions = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    without_batch_norm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == convolutions
    assert [name for name, _ in blocks(model)] == ["layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1", "layer4.0", "layer4.1"]


@pytest.mark.slow
def test_plain_network_gradient_and_loss_against_the_residual_one(tiny_corpus):
    from labkit.data.voxceleb import read_train_list

    result = compare(read_train_list(tiny_corpus / "meta" / "train_list.txt", tiny_corpus), steps=25)
    assert len(result.gradients) == 4 * 16  # 2 networks x with/without BN x 16 blocks of ResNet-34
    # Without batch normalisation (the VGG era) the plain network's gradient at its first block all but vanishes.
    plain, residual = result.early_block_norm("plain", batch_norm=False), result.early_block_norm("residual", batch_norm=False)
    assert plain < residual / 100  # measured: 0.013 vs 62
    # With batch normalisation it does not vanish: at initialisation it is even larger (the ResNet paper's remark) ...
    assert result.early_block_norm("plain", batch_norm=True) > result.early_block_norm("residual", batch_norm=True)
    # The first training losses of both, on identical batches (which is ahead after so few steps depends on the data).
    losses = result.losses.pivot(index="step", columns="network", values="loss")
    assert list(losses.index) == list(range(1, 26)) and losses.notna().all().all()
    assert len(figure(result).axes) == 2
