"""Pooling layers: known statistics on real numbers, and padding that changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.models.pooling import ASP, SAP, TSTP, build_pooling

DIM = 6


def _frames(seed: int, frames: int) -> torch.Tensor:
    return torch.randn(1, DIM, frames, generator=torch.Generator().manual_seed(seed))


def test_tstp_is_mean_and_unbiased_std() -> None:
    x = _frames(0, 50)
    out = TSTP(DIM)(x)[0].numpy()
    values = x[0].numpy()
    np.testing.assert_allclose(out[:DIM], values.mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(out[DIM:], values.std(axis=1, ddof=1), atol=1e-5)


def test_sap_with_a_zero_context_vector_is_the_plain_mean() -> None:
    pool = SAP(DIM)
    with torch.no_grad():
        pool.attention.zero_()  # every frame scores 0: uniform weights
    x = _frames(1, 40)
    np.testing.assert_allclose(pool(x)[0].detach().numpy(), x[0].mean(dim=1).numpy(), atol=1e-6)


def test_asp_with_uniform_attention_is_mean_and_population_std() -> None:
    pool = ASP(DIM).eval()
    with torch.no_grad():
        pool.attention[-1].weight.zero_()
        pool.attention[-1].bias.zero_()
    x = _frames(2, 40)
    out = pool(x)[0].detach().numpy()
    values = x[0].numpy()
    np.testing.assert_allclose(out[:DIM], values.mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(out[DIM:], values.std(axis=1), atol=1e-5)


def test_attention_weights_change_the_result() -> None:
    """A trained-looking context vector must move SAP away from the plain mean (the weights are used)."""
    pool = SAP(DIM)
    x = _frames(3, 40)
    assert not torch.allclose(pool(x)[0], x[0].mean(dim=1), atol=1e-3)


@pytest.mark.parametrize("name", ["tstp", "sap", "asp"])
def test_padding_is_ignored_batched_equals_single(name: str) -> None:
    torch.manual_seed(0)
    pool = build_pooling(name, DIM).eval()
    lengths = [37, 5, 60]
    rows = [_frames(10 + i, n) for i, n in enumerate(lengths)]
    batch = torch.full((len(rows), DIM, max(lengths)), float("nan"))  # padding that would poison any sum it entered
    for i, row in enumerate(rows):
        batch[i, :, : row.shape[-1]] = row[0]
    with torch.no_grad():
        batched = pool(batch, torch.tensor(lengths))
        singles = torch.cat([pool(row) for row in rows])
    assert batched.shape == (3, pool.out_dim)
    torch.testing.assert_close(batched, singles, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name, factor", [("tstp", 2), ("sap", 1), ("asp", 2)])
def test_output_dimension(name: str, factor: int) -> None:
    pool = build_pooling(name, DIM).eval()
    assert pool.out_dim == factor * DIM
    assert pool(_frames(4, 20)).shape == (1, factor * DIM)


def test_unknown_pooling_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        build_pooling("max", DIM)
