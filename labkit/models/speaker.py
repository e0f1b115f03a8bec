"""The speaker model: front-end -> encoder (ResNet or x-vector) -> embedding, one ``nn.Module`` from waveform on.

``build_model(ModelConfig(...))`` builds it; ``labkit.models.checkpoints`` saves and loads it.
"""

from __future__ import annotations

from torch import Tensor, nn

from labkit.config import ModelConfig
from labkit.features import build_frontend
from labkit.models.resnet import speaker_resnet
from labkit.models.xvector import XVector


class SpeakerModel(nn.Module):
    """Waveforms (B, samples), float32 in [-1, 1] -> speaker embeddings (B, embed_dim).

    ``frontend`` turns the waveforms into (B, n_mels, frames) features, ``encoder`` turns those
    (with the valid frames per row) into embeddings; ``config`` is the ``ModelConfig`` it was built from.
    Call ``model.eval()`` before extracting embeddings: besides BatchNorm, the x-vector's output
    depends on the mode (segment7 in training, as the paper's classifier sees it; the x-vector,
    segment6, in eval mode).
    """

    def __init__(self, config: ModelConfig, frontend: nn.Module, encoder: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.frontend = frontend
        self.encoder = encoder
        self.embed_dim: int = encoder.embed_dim

    def forward(self, wav: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``lengths``: valid samples per row of a zero-padded batch (None: every row is full)."""
        feats, frame_lengths = self.frontend(wav, lengths)
        return self.encoder(feats, frame_lengths)


def build_encoder(config: ModelConfig) -> nn.Module:
    """The encoder of ``config``: (B, n_mels, frames) features + frame lengths -> (B, embed_dim)."""
    n_mels = config.frontend.n_mels
    if config.arch == "xvector":
        return XVector(n_mels=n_mels, embed_dim=config.embed_dim)
    if config.arch != "resnet":
        raise ValueError(f"unknown model arch {config.arch!r}; expected 'resnet' or 'xvector'")
    return speaker_resnet(
        config.depth, n_mels=n_mels, width=config.width, pooling=config.pooling, embed_dim=config.embed_dim,
        two_embed_layers=config.two_embed_layers, freq_pooling=config.freq_pooling, stem_kernel=config.stem_kernel,
        stem_stride=config.stem_stride, stem_relu_first=config.stem_relu_first, layer4_stride=config.layer4_stride,
        squeeze_excitation=config.squeeze_excitation, plain=config.plain, relu_before_bn=config.relu_before_bn,
    )


def build_model(config: ModelConfig) -> SpeakerModel:
    """The speaker model described by ``config`` (randomly initialised)."""
    return SpeakerModel(config, build_frontend(config.frontend), build_encoder(config))
