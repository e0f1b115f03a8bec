"""labkit.features against the torchaudio outputs stored in ../shared/fixtures/frontend."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labkit.config import FrontendConfig
from labkit.features import build_frontend, kaldi_fbank, mel_spectrogram, pre_emphasis

WESPEAKER = dict(kind="fbank", n_mels=80, window="hamming", preemphasis=0.97, input_scale=32768.0, normalize="cmn")
SE34L = dict(kind="melspec", n_mels=40, window="hamming", preemphasis=0.0, normalize="instance")
SE34V2 = dict(kind="melspec", n_mels=64, window="hamming", preemphasis=0.97, normalize="instance")


@pytest.fixture(scope="module")
def reference(fixtures_dir):
    return dict(np.load(fixtures_dir / "frontend" / "frontend_reference.npz"))


def frontend(**options):
    return build_frontend(FrontendConfig(**options)).eval()


def features(module, wav: np.ndarray) -> np.ndarray:
    feats, _ = module(torch.from_numpy(wav)[None])
    return feats[0].numpy()


@pytest.mark.parametrize("window, key", [("hamming", "ws_fbank"), ("povey", "ws_fbank_povey_window")])
def test_kaldi_fbank_matches_torchaudio(reference, window, key):
    module = frontend(**{**WESPEAKER, "window": window, "normalize": "none"})
    ours = features(module, reference["wav"]).T  # WeSpeaker stores (frames, mels)
    assert ours.shape == reference[key].shape == (298, 80)
    assert np.abs(ours - reference[key]).max() <= 2e-4


def test_kaldi_fbank_with_cmn_matches_wespeaker(reference):
    ours = features(frontend(**WESPEAKER), reference["wav"]).T
    assert np.abs(ours - reference["ws_fbank_cmn"]).max() <= 2e-4
    assert np.abs(ours.mean(axis=0)).max() < 1e-4  # every mel bin has zero mean over time


def test_mel_banks_match_torchaudio(reference):
    kaldi = frontend(**WESPEAKER).mel_banks.numpy()
    assert kaldi.shape == (257, 80) and np.all(kaldi[256] == 0)  # no weight on the Nyquist bin
    np.testing.assert_allclose(kaldi[:256].T, reference["ws_kaldi_melbanks"], atol=1e-5)
    np.testing.assert_allclose(frontend(**SE34L).mel_banks.numpy(), reference["vt_se34l_melfb"], atol=1e-6)
    np.testing.assert_allclose(frontend(**SE34V2).mel_banks.numpy(), reference["vt_se34v2_melfb"], atol=1e-6)


@pytest.mark.parametrize("options, name", [(SE34L, "vt_se34l"), (SE34V2, "vt_se34v2")])
def test_mel_spectrogram_matches_voxceleb_trainer(reference, options, name):
    module = frontend(**options)
    wav = torch.from_numpy(reference["wav"])[None]
    if options["preemphasis"]:
        wav = pre_emphasis(wav, 0.97)
        assert np.abs(wav[0].numpy() - reference[f"{name}_preemph_wav"]).max() <= 1e-6
    power = mel_spectrogram(wav, module.window, module.mel_banks)[0].numpy()
    expected = reference[f"{name}_melpower"]
    assert power.shape == expected.shape == (options["n_mels"], 301)
    assert (np.abs(power - expected) / (expected + 1e-6)).max() <= 1e-3
    assert np.abs(np.log(power + 1e-6) - reference[f"{name}_logmel"]).max() <= 1e-3
    assert np.abs(features(module, reference["wav"]) - reference[f"{name}_instnorm"]).max() <= 1e-3


@pytest.mark.parametrize("options, frames_for", [
    (WESPEAKER, lambda n: 1 + (n - 400) // 160),
    (SE34V2, lambda n: 1 + n // 160),
])
@pytest.mark.parametrize("samples", [400, 16120, 17600, 48000, 116800, 116801])  # one frame, 1 s + 120, 1.1 s, 3 s, 7.3 s, + 1
def test_frame_counts(options, frames_for, samples):
    module = frontend(**options)
    feats, frame_lengths = module(torch.randn(2, samples) * 0.1, torch.tensor([samples, samples]))
    assert module.num_frames(samples) == frames_for(samples) == feats.shape[-1]
    assert frame_lengths.tolist() == [frames_for(samples)] * 2
    assert feats.shape == (2, options["n_mels"], frames_for(samples))


@pytest.mark.parametrize("options", [WESPEAKER, SE34L, SE34V2], ids=["fbank", "se34l", "se34v2"])
def test_batched_rows_equal_single_utterances(options):
    module = frontend(**options)
    generator = torch.Generator().manual_seed(0)
    lengths = [17600, 20001, 24000]
    wavs = [0.1 * torch.randn(n, generator=generator) for n in lengths]
    batch = torch.zeros(len(wavs), max(lengths))
    for row, wav in zip(batch, wavs):
        row[: len(wav)] = wav
    feats, frame_lengths = module(batch, torch.tensor(lengths))
    for row, wav, valid in zip(feats, wavs, frame_lengths.tolist()):
        alone, _ = module(wav[None])
        assert alone.shape[-1] == valid
        assert torch.abs(row[:, :valid] - alone[0]).max() <= 1e-4
        assert torch.all(row[:, valid:] == 0)  # padding frames are zero


def test_dither_only_in_training():
    wav = 0.1 * torch.randn(1, 8000)
    dithered = build_frontend(FrontendConfig(**{**WESPEAKER, "dither": 1.0}))
    plain = frontend(**WESPEAKER)
    dithered.train()
    assert torch.abs(dithered(wav)[0] - plain(wav)[0]).max() > 1e-3
    dithered.eval()
    assert torch.equal(dithered(wav)[0], plain(wav)[0])


def test_int16_scale_shifts_log_fbank_by_log_of_scale_squared():
    wav = 0.1 * torch.randn(1, 16000)
    float_scale = frontend(**{**WESPEAKER, "input_scale": 1.0, "normalize": "none"})(wav)[0]
    int16_scale = frontend(**{**WESPEAKER, "normalize": "none"})(wav)[0]
    assert float_scale.min() > math.log(torch.finfo(torch.float32).eps)  # no bin sits on the floor
    assert torch.allclose(int16_scale - float_scale, torch.full_like(float_scale, 2 * math.log(32768)), atol=1e-3)
    with_cmn = [frontend(**{**WESPEAKER, "input_scale": scale})(wav)[0] for scale in (1.0, 32768.0)]
    assert torch.abs(with_cmn[0] - with_cmn[1]).max() < 1e-3  # CMN removes the constant offset


def test_features_stay_float32_under_autocast():
    module = frontend(**SE34V2)
    wav = 0.1 * torch.randn(2, 16000)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        feats, _ = module(wav)
    assert feats.dtype == torch.float32
    assert torch.equal(feats, module(wav)[0])


def test_functions_work_without_the_module(reference):
    module = frontend(**WESPEAKER)
    wav = torch.from_numpy(reference["wav"])[None] * 32768
    feats = kaldi_fbank(wav, module.window, module.mel_banks, hop_length=160, n_fft=512, preemphasis=0.97)
    assert np.abs(feats[0].T.numpy() - reference["ws_fbank"]).max() <= 1e-3


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="batch"):
        frontend(**WESPEAKER)(torch.zeros(16000))
    with pytest.raises(ValueError, match="399 samples is shorter than the 400 samples the fbank front-end needs"):
        frontend(**WESPEAKER)(torch.zeros(1, 399))
    with pytest.raises(ValueError, match="256 samples is shorter than the 257 samples the melspec front-end needs"):
        frontend(**SE34V2)(torch.zeros(1, 256))
    # a short row inside a padded batch is refused too, rather than giving NaN embeddings
    with pytest.raises(ValueError, match="399 samples is shorter than the 400 samples the fbank"):
        frontend(**WESPEAKER)(torch.zeros(2, 16000), torch.tensor([16000, 399]))
    with pytest.raises(ValueError, match="200 samples is shorter than the 257 samples"):
        frontend(**SE34V2)(torch.zeros(2, 16000), torch.tensor([200, 16000]))
    with pytest.raises(ValueError, match="front-end kind"):
        frontend(kind="mfcc")
    with pytest.raises(ValueError, match="window"):
        frontend(window="blackman")
    with pytest.raises(ValueError, match="normalisation"):
        frontend(normalize="cmvn")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("options", [WESPEAKER, SE34V2], ids=["fbank", "se34v2"])
def test_cuda_matches_cpu(options):
    module = frontend(**options)
    wav = 0.1 * torch.randn(3, 24000)
    lengths = torch.tensor([24000, 17600, 20001])
    on_cpu, cpu_lengths = module(wav, lengths)
    on_gpu, gpu_lengths = module.cuda()(wav.cuda(), lengths.cuda())
    assert torch.equal(gpu_lengths.cpu(), cpu_lengths)
    assert torch.abs(on_gpu.cpu() - on_cpu).max() <= 1e-3


def test_frontend_refuses_pcm_integers_and_names_the_conversion():
    """int16 training crops fed straight to a model would be 32768 times too loud: a clear error instead."""
    frontend = build_frontend(FrontendConfig())
    with pytest.raises(TypeError, match="pcm_to_float"):
        frontend(torch.zeros(1, 16000, dtype=torch.int16))
