"""labkit.models.losses: margins checked against formulas computed independently here."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labkit.config import LossConfig
from labkit.models.losses import AngularPrototypical, MarginSoftmax, SoftmaxLoss, build_loss


def cosines_and_angles(loss: MarginSoftmax, embeddings: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """cos θ and θ between each embedding and each class weight, in float64 numpy."""
    x = embeddings.detach().double().numpy()
    w = loss.weight.detach().double().numpy()
    cosine = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=1, keepdims=True)).T
    return cosine, np.arccos(cosine)


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean of -log softmax(logits)[target], in float64 numpy."""
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(targets)), targets].mean())


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(16, 8, generator=generator), torch.arange(16) % 5


@pytest.mark.parametrize("kind", ["am", "aam"])
def test_target_logit_has_the_margin_and_others_do_not(batch, kind):
    embeddings, labels = batch
    loss = MarginSoftmax(8, 5, kind=kind, scale=30.0, margin=0.2)
    value, _ = loss(embeddings, labels)
    logits, _ = loss.logits(embeddings, labels)
    cosine, theta = cosines_and_angles(loss, embeddings)
    rows = np.arange(16)
    target = 30.0 * (np.cos(theta[rows, labels] + 0.2) if kind == "aam" else cosine[rows, labels] - 0.2)
    assert np.all(theta[rows, labels] + 0.2 < math.pi)  # the plain ArcFace branch applies to all rows
    np.testing.assert_allclose(logits.detach().numpy()[rows, labels], target, atol=1e-4)
    others = np.ones_like(cosine, dtype=bool)
    others[rows, labels] = False
    np.testing.assert_allclose(logits.detach().numpy()[others], 30.0 * cosine[others], atol=1e-4)
    assert value.item() == pytest.approx(cross_entropy(logits.detach().double().numpy(), labels.numpy()), rel=1e-6)


@pytest.mark.parametrize("kind", ["am", "aam"])
def test_margin_zero_is_normalised_softmax(batch, kind):
    embeddings, labels = batch
    loss = MarginSoftmax(8, 5, kind=kind, scale=10.0, margin=0.0)
    value, _ = loss(embeddings, labels)
    cosine, _ = cosines_and_angles(loss, embeddings)
    assert value.item() == pytest.approx(cross_entropy(10.0 * cosine, labels.numpy()), rel=1e-5)


def test_aam_past_pi_minus_m_keeps_decreasing():
    loss = MarginSoftmax(2, 2, kind="aam", scale=1.0, margin=0.5)
    with torch.no_grad():
        loss.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    angles = torch.tensor([0.5, 2.5, 3.0])  # only 3.0 is past π - 0.5 = 2.64
    embeddings = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    logits, _ = loss.logits(embeddings, torch.zeros(3, dtype=torch.long))
    expected = [math.cos(0.5 + 0.5), math.cos(2.5 + 0.5), math.cos(3.0) - 0.5 * math.sin(0.5)]
    np.testing.assert_allclose(logits[:, 0].detach().numpy(), expected, atol=1e-5)
    assert logits[2, 0] < logits[1, 0] < logits[0, 0]


def test_easy_margin_applies_only_where_cosine_is_positive():
    loss = MarginSoftmax(2, 2, kind="aam", scale=1.0, margin=0.3, easy_margin=True)
    with torch.no_grad():
        loss.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    angles = torch.tensor([1.0, 2.0])  # cos 1.0 > 0 gets the margin; cos 2.0 < 0 does not
    embeddings = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    logits, _ = loss.logits(embeddings, torch.zeros(2, dtype=torch.long))
    np.testing.assert_allclose(logits[:, 0].detach().numpy(), [math.cos(1.3), math.cos(2.0)], atol=1e-6)


@pytest.mark.parametrize("kind", ["am", "aam"])
@pytest.mark.parametrize("easy_margin", [False, True])
def test_gradients_are_finite_at_cosine_plus_minus_one(kind, easy_margin):
    loss = MarginSoftmax(2, 2, kind=kind, margin=0.2, easy_margin=easy_margin)
    with torch.no_grad():
        loss.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    embeddings = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], requires_grad=True)  # cos = 1, -1, 0 with class 0
    value, _ = loss(embeddings, torch.zeros(3, dtype=torch.long))
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(embeddings.grad).all() and torch.isfinite(loss.weight.grad).all()


def test_margin_warmup_grows_linearly():
    loss = build_loss(LossConfig(kind="aam", margin=0.2, margin_warmup_epochs=4.0), 8, 5)
    assert loss.margin == 0.0
    margins = []
    for epoch in [1.0, 2.0, 4.0, 9.0]:
        loss.set_epoch(epoch)
        margins.append(loss.margin)
    assert margins == pytest.approx([0.05, 0.1, 0.2, 0.2])
    assert build_loss(LossConfig(kind="am", margin=0.3), 8, 5).margin == 0.3  # no warm-up: full margin at once


def test_softmax_loss_is_cross_entropy_of_a_linear_layer(batch):
    embeddings, labels = batch
    loss = build_loss(LossConfig(kind="softmax"), 8, 5)
    assert isinstance(loss, SoftmaxLoss)
    value, _ = loss(embeddings, labels)
    logits, _ = loss.logits(embeddings, labels)
    w, b = loss.classifier.weight.detach().double().numpy(), loss.classifier.bias.detach().double().numpy()
    expected_logits = embeddings.double().numpy() @ w.T + b
    np.testing.assert_allclose(logits.detach().numpy(), expected_logits, atol=1e-5)
    assert value.item() == pytest.approx(cross_entropy(expected_logits, labels.numpy()), rel=1e-5)


def test_angular_prototypical_against_its_formula():
    generator = torch.Generator().manual_seed(1)
    embeddings = torch.randn(6, 4, generator=generator)
    labels = torch.tensor([7, 3, 7, 3, 3, 7])  # speakers 3 and 7, M = 3 each, interleaved
    loss = AngularPrototypical(init_scale=10.0, init_bias=-5.0)
    value, accuracy = loss(embeddings, labels)
    logits, targets = loss.logits(embeddings, labels)
    x = embeddings.double().numpy()
    queries = np.stack([x[1], x[0]])  # first utterance of speaker 3, then of speaker 7
    prototypes = np.stack([x[[3, 4]].mean(axis=0), x[[2, 5]].mean(axis=0)])
    cosine = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (prototypes / np.linalg.norm(prototypes, axis=1, keepdims=True)).T
    np.testing.assert_allclose(logits.detach().numpy(), 10.0 * cosine - 5.0, atol=1e-5)
    assert value.item() == pytest.approx(cross_entropy(logits.detach().double().numpy(), np.arange(2)), rel=1e-5)
    assert targets.tolist() == [0, 1]  # the classes are the batch's speakers, not the training speakers
    assert accuracy.item() == np.mean(cosine.argmax(axis=1) == [0, 1])


def test_angular_prototypical_rejects_unbalanced_batches():
    with pytest.raises(ValueError, match="M >= 2"):
        AngularPrototypical()(torch.randn(3, 4), torch.tensor([0, 0, 1]))


def test_training_a_margin_loss_separates_two_speakers():
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(2, 8, generator=generator)
    labels = torch.arange(64) % 2
    embeddings = centres[labels] + 0.8 * torch.randn(64, 8, generator=generator)
    loss = build_loss(LossConfig(kind="aam", scale=16.0, margin=0.2), 8, 2)
    optimiser = torch.optim.SGD(loss.parameters(), lr=0.5)
    first = None
    for _ in range(50):
        value, _ = loss(embeddings, labels)
        first = value.item() if first is None else first
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
    assert value.item() < 0.5 * first
    cosine = F.normalize(embeddings) @ F.normalize(loss.weight.detach()).T
    assert (cosine.argmax(dim=1) == labels).float().mean() > 0.9


@pytest.mark.parametrize("kind", ["softmax", "am", "aam", "angleproto"])
def test_every_loss_returns_the_loss_and_the_accuracy_of_its_own_logits(batch, kind):
    embeddings, labels = batch[0][:15], batch[1][:15]  # 5 speakers x 3 utterances
    loss = build_loss(LossConfig(kind=kind), 8, 5)
    value, accuracy = loss(embeddings, labels)
    logits, targets = loss.logits(embeddings, labels)
    assert value.dim() == accuracy.dim() == 0
    assert value.item() == pytest.approx(cross_entropy(logits.detach().double().numpy(), targets.numpy()), rel=1e-5)
    assert accuracy.item() == pytest.approx((logits.argmax(dim=1) == targets).double().mean().item())
    assert len(targets) == (5 if kind == "angleproto" else 15)


def test_unknown_loss_is_named():
    with pytest.raises(ValueError, match="'arcface'"):
        build_loss(LossConfig(kind="arcface"), 8, 5)


@pytest.mark.parametrize("kind", ["am", "aam"])
def test_margin_losses_compute_in_float32_under_autocast(batch, kind):
    embeddings, labels = batch
    loss = MarginSoftmax(8, 5, kind=kind)
    full_precision, _ = loss.logits(embeddings, labels)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        value, _ = loss(embeddings.bfloat16(), labels)
        logits, _ = loss.logits(embeddings.bfloat16(), labels)
    assert value.dtype == logits.dtype == torch.float32
    assert torch.abs(logits - full_precision).max() < 30.0 * 0.02  # only the bf16 rounding of the inputs differs
