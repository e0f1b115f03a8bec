"""Pooling: a variable number of frame vectors (B, D, T) -> one fixed-size vector per utterance.

Three recipes, each as the toolkit whose checkpoints we load computes it:

* ``TSTP`` temporal statistics (x-vector, WeSpeaker): mean and standard deviation of each channel.
* ``SAP`` self-attentive pooling (voxceleb_trainer ResNetSE34L): one learned weight per frame,
  shared by all channels; the output is the weighted mean.
* ``ASP`` attentive statistics (voxceleb_trainer ResNetSE34V2): one learned weight per frame *and*
  channel; the output is the weighted mean and weighted standard deviation.

All take ``lengths`` (valid frames per row of a zero-padded batch): padded frames get no weight,
so a row pooled inside a batch gives the same vector as the row pooled alone.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def frame_mask(lengths: Tensor | None, frames: int, device: torch.device) -> Tensor:
    """(B, frames) booleans, True on each row's valid frames (all True when ``lengths`` is None)."""
    if lengths is None:
        return torch.ones(1, frames, dtype=torch.bool, device=device)
    return torch.arange(frames, device=device) < lengths.to(device).unsqueeze(1)


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over the last axis, with padded frames (mask False) getting exactly zero weight."""
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


class TSTP(nn.Module):
    """Temporal statistics pooling: [mean, std] of each of ``in_dim`` channels over time -> 2 * in_dim."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = 2 * in_dim

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        mask = frame_mask(lengths, x.shape[-1], x.device).unsqueeze(1)  # (B, 1, T)
        count = mask.sum(dim=-1)
        mean = x.masked_fill(~mask, 0).sum(dim=-1) / count
        squares = (x - mean.unsqueeze(-1)).masked_fill(~mask, 0).pow(2).sum(dim=-1)
        variance = squares / (count - 1).clamp(min=1)  # unbiased, as torch.var in WeSpeaker
        return torch.cat([mean, torch.sqrt(variance + 1e-8)], dim=1)


class SAP(nn.Module):
    """Self-attentive pooling: frame weights softmax(v . tanh(W x_t + b)) over time; output sum_t w_t x_t."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = in_dim
        self.linear = nn.Linear(in_dim, in_dim)
        self.attention = nn.Parameter(torch.empty(in_dim, 1))  # the "context vector" v
        nn.init.xavier_normal_(self.attention)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        mask = frame_mask(lengths, x.shape[-1], x.device)  # (B, T)
        hidden = torch.tanh(self.linear(x.transpose(1, 2)))  # (B, T, D)
        weights = masked_softmax((hidden @ self.attention).squeeze(-1), mask)  # (B, T), one weight per frame
        return (x.masked_fill(~mask.unsqueeze(1), 0) * weights.unsqueeze(1)).sum(dim=-1)


class ASP(nn.Module):
    """Attentive statistics pooling: a small 1x1-conv network gives each channel its own weights over time;
    output [weighted mean, weighted std] -> 2 * in_dim."""

    def __init__(self, in_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.out_dim = 2 * in_dim
        self.attention = nn.Sequential(
            nn.Conv1d(in_dim, hidden, kernel_size=1),
            nn.ReLU(),
            nn.BatchNorm1d(hidden),
            nn.Conv1d(hidden, in_dim, kernel_size=1),
        )

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        mask = frame_mask(lengths, x.shape[-1], x.device).unsqueeze(1)  # (B, 1, T)
        x = x.masked_fill(~mask, 0)
        weights = masked_softmax(self.attention(x), mask)  # (B, D, T), per channel
        mean = (x * weights).sum(dim=-1)
        variance = (x.pow(2) * weights).sum(dim=-1) - mean.pow(2)
        return torch.cat([mean, torch.sqrt(variance.clamp(min=1e-5))], dim=1)


POOLINGS: dict[str, type[nn.Module]] = {"tstp": TSTP, "sap": SAP, "asp": ASP}


def build_pooling(name: str, in_dim: int) -> nn.Module:
    """The pooling layer called ``name`` ("tstp", "sap" or "asp") for ``in_dim`` channels."""
    if name not in POOLINGS:
        raise ValueError(f"unknown pooling {name!r}; expected one of {sorted(POOLINGS)}")
    return POOLINGS[name](in_dim)
