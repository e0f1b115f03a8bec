"""labkit.models.xvector: the TDNN of Snyder et al. 2018."""

from __future__ import annotations

import pytest
import torch

from labkit.models.xvector import RECEPTIVE_FIELD, XVector


def frame5_output(model: XVector, feats: torch.Tensor) -> torch.Tensor:
    x = feats
    for layer in model.frame_layers():
        x = layer(x)
    return x


def test_frame_layers_see_fifteen_frames():
    model = XVector(n_mels=24).eval()
    feats = torch.randn(1, 24, 40, requires_grad=True)
    out = frame5_output(model, feats)
    assert out.shape == (1, 1500, 40 - 14)
    out[0, :, 10].sum().backward()  # which input frames reach output frame 10?
    touched = (feats.grad[0].abs().sum(dim=0) > 0).nonzero().flatten().tolist()
    assert touched == list(range(10, 10 + RECEPTIVE_FIELD))


@pytest.mark.parametrize("frames", [15, 110, 731])  # shortest input, 1.1 s and 7.3 s of 10-ms frames
def test_embedding_shapes(frames):
    model = XVector(n_mels=30, embed_dim=256)
    feats = torch.randn(3, 30, frames)
    assert model.train()(feats).shape == (3, 256)
    assert model.eval()(feats).shape == (3, 256)


def test_eval_output_is_segment6_and_training_goes_through_segment7():
    model = XVector(n_mels=30)
    feats = torch.randn(4, 30, 60)
    model.eval()
    pooled = model.pooling(frame5_output(model, feats))
    assert torch.allclose(model(feats), model.segment6(pooled), atol=1e-6)
    model.train()
    embeddings = model(feats)
    assert torch.all(embeddings.mean(dim=0).abs() < 1e-5)  # segment7 ends in a batch norm: zero batch mean


def test_gradients_reach_the_first_layer():
    model = XVector(n_mels=30).train()
    model(torch.randn(4, 30, 50)).pow(2).sum().backward()
    for layer in model.frame_layers():
        assert layer.conv.weight.grad is not None and layer.conv.weight.grad.abs().sum() > 0
    assert torch.isfinite(model.frame1.conv.weight.grad).all()


def test_parameter_count_matches_the_paper_layer_sizes():
    features, hidden, stats, embedding = 30, 512, 1500, 512

    def affine(inputs, outputs):  # weights + biases
        return inputs * outputs + outputs

    def batch_norm(channels):  # scale + shift
        return 2 * channels

    expected = (
        affine(5 * features, hidden) + batch_norm(hidden)  # frame1
        + 2 * (affine(3 * hidden, hidden) + batch_norm(hidden))  # frame2, frame3
        + affine(hidden, hidden) + batch_norm(hidden)  # frame4
        + affine(hidden, stats) + batch_norm(stats)  # frame5
        + affine(2 * stats, embedding) + batch_norm(embedding)  # segment6 (+ its BN)
        + affine(embedding, embedding) + batch_norm(embedding)  # segment7
    )
    assert sum(p.numel() for p in XVector(n_mels=features).parameters()) == expected == 4_491_668  # 78,336 + 2 x 787,968 + 263,680 + 772,500 + 1,537,536 + 263,680


def test_batched_rows_equal_single_utterances():
    model = XVector(n_mels=30).eval()
    lengths = torch.tensor([60, 23, 41])
    batch = torch.randn(3, 30, 60)
    for row, valid in enumerate(lengths.tolist()):
        batch[row, :, valid:] = 0  # zero padding, as the front-end leaves it
    batched = model(batch, lengths)
    for row, valid in enumerate(lengths.tolist()):
        alone = model(batch[row : row + 1, :, :valid])
        assert torch.allclose(batched[row], alone[0], atol=1e-4)


def test_eval_is_deterministic():
    model = XVector(n_mels=30).eval()
    feats = torch.randn(2, 30, 80)
    assert torch.equal(model(feats), model(feats))


def test_too_short_input_is_an_error():
    model = XVector(n_mels=30).eval()
    with pytest.raises(ValueError, match="at least 15 frames"):
        model(torch.randn(1, 30, 14))
    with pytest.raises(ValueError, match="got 10"):
        model(torch.randn(2, 30, 40), torch.tensor([40, 10]))
