"""Training crops, packed audio, balanced batches, augmentation and evaluation batches."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from labkit.data.dataset import (
    Augment,
    TrainCrops,
    balanced_batches,
    build_augment,
    float_to_pcm,
    load_folder,
    pcm_to_float,
)
from labkit.data.packed import PackedAudio, pack, pack_audio
from labkit.data.voxceleb import read_train_list, scan


def write_utterances(folder: Path, lengths: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """Random PCM16 utterances of the given lengths (samples) -> manifest."""
    rng = np.random.default_rng(seed)
    for utt, n in lengths.items():
        (folder / "wav" / utt).parent.mkdir(parents=True, exist_ok=True)
        sf.write(folder / "wav" / utt, rng.integers(-20000, 20000, n).astype(np.int16), 16000, subtype="PCM_16")
    return scan(folder)


@pytest.fixture
def corpus(tmp_path) -> pd.DataFrame:
    lengths = {f"id0000{s}/vid{s}abcdefg/0000{u}.wav": 40000 + 1000 * u for s in range(1, 4) for u in range(1, 4)}
    lengths["id00004/short000000/00001.wav"] = 12000  # shorter than a 2-s crop
    return write_utterances(tmp_path, lengths)


def full_audio(path: str) -> np.ndarray:
    return sf.read(path, dtype="int16")[0]


def test_crops_are_slices_of_their_file_with_speaker_labels(corpus):
    crops = TrainCrops(corpus, crop_seconds=2.0, seed=0)
    assert len(crops) == 10 and crops.speakers == ["id00001", "id00002", "id00003", "id00004"]
    for index in range(len(crops)):
        wav, label = crops[index]
        assert wav.dtype == torch.int16 and wav.shape == (32000,)
        assert crops.speakers[label] == corpus["speaker"][index]
        audio = full_audio(corpus["path"][index])
        if len(audio) >= 32000:
            starts = [s for s in range(len(audio) - 32000 + 1) if audio[s] == wav[0].item() and audio[s + 1] == wav[1].item()]
            assert any(np.array_equal(audio[s : s + 32000], wav.numpy()) for s in starts)


def test_short_utterances_are_repeated_to_length(corpus):
    crops = TrainCrops(corpus, crop_seconds=2.0)
    index = corpus.index[corpus["speaker"] == "id00004"][0]
    wav = crops[index][0].numpy()
    audio = full_audio(corpus["path"][index])
    assert np.array_equal(wav[:12000], audio) and np.array_equal(wav[12000:24000], audio)
    assert np.array_equal(wav[24000:], audio[:8000])


def test_crops_depend_on_seed_epoch_and_item_only(corpus):
    a, b = TrainCrops(corpus, seed=0), TrainCrops(corpus, seed=0)
    assert all(torch.equal(a[i][0], b[i][0]) for i in range(len(a)))
    starts = set()
    for epoch in range(6):
        a.set_epoch(epoch)
        starts.add(a[0][0][:4].numpy().tobytes())
    assert len(starts) >= 5  # a new crop nearly every epoch
    assert not torch.equal(TrainCrops(corpus, seed=1)[0][0], b[0][0])


def test_pcm_to_float_and_back(corpus):
    pcm = torch.from_numpy(full_audio(corpus["path"][0]))
    assert torch.equal(pcm_to_float(pcm), torch.from_numpy(sf.read(corpus["path"][0], dtype="float32")[0]))  # as soundfile reads
    assert torch.equal(float_to_pcm(pcm_to_float(pcm)), pcm)
    assert float_to_pcm(torch.tensor([-1.0, 1.0, 0.4 / 32768])).tolist() == [-32768, 32767, 0]


def test_augmented_crops_are_the_augmented_crop_in_pcm(corpus):
    plain, augmented = TrainCrops(corpus, seed=3), TrainCrops(corpus, seed=3, augment=Augment(gain_db=(6.0, 6.0)))
    wav, label = augmented[1]
    assert wav.dtype == torch.int16 and label == plain[1][1]
    assert not torch.equal(wav, plain[1][0])
    louder = pcm_to_float(plain[1][0]) * 10 ** (6 / 20)  # +6 dB, with or without noise and reverb on top
    assert (pcm_to_float(wav) - louder).abs().mean() < louder.abs().mean()


def test_same_batches_with_0_or_2_workers(corpus):
    crops = TrainCrops(corpus, seed=3, augment=Augment())
    batches = [[0, 5, 9], [2, 2, 7], [1, 3]]
    runs = [
        [(wav.clone(), labels.clone()) for wav, labels in DataLoader(crops, batch_sampler=batches, num_workers=workers)]
        for workers in (0, 2)
    ]
    for (wav0, labels0), (wav2, labels2) in zip(*runs):
        # the same crops and augmentation draws; the FFT reverb's float rounding depends on the intra-op threads
        # (workers run one, the main process several), which can move a sample by one int16 step
        assert (wav0.int() - wav2.int()).abs().max() <= 1 and torch.equal(labels0, labels2)


def test_packed_audio_gives_the_same_crops(corpus, tmp_path):
    data_path = pack(corpus, tmp_path / "packed" / "train")
    assert data_path.name == "train.int16" and (tmp_path / "packed" / "train.csv").is_file()
    assert not list((tmp_path / "packed").glob(".*"))  # temporary files renamed away
    assert data_path.stat().st_size == 2 * int(corpus["frames"].sum())
    from_files, from_pack = TrainCrops(corpus, seed=5), TrainCrops(corpus, seed=5, packed=tmp_path / "packed" / "train")
    for i in range(len(corpus)):
        assert torch.equal(from_files[i][0], from_pack[i][0])
    packed = PackedAudio(data_path)
    assert packed.samples is not None and pickle.loads(pickle.dumps(packed))._samples is None  # workers reopen the map
    with pytest.raises(KeyError, match="1 utterance"):
        packed.offsets(np.array(["id09999/nothing0000/00001.wav"]))


def test_packed_file_checks(corpus, tmp_path):
    with pytest.raises(FileNotFoundError, match="pack-audio"):
        PackedAudio(tmp_path / "missing")
    data_path = pack(corpus, tmp_path / "p.int16")
    with open(data_path, "ab") as f:
        f.write(b"\0\0")
    with pytest.raises(ValueError, match="pack again"):
        PackedAudio(data_path)


def test_pack_audio_of_a_train_list(tmp_path):
    from labkit.data.synthetic import make_corpus

    root = make_corpus(tmp_path / "tiny", preset="tiny", workers=1)
    data_path = pack_audio(root, tmp_path / "train", root / "meta" / "train_list.txt")
    index = pd.read_csv(data_path.with_suffix(".csv"))
    train = read_train_list(root / "meta" / "train_list.txt", root)
    assert index["utt"].tolist() == train["utt"].tolist()
    assert (index["offset"].diff().dropna().to_numpy() == index["frames"].to_numpy()[:-1]).all()


def test_balanced_batches():
    labels = np.repeat(np.arange(10), [5, 5, 5, 5, 5, 3, 3, 3, 2, 2])
    batches = balanced_batches(labels, speakers_per_batch=4, utts_per_speaker=2, epoch=0, seed=0)
    assert len(batches) == len(labels) // 8
    for batch in batches:
        speakers = labels[batch]
        assert len(batch) == 8 and len(set(speakers)) == 4
        assert all((speakers == s).sum() == 2 for s in set(speakers))
        pairs = np.array(batch).reshape(4, 2)
        assert all(a != b for a, b in pairs)  # two different utterances of each speaker
    assert balanced_batches(labels, 4, 2, epoch=0, seed=0) == batches
    assert balanced_batches(labels, 4, 2, epoch=1, seed=0) != batches
    with pytest.raises(ValueError, match="11 speakers"):
        balanced_batches(labels, 11, 2, epoch=0)


def snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(clean.pow(2).mean(1) / (noisy - clean).pow(2).mean(1))


def test_augment_noise_at_the_requested_snr():
    clean = 0.1 * torch.sin(torch.arange(32000) / 7.0).repeat(16, 1)
    augment = Augment(snr_db=(5.0, 20.0), noise_prob=1.0, reverb_prob=0.0, gain_db=(0.0, 0.0))
    noisy = augment(clean, torch.Generator().manual_seed(0))
    measured = snr_db(clean, noisy)
    assert ((measured > 4.9) & (measured < 20.1)).all() and measured.std() > 1.0
    assert torch.equal(noisy, augment(clean, torch.Generator().manual_seed(0)))


def test_augment_gain_and_reverb():
    clean = 0.1 * torch.randn(8, 16000, generator=torch.Generator().manual_seed(1))
    gained = Augment(noise_prob=0.0, reverb_prob=0.0, gain_db=(-6.0, 6.0))(clean)
    ratio_db = 20 * torch.log10(gained.norm(dim=1) / clean.norm(dim=1))
    assert ((ratio_db > -6.01) & (ratio_db < 6.01)).all()
    assert torch.allclose(gained / clean, (gained / clean)[:, :1].expand_as(clean), rtol=1e-4)  # one factor per row
    impulse = torch.zeros(1, 16000)
    impulse[0, 100] = 1.0
    reverberant = Augment(noise_prob=0.0, reverb_prob=1.0, gain_db=(0.0, 0.0), rt60_s=(0.3, 0.3))(impulse)[0]
    assert reverberant[:100].abs().max() < 1e-6  # causal (FFT round-off only)
    tail = reverberant[100 + 2400 : 100 + 4800].pow(2).sum()  # 150-300 ms after the direct sound
    assert 0 < tail < reverberant[100:2500].pow(2).sum()  # a decaying tail


def test_augment_with_noise_files(tmp_path):
    hum = 0.5 * np.sin(2 * np.pi * 50 * np.arange(48000) / 16000)
    sf.write(tmp_path / "hum.wav", hum, 16000, subtype="FLOAT")
    noises = load_folder(tmp_path)
    assert len(noises) == 1 and noises[0].shape == (48000,)
    clean = torch.zeros(2, 16000)
    clean[:, ::160] = 0.5
    noisy = Augment(noise=noises, snr_db=(10.0, 10.0), noise_prob=1.0, reverb_prob=0.0, gain_db=(0.0, 0.0))(clean)
    added = (noisy - clean)[0].numpy()
    spectrum = np.abs(np.fft.rfft(added))
    assert np.argmax(spectrum) == 50  # 50 Hz in a 1-s segment
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .wav"):
        load_folder(tmp_path / "empty")


def test_augment_runs_on_the_batch_device():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    wav = torch.rand(4, 8000, device=device) - 0.5
    out = Augment(noise_prob=1.0, reverb_prob=1.0)(wav)
    assert out.device == wav.device and out.shape == wav.shape and out.abs().max() <= 1.0


def test_build_augment_from_the_data_config(tmp_path):
    from labkit.config import DataConfig

    assert build_augment(DataConfig(augment=False)) is None
    synthetic = build_augment(DataConfig(augment=True))
    assert synthetic.noise == [] and synthetic.rirs == []
    (tmp_path / "rirs").mkdir()
    sf.write(tmp_path / "rirs" / "room.wav", np.r_[1.0, np.zeros(99)], 16000, subtype="FLOAT")
    with_files = build_augment(DataConfig(augment=True, rir_dir=str(tmp_path / "rirs")))
    assert len(with_files.rirs) == 1 and with_files.rirs[0][0] == 1.0
    dry = with_files(torch.ones(2, 1000) * 0.1, torch.Generator().manual_seed(0))
    assert dry.shape == (2, 1000)
