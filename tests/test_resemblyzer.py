"""labkit.models.resemblyzer: the same embeddings as the resemblyzer package, from verified weights."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from labkit import models
from labkit.evaluate import score_trials
from labkit.metrics import eer
from labkit.models import resemblyzer
from labkit.trials import read_trials

package = pytest.importorskip("resemblyzer", reason="the resemblyzer package (requirements-dev.txt) is the reference")


@pytest.fixture(scope="module")
def encoder() -> torch.nn.Module:
    return models.load("resemblyzer")


@pytest.fixture(scope="module")
def reference() -> "package.VoiceEncoder":
    return package.VoiceEncoder("cpu", verbose=False)


def voiced_tone(seconds: float, f0: float = 120.0) -> np.ndarray:
    """A buzz with a vowel-like envelope and a slow pitch movement: speech to webrtcvad, no pause to trim."""
    t = np.arange(int(seconds * 16000)) / 16000
    pitch = f0 * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / 16000
    harmonics = [np.sin(k * phase) / k * (np.exp(-(((k * pitch - 700) / 600) ** 2)) + 0.3) for k in range(1, 40)]
    return (0.05 * np.sum(harmonics, axis=0)).astype(np.float32)


def test_mel_filters_are_librosas():
    librosa = pytest.importorskip("librosa")
    expected = librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)
    assert np.abs(resemblyzer.slaney_mel_banks().numpy().T - expected).max() < 1e-6


def test_partials_are_those_of_embed_utterance(reference):
    for n in (1000, 16000, 25600, 25601, 32000, 44000, 160000):
        _, mel_slices = reference.compute_partial_slices(n, rate=1.3, min_coverage=0.75)
        assert resemblyzer.partial_starts(n) == [s.start for s in mel_slices], n


@pytest.mark.slow
def test_embeddings_match_the_package_on_corpus_utterances(encoder, reference, tiny_corpus):
    """Same audio, same embedding: resemblyzer's own embed_utterance after its volume normalisation."""
    normalize_volume = package.audio.normalize_volume
    paths = sorted(tiny_corpus.glob("wav/id1*/*/*.wav"))[:6]
    waves = [sf.read(p, dtype="float32")[0] for p in paths]
    waves += [waves[0][:8000], waves[1][:27000]]  # shorter than one partial; just over one
    for wav in waves:
        expected = reference.embed_utterance(normalize_volume(wav, -30, increase_only=True))
        with torch.no_grad():
            ours = encoder(torch.from_numpy(wav)[None])[0].numpy()
        assert float(ours @ expected) >= 0.999, len(wav)


def test_embeddings_match_preprocess_wav_on_audio_without_silence(encoder, reference):
    """Where webrtcvad keeps everything (no pause), the package's whole pipeline gives our embedding."""
    for seconds, f0 in ((3.0, 120.0), (4.8, 210.0)):  # whole 30-ms VAD windows
        wav = voiced_tone(seconds, f0)
        preprocessed = package.preprocess_wav(wav)
        assert len(preprocessed) == len(wav)  # nothing trimmed: the comparison is on the same audio
        with torch.no_grad():
            ours = encoder(torch.from_numpy(wav)[None])[0].numpy()
        assert float(ours @ reference.embed_utterance(preprocessed)) >= 0.999


def test_a_padded_batch_gives_the_single_utterance_embeddings(encoder, tiny_corpus):
    waves = [torch.from_numpy(sf.read(p, dtype="float32")[0]) for p in sorted(tiny_corpus.glob("wav/id1*/*/*.wav"))[:4]]
    lengths = torch.tensor([len(w) for w in waves])
    batch = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    with torch.no_grad():
        together = encoder(batch, lengths)
        alone = torch.cat([encoder(w[None]) for w in waves])
    assert together.shape == (4, 256)
    assert torch.allclose(together, alone, atol=1e-5)
    assert torch.allclose(together.norm(dim=1), torch.ones(4))


def test_weights_are_fetched_verified_and_refetched_when_damaged(tmp_path):
    path = resemblyzer.weights_path(tmp_path)  # pip download of the wheel, the member read out of it
    assert path == tmp_path / "resemblyzer-0.1.4" / "pretrained.pt"
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # plain tensors: no code runs
    assert checkpoint["model_state"]["lstm.weight_ih_l0"].shape == (1024, 40)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    assert resemblyzer.weights_path(tmp_path) == path
    assert resemblyzer._sha256(path.read_bytes()) == resemblyzer.WEIGHTS_SHA256


def test_load_by_name_scores_trials_like_any_model(encoder, tiny_corpus):
    assert isinstance(encoder, torch.nn.Module) and not encoder.training and encoder.embed_dim == 256
    assert models.load_extra("resemblyzer") == {}
    trials = read_trials(tiny_corpus / "meta" / "veri_test.txt")
    scores = score_trials(encoder, trials, tiny_corpus, progress=False)
    assert scores.shape == (len(trials),) and np.all(np.abs(scores) <= 1.0 + 1e-6)
    assert eer(scores, trials.labels)[0] < 0.5  # better than chance even on 4 test speakers
