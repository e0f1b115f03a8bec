"""labkit.own_voice: clips in any format become 16 kHz wav files; two files get a trial score; headless runs use the corpus."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import torch

from labkit import models
from labkit.config import ModelConfig
from labkit.colab import in_colab
from labkit.own_voice import corpus_pair, save_clip, score_pair, two_clips


def test_a_clip_at_another_rate_and_in_stereo_is_saved_as_16_khz_mono(tmp_path):
    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1) * 0.3
    encoded = io.BytesIO()
    sf.write(encoded, stereo, 44100, format="FLAC")
    path = save_clip(encoded.getvalue(), tmp_path / "mine.wav")
    audio, rate = sf.read(path, dtype="float32")
    info = sf.info(path)
    assert (rate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert abs(len(audio) - 16000) <= 32
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * 16000 / len(audio) - 440) < 3  # still the same tone


def test_headless_runs_take_two_sessions_of_one_corpus_speaker(tiny_corpus, tmp_path):
    assert not in_colab()
    first, second = two_clips(tmp_path, root=tiny_corpus)
    assert (first, second) == corpus_pair(tiny_corpus)
    assert first.parent.parent == second.parent.parent and first.parent != second.parent  # one speaker, two videos
    assert first.parts[-3].startswith("id1")
    with pytest.raises(ValueError, match="root="):
        two_clips(tmp_path)


def test_score_pair_is_the_cosine_of_the_two_embeddings(tiny_corpus):
    torch.manual_seed(0)
    model = models.build_model(ModelConfig(depth=10, width=8, embed_dim=32)).train()
    first, second = corpus_pair(tiny_corpus)
    score = score_pair(model, first, second)
    assert model.training  # the caller's mode is given back
    model.eval()
    with torch.no_grad():
        a, b = (model(torch.from_numpy(sf.read(p, dtype="float32")[0])[None])[0] for p in (first, second))
    assert score == pytest.approx(float(torch.nn.functional.cosine_similarity(a, b, dim=0)), abs=1e-5)
    assert score_pair(model, first, first) == pytest.approx(1.0, abs=1e-5)

