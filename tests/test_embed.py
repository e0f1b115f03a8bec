"""labkit.embed: batch-size invariance, bounded batches and chunks, crops, the on-disk cache keyed by model + content."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from labkit import models
from labkit.config import ModelConfig
from labkit.data.voxceleb import scan
from labkit.data.voxceleb import BadAudioError
from labkit.embed import AudioPieces, collate_pieces, extract, length_batches, model_checksum, split_into_pieces


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
    """The cache key is the file's content: a regenerated file never returns stale embeddings, even with the same time."""
    row = manifest.head(1).copy()
    wav = tmp_path / "utt.wav"
    shutil.copyfile(row["path"].iloc[0], wav)
    row["path"] = str(wav)
    _, before = extract(model, row, cache_dir=tmp_path / "cache", progress=False)
    stat = wav.stat()
    audio, rate = sf.read(wav, dtype="float32")
    sf.write(wav, audio[::-1].copy(), rate, subtype="PCM_16")  # new content, same name and length
    os.utime(wav, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and time as before: only the bytes differ
    _, after = extract(model, row, cache_dir=tmp_path / "cache", progress=False)
    assert not np.allclose(before, after, atol=1e-3)


def test_a_copy_of_the_corpus_elsewhere_reuses_the_cache(model, manifest, tmp_path):
    """A new Colab VM restores the data to a fresh folder, with new times: the cache (kept on Drive) still hits."""
    cache = tmp_path / "cache"
    _, first = extract(model, manifest.head(5), cache_dir=cache, progress=False)
    restored = manifest.head(5).copy()
    restored["path"] = [shutil.copy(path, tmp_path / f"restored-{i}.wav") for i, path in enumerate(restored["path"])]
    embedded = []
    hook = model.register_forward_hook(lambda module, inputs, output: embedded.append(len(output)))
    try:
        _, again = extract(model, restored, cache_dir=cache, progress=False)
    finally:
        hook.remove()
    assert embedded == [] and np.array_equal(again, first)


def test_length_batches_bound_the_items_and_the_padded_samples():
    lengths = np.array([10, 9, 8, 3, 3, 100])
    assert length_batches(lengths, 3) == [[5, 0, 1], [2, 3, 4]]  # longest first, batch_size only
    # at most 20 padded samples: 100 goes alone, then 10+9 (2 x 10), 8+3 (2 x 8), 3
    assert length_batches(lengths, 3, max_batch_samples=20) == [[5], [0, 1], [2, 3], [4]]


def test_long_utterances_are_cut_into_equal_pieces():
    pieces = split_into_pieces(np.array([10, 25, 30]), chunk_samples=10)
    assert pieces.values.tolist() == [[0, 0, 10], [1, 0, 8], [1, 8, 16], [1, 16, 25], [2, 0, 10], [2, 10, 20], [2, 20, 30]]
    assert split_into_pieces(np.array([10, 25]), None).values.tolist() == [[0, 0, 10], [1, 0, 25]]


def test_pieces_are_the_file_slices_zero_padded(manifest):
    paths = manifest["path"].head(2).tolist()
    dataset = AudioPieces(paths, np.array([0, 100]), np.array([1000, 600]))
    wavs, lengths = collate_pieces([dataset[0], dataset[1]])
    assert lengths.tolist() == [1000, 500] and wavs.shape == (2, 1000)
    np.testing.assert_array_equal(wavs[1, :500].numpy(), sf.read(paths[1], dtype="float32")[0][100:600])
    assert (wavs[1, 500:] == 0).all()


def test_chunked_embedding_is_the_length_weighted_mean_of_its_pieces(model, manifest):
    row = manifest.head(1)
    frames = int(row["frames"].iloc[0])
    chunk_seconds = frames / 16000 / 2.5  # three pieces
    _, chunked = extract(model, row, chunk_seconds=chunk_seconds, progress=False)
    audio = torch.from_numpy(sf.read(row["path"].iloc[0], dtype="float32")[0])
    cuts = [0, frames // 3, 2 * frames // 3, frames]
    with torch.no_grad():
        parts = [model(audio[None, a:b]) * (b - a) / frames for a, b in zip(cuts, cuts[1:])]
    np.testing.assert_allclose(chunked[0], sum(parts)[0].numpy(), atol=1e-4, rtol=0)
    _, whole = extract(model, row, progress=False)
    assert not np.allclose(whole, chunked, atol=1e-3)  # the default chunk is longer than this utterance
    _, capped = extract(model, row, max_seconds=0.5, progress=False)  # only the first half second is read
    with torch.no_grad():
        np.testing.assert_allclose(capped[0], model(audio[None, :8000])[0].numpy(), atol=1e-4, rtol=0)


def test_bounded_batches_give_the_same_embeddings(model, manifest):
    six = manifest.head(6)
    _, one = extract(model, six, batch_size=1, progress=False)
    _, bounded = extract(model, six, batch_size=6, max_batch_seconds=6.0, progress=False)
    np.testing.assert_allclose(bounded, one, atol=1e-4, rtol=0)
    assert six["duration"].sum() > 6.0  # the bound really split the batch


def test_a_nan_or_too_short_file_is_named(model, manifest, tmp_path):
    rows = manifest.head(2).copy()
    broken = tmp_path / "broken.wav"
    audio = sf.read(rows["path"].iloc[1], dtype="float32")[0]
    audio[[10, 500, 900]] = np.nan
    sf.write(broken, audio, 16000, subtype="FLOAT")
    rows.loc[rows.index[1], "path"] = str(broken)
    with pytest.raises(BadAudioError, match=f"{broken}: 3 samples are NaN or infinite"):
        extract(model, rows, progress=False)
    rows.loc[rows.index[1], ["path", "duration"]] = [str(tmp_path / "one.wav"), 1 / 16000]
    sf.write(tmp_path / "one.wav", np.zeros(1, dtype=np.float32), 16000)
    with pytest.raises(BadAudioError, match=r"1 utterance\(s\) shorter than the 400 samples the model needs: .*one.wav \(1 samples\)"):
        extract(model, rows, progress=False)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        extract(model, rows, batch_size=-1, progress=False)


def test_a_killed_shard_write_never_breaks_the_cache(model, manifest, tmp_path):
    """A half-written shard (the process killed inside np.savez) is skipped and recomputed, not fatal."""
    cache = tmp_path / "cache"
    _, first = extract(model, manifest.head(4), cache_dir=cache, progress=False)
    shard = sorted(cache.glob("*/part-*.npz"))[0]
    shard.write_bytes(shard.read_bytes()[:100])  # truncated zip
    with pytest.warns(UserWarning, match="unreadable embedding cache shard"):
        _, again = extract(model, manifest.head(4), cache_dir=cache, progress=False)
    np.testing.assert_allclose(again, first, atol=1e-5)
