"""ResNets for speaker embeddings, written like torchvision's ``models/resnet.py``.

A ResNet is a *stem* (one convolution), four *stages* of residual blocks built by ``_make_layer``
(stage k = 1..4 has ``width * 2**(k-1)`` channels; stages 2-4 halve the resolution), and a *head*.

* ``SpeakerResNet`` reads log-mel features as a one-channel image (1 x n_mels x frames). Its head
  folds frequency into channels, pools over time (``labkit.models.pooling``) and projects to the
  embedding. Thin widths (16 or 32), a 3x3 stride-1 stem and no max-pool keep the small
  time-frequency image detailed (WeSpeaker, voxceleb_trainer).
* ``ImageNetResNet`` is the original paper's classifier (3 x 224 x 224 -> 1000 classes, 7x7/2
  stem + max-pool, width 64): it reproduces the parameters and multiply-adds of the seed table.

Depth 10 has one block per stage; 18 and 34 use ``BasicBlock``, 50+ ``Bottleneck`` (see
``ARCHITECTURES``). ``plain=True`` removes every shortcut (the paper's "plain network"), and
``squeeze_excitation=True`` rescales each block's channels by a learned gate.

Padding: with ``lengths`` (valid frames of each row in a zero-padded batch), every row's padded
frames are set back to zero before each 3x3 convolution and ignored by squeeze-excitation and
pooling, so a row embedded inside a batch gets exactly the embedding it would get alone.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from labkit.models.pooling import build_pooling, frame_mask


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 (no bias: a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution (no bias: a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def bn_relu(x: Tensor, bn: nn.Module, relu: nn.Module, relu_first: bool) -> Tensor:
    """After a convolution: relu(bn(x)) as torchvision and WeSpeaker do, or, with ``relu_first``, bn(relu(x)) as
    voxceleb_trainer does. The same weights give different outputs, so the loader must know which."""
    return bn(relu(x)) if relu_first else relu(bn(x))


def masked(x: Tensor, mask: Tensor | None) -> Tensor:
    """Zero the padded frames (``mask``: (B, 1, 1, frames) of 0/1), as a lone utterance's zero padding would be."""
    return x if mask is None else x * mask.to(x.dtype)  # same dtype: no float32 copies under autocast


def stride_mask(mask: Tensor | None, stride: int) -> Tensor | None:
    """The frame mask after a convolution with this time stride: output frame t is valid iff input frame t*stride is."""
    return mask if mask is None or stride == 1 else mask[..., ::stride]


SE_REDUCTION = 8  # the squeeze-excitation bottleneck has channels / 8 units


class SqueezeExcitation(nn.Module):
    """Channel gate: average each channel over frequency and (valid) time, pass through a bottleneck MLP and a
    sigmoid, and rescale the channels by the result."""

    def __init__(self, channels: int, reduction: int = SE_REDUCTION) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction),
            nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is None:
            squeezed = x.mean(dim=(2, 3))
        else:  # average over valid frames only
            squeezed = masked(x, mask).sum(dim=(2, 3)) / (mask.sum(dim=(2, 3)) * x.shape[2])
        return x * self.fc(squeezed)[:, :, None, None]


class ResidualBlock(nn.Module):
    """What BasicBlock and Bottleneck share: the squeeze-excitation gate, the shortcut and the last ReLU."""

    expansion = 1  # output channels = planes * expansion

    def __init__(
        self, channels: int, stride: int, downsample: nn.Module | None, squeeze_excitation: bool, plain: bool,
        relu_before_bn: bool,
    ) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=True)
        self.se = SqueezeExcitation(channels) if squeeze_excitation else None
        self.downsample = downsample  # 1x1 convolution + BN when the shape changes
        self.stride = stride
        self.plain = plain
        self.relu_before_bn = relu_before_bn

    def _finish(self, out: Tensor, x: Tensor, out_mask: Tensor | None) -> Tensor:
        """Gate the channels, add the shortcut (none in a plain network), ReLU."""
        if self.se is not None:
            out = self.se(out, out_mask)
        if not self.plain:
            out = out + (x if self.downsample is None else self.downsample(x))  # the shortcut: F(x) + x
        return masked(self.relu(out), out_mask)


class BasicBlock(ResidualBlock):
    """Two 3x3 convolutions plus a shortcut: out = relu(bn2(conv2(relu(bn1(conv1(x))))) + x)."""

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
        squeeze_excitation: bool = False, plain: bool = False, relu_before_bn: bool = False,
    ) -> None:
        super().__init__(planes, stride, downsample, squeeze_excitation, plain, relu_before_bn)
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        out_mask = stride_mask(mask, self.stride)
        out = bn_relu(self.conv1(x), self.bn1, self.relu, self.relu_before_bn)
        out = self.bn2(self.conv2(masked(out, out_mask)))
        return self._finish(out, x, out_mask)


class Bottleneck(ResidualBlock):
    """1x1 (reduce) -> 3x3 -> 1x1 (expand x4) convolutions plus a shortcut; cheaper than two 3x3 at high width."""

    expansion = 4
    stride_in_1x1 = False  # the 3x3 convolution strides (torchvision "v1.5", WeSpeaker)

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
        squeeze_excitation: bool = False, plain: bool = False, relu_before_bn: bool = False,
    ) -> None:
        super().__init__(planes * self.expansion, stride, downsample, squeeze_excitation, plain, relu_before_bn)
        stride_1x1, stride_3x3 = (stride, 1) if self.stride_in_1x1 else (1, stride)
        self.conv1 = conv1x1(inplanes, planes, stride_1x1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride_3x3)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        out = bn_relu(self.conv1(x), self.bn1, self.relu, self.relu_before_bn)
        out = masked(out, stride_mask(mask, self.stride if self.stride_in_1x1 else 1))
        out = bn_relu(self.conv2(out), self.bn2, self.relu, self.relu_before_bn)
        out = self.bn3(self.conv3(out))
        return self._finish(out, x, stride_mask(mask, self.stride))


class OriginalBottleneck(Bottleneck):
    """The ResNet paper's bottleneck: the first 1x1 convolution strides (fewer multiply-adds: the seed table)."""

    stride_in_1x1 = True


class ResNet(nn.Module):
    """Stem + four stages of residual blocks: torchvision's ResNet without its classifier head.

    ``forward_features`` maps (B, in_channels, H, W) to (B, 8 * width * expansion, H', W'); the
    subclasses add a head. A stem with ``stem_relu_first`` has a bias and applies ReLU before its
    BatchNorm (voxceleb_trainer's ResNetSE34V2).
    """

    def __init__(
        self, block: type[ResidualBlock], layers: list[int], width: int = 64, in_channels: int = 1,
        stem_kernel: int = 3, stem_stride: tuple[int, int] = (1, 1), stem_relu_first: bool = False,
        stem_pool: bool = False, strides: tuple[int, int, int, int] = (1, 2, 2, 2),
        squeeze_excitation: bool = False, plain: bool = False, relu_before_bn: bool = False,
    ) -> None:
        super().__init__()
        self.inplanes = width
        self.stem_stride = stem_stride
        self.stem_relu_first = stem_relu_first
        self.conv1 = nn.Conv2d(
            in_channels, width, stem_kernel, stride=stem_stride, padding=stem_kernel // 2, bias=stem_relu_first
        )  # a bias is only useful when no BatchNorm follows directly
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if stem_pool else None
        options = dict(squeeze_excitation=squeeze_excitation, plain=plain, relu_before_bn=relu_before_bn)
        self.layer1 = self._make_layer(block, width, layers[0], strides[0], **options)
        self.layer2 = self._make_layer(block, width * 2, layers[1], strides[1], **options)
        self.layer3 = self._make_layer(block, width * 4, layers[2], strides[2], **options)
        self.layer4 = self._make_layer(block, width * 8, layers[3], strides[3], **options)
        self.out_channels = width * 8 * block.expansion

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(
        self, block: type[ResidualBlock], planes: int, blocks: int, stride: int, plain: bool, **options: Any
    ) -> nn.Sequential:
        """One stage: ``blocks`` blocks of ``planes`` channels; the first one strides and changes the width."""
        downsample = None
        if not plain and (stride != 1 or self.inplanes != planes * block.expansion):
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),  # projection shortcut
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, plain=plain, **options)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, plain=plain, **options) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Stem and stages: feature map and the frame mask (B, 1, 1, frames') at its resolution (None if no mask)."""
        x = bn_relu(self.conv1(x), self.bn1, self.relu, self.stem_relu_first)
        mask = stride_mask(mask, self.stem_stride[1])
        if self.maxpool is not None:
            x = self.maxpool(x)
            mask = stride_mask(mask, 2)
        x = masked(x, mask)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                x = block(x, mask)
                mask = stride_mask(mask, block.stride)
        return x, mask


class SpeakerResNet(ResNet):
    """Log-mel features (B, n_mels, frames) -> speaker embedding (B, embed_dim).

    Head: ``freq_pooling="flatten"`` stacks the remaining frequency bins into channels (WeSpeaker,
    ResNetSE34V2), ``"mean"`` averages them out (ResNetSE34L); then pooling over time and a linear
    embedding layer (``two_embed_layers``: ReLU, BatchNorm and a second linear layer, as WeSpeaker).
    The stem strides ``stem_stride`` along frequency only; stage 4 strides ``layer4_stride``.
    """

    def __init__(
        self, block: type[ResidualBlock], layers: list[int], n_mels: int = 80, width: int = 32,
        pooling: str = "tstp", embed_dim: int = 256, two_embed_layers: bool = False, freq_pooling: str = "flatten",
        stem_kernel: int = 3, stem_stride: int = 1, stem_relu_first: bool = False, layer4_stride: int = 2,
        squeeze_excitation: bool = False, plain: bool = False, relu_before_bn: bool = False,
    ) -> None:
        strides = (1, 2, 2, layer4_stride)
        super().__init__(
            block, layers, width, in_channels=1, stem_kernel=stem_kernel, stem_stride=(stem_stride, 1),
            stem_relu_first=stem_relu_first, strides=strides, squeeze_excitation=squeeze_excitation, plain=plain,
            relu_before_bn=relu_before_bn,
        )
        if freq_pooling not in ("flatten", "mean"):
            raise ValueError(f"unknown freq_pooling {freq_pooling!r}; expected 'flatten' or 'mean'")
        self.n_mels = n_mels
        self.freq_pooling = freq_pooling
        self.embed_dim = embed_dim
        out_freq = n_mels
        for stride in (stem_stride, *strides):
            out_freq = (out_freq - 1) // stride + 1  # bins left after each strided convolution
        self.pool = build_pooling(pooling, self.out_channels * (out_freq if freq_pooling == "flatten" else 1))
        self.embedding = nn.Linear(self.pool.out_dim, embed_dim)
        self.embedding_bn = nn.BatchNorm1d(embed_dim, affine=False) if two_embed_layers else None
        self.embedding2 = nn.Linear(embed_dim, embed_dim) if two_embed_layers else None

    def forward(self, feats: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``feats`` (B, n_mels, frames), ``lengths`` valid frames per row (or None) -> (B, embed_dim)."""
        if feats.dim() != 3 or feats.shape[1] != self.n_mels:
            raise ValueError(f"expected features shaped (batch, {self.n_mels}, frames), got {tuple(feats.shape)}")
        mask = None
        if lengths is not None:
            mask = frame_mask(lengths, feats.shape[-1], feats.device)[:, None, None, :].to(feats.dtype)
        x, mask = self.forward_features(masked(feats.unsqueeze(1), mask), mask)  # (B, C, F', T')
        x = x.flatten(1, 2) if self.freq_pooling == "flatten" else x.mean(dim=2)  # (B, D, T')
        frame_lengths = None if mask is None else mask.sum(dim=-1).flatten().long()
        embedding = self.embedding(self.pool(x, frame_lengths))
        if self.embedding2 is not None:
            embedding = self.embedding2(self.embedding_bn(torch.relu(embedding)))
        return embedding


class ImageNetResNet(ResNet):
    """The ResNet paper's ImageNet classifier: (B, 3, 224, 224) -> (B, num_classes) logits."""

    def __init__(self, block: type[ResidualBlock], layers: list[int], num_classes: int = 1000) -> None:
        block = OriginalBottleneck if block is Bottleneck else block
        super().__init__(block, layers, width=64, in_channels=3, stem_kernel=7, stem_stride=(2, 2), stem_pool=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.out_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x, _ = self.forward_features(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


ARCHITECTURES: dict[int, tuple[type[ResidualBlock], list[int]]] = {
    10: (BasicBlock, [1, 1, 1, 1]),
    18: (BasicBlock, [2, 2, 2, 2]),
    34: (BasicBlock, [3, 4, 6, 3]),
    50: (Bottleneck, [3, 4, 6, 3]),
    101: (Bottleneck, [3, 4, 23, 3]),
    152: (Bottleneck, [3, 8, 36, 3]),
    221: (Bottleneck, [6, 16, 48, 3]),  # WeSpeaker's deeper variants
    293: (Bottleneck, [10, 20, 64, 3]),
}


def _architecture(depth: int) -> tuple[type[ResidualBlock], list[int]]:
    if depth not in ARCHITECTURES:
        raise ValueError(f"no ResNet of depth {depth}; expected one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[depth]


def speaker_resnet(depth: int, **kwargs: Any) -> SpeakerResNet:
    """A speaker ResNet of the given depth; ``kwargs`` go to ``SpeakerResNet`` (width, n_mels, pooling, ...)."""
    return SpeakerResNet(*_architecture(depth), **kwargs)


def imagenet_resnet(depth: int, num_classes: int = 1000) -> ImageNetResNet:
    """The paper's ImageNet ResNet of the given depth (18, 34, 50, 101 or 152)."""
    return ImageNetResNet(*_architecture(depth), num_classes=num_classes)


# The factories, as in torchvision's resnet.py. They build encoders that take features (B, n_mels, frames);
# build_model(ModelConfig(depth=34, width=32)) adds the front-end.


def resnet10(**kwargs: Any) -> SpeakerResNet:
    """ResNet-10: one basic block per stage (1-1-1-1), the smallest network of the lab.

    ``kwargs`` go to ``SpeakerResNet`` (``width``, ``n_mels``, ``pooling``, ``embed_dim``, ...).
    """
    return speaker_resnet(10, **kwargs)


def resnet18(**kwargs: Any) -> SpeakerResNet:
    """ResNet-18: 2-2-2-2 basic blocks. ``kwargs`` go to ``SpeakerResNet``."""
    return speaker_resnet(18, **kwargs)


def resnet34(**kwargs: Any) -> SpeakerResNet:
    """ResNet-34: 3-4-6-3 basic blocks; ``resnet34(width=32, n_mels=80)`` is WeSpeaker's ResNet34. ``kwargs`` go to ``SpeakerResNet``."""
    return speaker_resnet(34, **kwargs)


def resnet50(**kwargs: Any) -> SpeakerResNet:
    """ResNet-50: 3-4-6-3 bottleneck blocks. ``kwargs`` go to ``SpeakerResNet``."""
    return speaker_resnet(50, **kwargs)


def resnet101(**kwargs: Any) -> SpeakerResNet:
    """ResNet-101: 3-4-23-3 bottleneck blocks. ``kwargs`` go to ``SpeakerResNet``."""
    return speaker_resnet(101, **kwargs)


def resnet152(**kwargs: Any) -> SpeakerResNet:
    """ResNet-152: 3-8-36-3 bottleneck blocks. ``kwargs`` go to ``SpeakerResNet``."""
    return speaker_resnet(152, **kwargs)
