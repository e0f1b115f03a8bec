"""Many small wav files -> one int16 file + an index, for fast random crops (e.g. on Colab).

Opening thousands of small files on a network disk (Google Drive) costs more than reading
them. ``pack`` concatenates the utterances of a manifest into ``NAME.int16`` (raw 16-bit
samples) and writes ``NAME.csv`` (utt, speaker, offset, frames). ``PackedAudio`` maps the
file into memory (``numpy.memmap``): a crop is a slice, read from disk only when touched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm.auto import tqdm

from labkit.files import atomic_path


def _paths(out: str | Path) -> tuple[Path, Path]:
    """(samples file, index file) for a packed name given with or without its suffix."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix in (".int16", ".csv") else out
    return stem.with_name(stem.name + ".int16"), stem.with_name(stem.name + ".csv")


def pack(manifest: pd.DataFrame, out: str | Path) -> Path:
    """Write the utterances of ``manifest`` (columns utt, speaker, path) as ``out.int16`` + ``out.csv``.

    Both files are written under temporary names and renamed at the end, so an interrupted
    run never leaves a half-written pack behind. Returns the path of the ``.int16`` file.
    """
    data_path, index_path = _paths(out)
    offsets, frames, offset = [], [], 0
    with atomic_path(data_path) as tmp_data, atomic_path(index_path) as tmp_index:  # renamed only once both are complete
        with open(tmp_data, "wb") as f:
            for path in tqdm(manifest["path"], desc=f"packing {data_path.name}", unit="utt"):
                audio, _ = sf.read(path, dtype="int16")
                if audio.ndim != 1:
                    raise ValueError(f"{path}: {audio.shape[1]} channels, expected mono")
                f.write(audio.tobytes())
                offsets.append(offset)
                frames.append(len(audio))
                offset += len(audio)
        index = pd.DataFrame({"utt": manifest["utt"].to_numpy(), "speaker": manifest["speaker"].to_numpy(), "offset": offsets, "frames": frames})
        index.to_csv(tmp_index, index=False)
    return data_path


def pack_audio(root: str | Path, out: str | Path, train_list: str | Path | None = None) -> Path:
    """Pack every utterance under ``root`` (or those of a voxceleb_trainer ``train_list``) into ``out``."""
    from labkit.data.voxceleb import read_train_list, scan

    manifest = read_train_list(train_list, root) if train_list else scan(root)
    return pack(manifest, out)


class PackedAudio:
    """A packed file opened for reading; the memory map is opened lazily in each process."""

    def __init__(self, path: str | Path):
        self.data_path, self.index_path = _paths(path)
        for needed in (self.data_path, self.index_path):
            if not needed.is_file():
                raise FileNotFoundError(f"{needed}: packed audio not found (make it with `labkit pack-audio`)")
        self.index = pd.read_csv(self.index_path, dtype={"utt": str, "speaker": str})
        expected = int((self.index["offset"] + self.index["frames"]).max()) if len(self.index) else 0
        size = self.data_path.stat().st_size // 2
        if size != expected:
            raise ValueError(f"{self.data_path}: {size} samples but {self.index_path} describes {expected}; pack again")
        self._samples: np.memmap | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_samples": None}  # DataLoader workers reopen the map instead of copying it

    @property
    def samples(self) -> np.memmap:
        if self._samples is None:
            self._samples = np.memmap(self.data_path, dtype=np.int16, mode="r")
        return self._samples

    def offsets(self, utts: np.ndarray) -> np.ndarray:
        """Offset (in samples) of each utterance id; an error names any that are not packed."""
        where = pd.Series(self.index["offset"].to_numpy(), index=self.index["utt"])
        missing = [u for u in utts if u not in where.index]
        if missing:
            raise KeyError(f"{self.index_path}: {len(missing)} utterance(s) not packed, e.g. {missing[:3]}")
        return where.loc[list(utts)].to_numpy(dtype=np.int64)

    def read(self, offset: int, samples: int) -> np.ndarray:
        """``samples`` int16 samples from ``offset`` (a copy, so the file can be closed)."""
        return np.array(self.samples[offset : offset + samples])
