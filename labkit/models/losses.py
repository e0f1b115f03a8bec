"""Training losses over speaker embeddings: forward(embeddings, labels) -> (loss, accuracy).

* ``softmax``: a linear classifier and cross-entropy.
* ``am`` (additive margin, CosFace): cosine classifier, target logit s (cos θ - m).
* ``aam`` (additive angular margin, ArcFace): cosine classifier, target logit s cos(θ + m).
* ``angleproto`` (angular prototypical, voxceleb_trainer): no classifier; each speaker of the batch
  is a class, its prototype the mean of its other utterances (needs M >= 2 utterances per speaker).

θ is the angle between an embedding and its speaker's weight vector. The margin makes the
target class harder to win during training, which pulls each speaker's embeddings together.
``set_epoch(epoch)`` drives the margin warm-up: the margin grows linearly from 0 to its value.

Every loss is a cross-entropy over some classes (all training speakers, or the speakers of the
batch), so each one says what its ``logits(embeddings, labels)`` and their targets are, and
``SpeakerLoss.forward`` turns them into the loss and the fraction of rows whose top logit is the
target: the training loop never needs to know which classes a loss uses.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from labkit.config import LossConfig

COSINE_LIMIT = 1.0 - 1e-7  # acos has an infinite slope at ±1; stay just inside to keep gradients finite


class SpeakerLoss(nn.Module):
    """Cross-entropy over the classes of ``logits()``; ``forward`` returns (loss, accuracy), both 0-d tensors."""

    def set_epoch(self, epoch: float) -> None:
        """Called with the fractional epoch before every step; only margin losses use it."""

    def logits(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """(rows, classes) logits in float32 and the target class of each row."""
        raise NotImplementedError

    def forward(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        logits, targets = self.logits(embeddings, labels)
        accuracy = (logits.detach().argmax(dim=1) == targets).float().mean()  # stays on the device: no sync
        return F.cross_entropy(logits, targets), accuracy


class SoftmaxLoss(SpeakerLoss):
    """Plain softmax: logits = W x + b, cross-entropy over the training speakers."""

    def __init__(self, embed_dim: int, n_classes: int) -> None:
        super().__init__()
        self.classifier = nn.Linear(embed_dim, n_classes)

    def logits(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        with torch.autocast(device_type=embeddings.device.type, enabled=False):  # the loss in float32 under AMP
            return self.classifier(embeddings.float()), labels


class MarginSoftmax(SpeakerLoss):
    """Cosine classifier with a margin on the target class.

    logits[i, j] = s cos θ_ij for j != label_i, and for the target class
    s (cos θ - m) (``kind="am"``) or s cos(θ + m) (``kind="aam"``).
    For AAM past θ = π - m, cos(θ + m) would rise again, so the logit continues as
    s (cos θ - m sin m) (ArcFace's fix); ``easy_margin`` instead applies the margin only where cos θ > 0.
    """

    def __init__(
        self, embed_dim: int, n_classes: int, kind: str = "aam", scale: float = 30.0, margin: float = 0.2,
        easy_margin: bool = False, margin_warmup_epochs: float = 0.0,
    ) -> None:
        super().__init__()
        if kind not in ("am", "aam"):
            raise ValueError(f"unknown margin kind {kind!r}; expected 'am' or 'aam'")
        self.kind, self.scale, self.easy_margin = kind, scale, easy_margin
        self.full_margin, self.margin_warmup_epochs = margin, margin_warmup_epochs
        self.weight = nn.Parameter(torch.empty(n_classes, embed_dim))  # one direction per training speaker
        nn.init.xavier_normal_(self.weight)
        self.set_epoch(0.0)

    def set_epoch(self, epoch: float) -> None:
        """Margin warm-up: the margin grows linearly from 0 to its full value over ``margin_warmup_epochs``."""
        progress = 1.0 if self.margin_warmup_epochs <= 0 else min(1.0, epoch / self.margin_warmup_epochs)
        self.margin = self.full_margin * progress

    def target_logit(self, cosine: Tensor) -> Tensor:
        """The target class's cosine after the margin (before scaling)."""
        m = self.margin
        if self.kind == "am":
            return cosine - m
        theta = torch.acos(cosine.clamp(-COSINE_LIMIT, COSINE_LIMIT))
        with_margin = torch.cos(theta + m)
        if self.easy_margin:
            return torch.where(cosine > 0, with_margin, cosine)
        return torch.where(theta + m <= math.pi, with_margin, cosine - m * math.sin(m))

    def logits(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        with torch.autocast(device_type=embeddings.device.type, enabled=False):  # margins need float32 near cos = ±1
            cosine = F.normalize(embeddings.float()) @ F.normalize(self.weight.float()).T  # (B, n_classes)
            target = self.target_logit(cosine.gather(1, labels.unsqueeze(1)))
            return self.scale * cosine.scatter(1, labels.unsqueeze(1), target), labels


class AngularPrototypical(SpeakerLoss):
    """Angular prototypical loss (Chung et al. 2020): the batch holds N speakers x M >= 2 utterances.

    Each speaker's first utterance is a query, the mean of its other utterances its prototype;
    logits[i, j] = w cos(query_i, prototype_j) + b (w, b learned) and the target of query i is speaker i.
    The logits are therefore (N, N), over the speakers of the batch, not over all training speakers:
    it needs ``data.sampler: balanced`` (see ``labkit.config.validate``).
    """

    def __init__(self, init_scale: float = 10.0, init_bias: float = -5.0) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(init_scale))
        self.b = nn.Parameter(torch.tensor(init_bias))

    def logits(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        speakers, counts = torch.unique(labels, return_counts=True)
        per_speaker = int(counts[0])
        if per_speaker < 2 or not torch.all(counts == per_speaker):
            raise ValueError(f"angular prototypical loss needs M >= 2 utterances of every speaker in a batch, got counts {counts.tolist()}")
        grouped = embeddings.float()[torch.argsort(labels, stable=True)].view(len(speakers), per_speaker, -1)
        query, prototype = grouped[:, 0], grouped[:, 1:].mean(dim=1)
        with torch.autocast(device_type=embeddings.device.type, enabled=False):  # cosines in float32 under AMP
            cosine = F.normalize(query, dim=-1) @ F.normalize(prototype, dim=-1).T  # (N, N)
            logits = self.w.clamp(min=1e-6) * cosine + self.b  # the scale must stay positive
        return logits, torch.arange(len(speakers), device=logits.device)


def build_loss(config: LossConfig, embed_dim: int, n_classes: int) -> SpeakerLoss:
    """The loss described by ``config`` for ``embed_dim``-d embeddings of ``n_classes`` training speakers."""
    if config.kind == "softmax":
        return SoftmaxLoss(embed_dim, n_classes)
    if config.kind in ("am", "aam"):
        return MarginSoftmax(
            embed_dim, n_classes, config.kind, config.scale, config.margin, config.easy_margin, config.margin_warmup_epochs
        )
    if config.kind == "angleproto":
        return AngularPrototypical()
    raise ValueError(f"unknown loss {config.kind!r}; expected 'softmax', 'am', 'aam' or 'angleproto'")
