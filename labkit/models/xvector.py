"""The x-vector network of Snyder et al., "X-vectors: robust DNN embeddings for speaker recognition" (ICASSP 2018).

A time-delay neural network (TDNN) reads a window of frames around each time step; statistics
pooling turns the variable number of frame vectors into one utterance vector; two "segment"
layers follow. Table 1 of the paper, for F features per frame and T frames:

    layer      context           total context  input x output
    frame1     [t-2, t+2]         5             5F x 512
    frame2     {t-2, t, t+2}      9             1536 x 512
    frame3     {t-3, t, t+3}      15            1536 x 512
    frame4     {t}                15            512 x 512
    frame5     {t}                15            512 x 1500
    stats      [0, T)             T             1500T x 3000
    segment6   {0}                T             3000 x 512   <- the x-vector (before its ReLU)
    segment7   {0}                T             512 x 512
    softmax    {0}                T             512 x N      (the loss in labkit.models.losses)

A context {t-d, t, t+d} is a 1-D convolution with kernel 3 and dilation d, without padding, so
the network sees 15 frames per output frame and gives T - 14 frame vectors.
"""

from __future__ import annotations

from torch import Tensor, nn

from labkit.models.pooling import TSTP

RECEPTIVE_FIELD = 15  # frames one frame5 output sees: 1 + 2 * (2 + 2 + 3)


class TDNNLayer(nn.Module):
    """One frame-level layer: a dilated 1-D convolution over time, then ReLU and batch norm (Kaldi's order)."""

    def __init__(self, in_dim: int, out_dim: int, kernel_size: int, dilation: int = 1) -> None:
        super().__init__()
        self.context = (kernel_size - 1) * dilation  # frames lost at the edges: no padding, as in the paper
        self.conv = nn.Conv1d(in_dim, out_dim, kernel_size, dilation=dilation)
        self.relu = nn.ReLU(inplace=True)
        self.bn = nn.BatchNorm1d(out_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.relu(self.conv(x)))


class XVector(nn.Module):
    """Encoder (B, n_mels, frames) features + frame lengths -> (B, embed_dim) x-vectors.

    In training mode the output goes on through segment7, whose output the classifier sees, as in
    the paper; in eval mode the output is segment6's affine output, the x-vector itself.
    """

    def __init__(self, n_mels: int = 30, embed_dim: int = 512, hidden: int = 512, stats_dim: int = 1500) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.frame1 = TDNNLayer(n_mels, hidden, kernel_size=5)  # [t-2, t+2]
        self.frame2 = TDNNLayer(hidden, hidden, kernel_size=3, dilation=2)  # {t-2, t, t+2}
        self.frame3 = TDNNLayer(hidden, hidden, kernel_size=3, dilation=3)  # {t-3, t, t+3}
        self.frame4 = TDNNLayer(hidden, hidden, kernel_size=1)  # {t}
        self.frame5 = TDNNLayer(hidden, stats_dim, kernel_size=1)  # {t}
        self.pooling = TSTP(stats_dim)  # mean and standard deviation over the valid frames
        self.segment6 = nn.Linear(self.pooling.out_dim, embed_dim)
        self.segment7 = nn.Sequential(  # segment6's ReLU + BN, then segment7: used in training only
            nn.ReLU(), nn.BatchNorm1d(embed_dim), nn.Linear(embed_dim, embed_dim), nn.ReLU(), nn.BatchNorm1d(embed_dim)
        )

    def frame_layers(self) -> list[TDNNLayer]:
        """frame1 .. frame5, in order."""
        return [self.frame1, self.frame2, self.frame3, self.frame4, self.frame5]

    def forward(self, feats: Tensor, lengths: Tensor | None = None) -> Tensor:
        shortest = feats.shape[-1] if lengths is None else int(lengths.min())
        if shortest < RECEPTIVE_FIELD:
            raise ValueError(f"the x-vector needs at least {RECEPTIVE_FIELD} frames per utterance, got {shortest}")
        x = feats
        for layer in self.frame_layers():
            x = layer(x)
            lengths = None if lengths is None else lengths - layer.context  # valid outputs only saw valid inputs
        embedding = self.segment6(self.pooling(x, lengths))
        return self.segment7(embedding) if self.training else embedding
