"""labkit.embedding_map: PCA in numpy, a separation score, one map per system."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.embedding_map import embedding_map, pca_2d, separation


def test_pca_finds_the_directions_of_largest_variance():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(500, 3)) * np.array([0.1, 0.05, 0.01]) + np.array([1.0, 0.0, 0.0])  # unit-ish vectors along x
    points, kept = pca_2d(data)
    assert points.shape == (500, 2) and kept[0] > kept[1] > 0 and kept.sum() <= 1.0
    assert abs(np.corrcoef(points[:, 0], data[:, 1])[0, 1]) > 0.95  # after normalisation, y varies most
    assert points.mean(axis=0) == pytest.approx([0.0, 0.0], abs=1e-9)


def test_separation_is_near_zero_for_noise_and_high_for_clusters():
    rng = np.random.default_rng(0)
    speakers = np.repeat([f"s{i}" for i in range(8)], 10)
    centres = rng.normal(size=(8, 32))
    tight = centres[np.repeat(np.arange(8), 10)] + 0.1 * rng.normal(size=(80, 32))
    assert abs(separation(rng.normal(size=(80, 32)), speakers)) < 0.05
    assert separation(tight, speakers) > 0.9
    assert separation(np.r_[tight, rng.normal(size=(1, 32))], np.append(speakers, "alone")) == pytest.approx(separation(tight, speakers), abs=0.02)


def test_one_panel_per_system_with_at_most_max_speakers():
    rng = np.random.default_rng(0)
    speakers = np.repeat([f"s{i:02d}" for i in range(12)], 4).tolist()
    fig = embedding_map({"a": (rng.normal(size=(48, 8)), speakers), "b": (rng.normal(size=(48, 8)), speakers)}, max_speakers=5)
    assert len(fig.axes) == 2
    assert [len(ax.collections) for ax in fig.axes] == [5, 5]  # one scatter per shown speaker
    assert fig.axes[0].get_title().startswith("a: 5 speakers, separation")
