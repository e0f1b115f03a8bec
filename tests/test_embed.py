"""labkit.embed: batch-size invariance, crops, the on-disk cache keyed by model checksum + utterance."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from labkit import models
from labkit.config import ModelConfig
from labkit.data.voxceleb import scan
from labkit.embed import extract, model_checksum


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return models.build_model(ModelConfig(depth=10, width=8, embed_dim=32)).eval()


@pytest.fixture(scope="module")
def manifest(tiny_corpus):
    return scan(tiny_corpus).head(12)


def test_checksum_changes_with_any_weight(model):
    before = model_checksum(model)
    assert before == model_checksum(model)
    with torch.no_grad():
        next(model.parameters())[0].flatten()[0] += 1e-3
    assert model_checksum(model) != before
    with torch.no_grad():
        next(model.parameters())[0].flatten()[0] -= 1e-3


def test_same_embeddings_whatever_the_batch_size(model, manifest):
    ids, one = extract(model, manifest, batch_size=1, progress=False)
    assert ids == manifest["utt"].tolist()
    for batch_size in (3, 12):
        _, batched = extract(model, manifest, batch_size=batch_size, progress=False)
        np.testing.assert_allclose(batched, one, atol=1e-4, rtol=0)
    assert manifest["duration"].nunique() > 1  # the batches really were padded


def test_crops_are_averaged_unit_vectors_and_batch_invariant(model, manifest):
    _, one = extract(model, manifest, batch_size=1, crops=3, crop_seconds=1.0, progress=False)
    _, batched = extract(model, manifest, batch_size=5, crops=3, crop_seconds=1.0, progress=False)
    np.testing.assert_allclose(batched, one, atol=1e-4, rtol=0)
    norms = np.linalg.norm(one, axis=1)
    assert np.all(norms <= 1 + 1e-5) and np.all(norms > 0.5)  # a mean of unit vectors
    _, full = extract(model, manifest, batch_size=4, progress=False)
    assert not np.allclose(full / np.linalg.norm(full, axis=1, keepdims=True), one, atol=1e-3)


def test_cache_is_keyed_by_model_checksum_and_utterance(model, manifest, tmp_path):
    copies = manifest.head(6).copy()
    copies["path"] = [shutil.copy(path, tmp_path / f"{i}.wav") for i, path in enumerate(copies["path"])]
    cache = tmp_path / "cache"
    _, first = extract(model, copies, batch_size=4, cache_dir=cache, progress=False)
    embedded = []  # rows that really go through the network
    hook = model.register_forward_hook(lambda module, inputs, output: embedded.append(len(output)))
    both = pd.concat([copies, manifest.tail(6)], ignore_index=True)
    try:
        _, second = extract(model, both, batch_size=4, cache_dir=cache, progress=False)  # resumes: embeds only the new six
    finally:
        hook.remove()
    assert sum(embedded) == 6
    np.testing.assert_array_equal(second[:6], first)
    _, fresh = extract(model, manifest.tail(6), batch_size=4, progress=False)
    np.testing.assert_allclose(second[6:], fresh, atol=1e-4, rtol=0)
    other = models.build_model(ModelConfig(depth=10, width=8, embed_dim=32))  # other weights: another cache key
    extract(other, copies, batch_size=4, cache_dir=cache, progress=False)
    assert len([folder for folder in cache.iterdir() if folder.is_dir()]) == 2  # nothing shared with the first model


def test_a_rewritten_file_is_embedded_again(model, manifest, tmp_path):
    """The cache key holds the file's size and time: a regenerated corpus never returns stale embeddings."""
    import soundfile as sf

    row = manifest.head(1).copy()
    wav = tmp_path / "utt.wav"
    shutil.copyfile(row["path"].iloc[0], wav)
    row["path"] = str(wav)
    _, before = extract(model, row, cache_dir=tmp_path / "cache", progress=False)
    audio, rate = sf.read(wav, dtype="float32")
    sf.write(wav, audio[::-1].copy(), rate, subtype="PCM_16")  # new content, same name and length
    os.utime(wav, ns=(1, 1))  # same size as before: only the modification time tells the two files apart
    _, after = extract(model, row, cache_dir=tmp_path / "cache", progress=False)
    assert not np.allclose(before, after, atol=1e-3)


def test_a_killed_shard_write_never_breaks_the_cache(model, manifest, tmp_path):
    """A half-written shard (the process killed inside np.savez) is skipped and recomputed, not fatal."""
    cache = tmp_path / "cache"
    _, first = extract(model, manifest.head(4), cache_dir=cache, progress=False)
    shard = sorted(cache.glob("*/part-*.npz"))[0]
    shard.write_bytes(shard.read_bytes()[:100])  # truncated zip
    with pytest.warns(UserWarning, match="unreadable embedding cache shard"):
        _, again = extract(model, manifest.head(4), cache_dir=cache, progress=False)
    np.testing.assert_allclose(again, first, atol=1e-5)
