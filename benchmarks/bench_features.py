"""Front-end speed: labkit.features against plain references, in the same run, on the CPU.

* melspec: our batched MelSpectrogram (per-row reflect padding, so padded batches are exact)
  against ``torch.stft(center=True)`` + the same mel matrix, which is what torchaudio runs.
  Target: ratio >= 0.9 (the per-row padding costs almost nothing).
* fbank: our batched Kaldi fbank against the same function called one utterance at a time (how
  WeSpeaker computes features, in its data loader). Target: batched faster (ratio > 1).
* share: the front-end's time as a fraction of the ResNet34 (width 32) forward pass it feeds.
Batch: 32 crops of 2 s, one thread. Measured on a shared 2-core machine, loaded by other jobs: each
ratio compares CPU times (``process_time``) of runs taken in turn (ours, reference, ours, ...), the
fastest of 15 of each, so that both sides see the same load (``common.best_cpu_times``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import best_cpu_times, check, finish  # noqa: E402

from labkit import models  # noqa: E402
from labkit.config import FrontendConfig, ModelConfig  # noqa: E402
from labkit.features import build_frontend, kaldi_fbank, mel_spectrogram  # noqa: E402


def stft_mel_spectrogram(wav: torch.Tensor, window: torch.Tensor, mel_banks: torch.Tensor) -> torch.Tensor:
    """The torchaudio recipe: torch.stft with centre/reflect padding, power 2, then the mel matrix."""
    spectrum = torch.stft(wav, n_fft=512, hop_length=160, win_length=400, window=window, center=True,
                          pad_mode="reflect", return_complex=True).abs().pow(2)
    return (spectrum.transpose(1, 2) @ mel_banks).transpose(1, 2)


def main() -> None:
    torch.set_num_threads(1)  # on a loaded machine two threads wait for each other and the figures scatter
    torch.manual_seed(0)
    wav = 0.1 * torch.randn(32, 32000)
    lengths = torch.full((32,), 32000)
    lengths[-1] -= 160  # one row shorter: the per-row mirroring runs

    melspec = build_frontend(FrontendConfig(kind="melspec", n_mels=64, preemphasis=0.0, normalize="none"))
    times = best_cpu_times({
        "ours": lambda: mel_spectrogram(wav, melspec.window, melspec.mel_banks, lengths=lengths),
        "torch.stft": lambda: stft_mel_spectrogram(wav, melspec.window, melspec.mel_banks),
    }, repeats=15)
    difference = (mel_spectrogram(wav, melspec.window, melspec.mel_banks) - stft_mel_spectrogram(wav, melspec.window, melspec.mel_banks)).abs().max()
    print(f"  melspec: ours {32 / times['ours']:7.1f} utt/s, torch.stft {32 / times['torch.stft']:7.1f} utt/s "
          f"(CPU time; max |difference| {difference:.1e})")
    check("melspec speed vs torch.stft", times["torch.stft"] / times["ours"], 0.9, unit="x")

    fbank = build_frontend(FrontendConfig(kind="fbank", input_scale=32768.0))
    times = best_cpu_times({
        "batched": lambda: kaldi_fbank(wav, fbank.window, fbank.mel_banks),
        "one at a time": lambda: [kaldi_fbank(row[None], fbank.window, fbank.mel_banks) for row in wav],
    }, repeats=15)
    print(f"  fbank: batched {32 / times['batched']:7.1f} utt/s, one at a time {32 / times['one at a time']:7.1f} utt/s (CPU time)")
    check("Kaldi fbank, batched vs one at a time", times["one at a time"] / times["batched"], 1.0, unit="x")

    model = models.build_model(ModelConfig(depth=34, width=32)).eval()
    with torch.no_grad():
        times = best_cpu_times({"front-end": lambda: model.frontend(wav), "whole": lambda: model(wav)}, repeats=3)
    print(f"  front-end share of a ResNet34-w32 forward pass: {100 * times['front-end'] / times['whole']:.1f} % (CPU time)")

if __name__ == "__main__":
    main()
    raise SystemExit(finish())
