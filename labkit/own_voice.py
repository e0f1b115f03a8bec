"""Your own voice (session 2, optional): two short clips, recorded or uploaded, scored by a model.

    first, second = two_clips("my_voice")          # Colab: records two clips in the browser;
                                                   # elsewhere: two utterances of one corpus speaker
    score_pair(models.load("resemblyzer"), first, second)   # cosine similarity of the two embeddings

On Colab, ``record_clip`` asks the browser for the microphone through Colab's JavaScript bridge
(``google.colab.output.eval_js``) and ``upload_clips`` opens the file picker
(``google.colab.files.upload``). Whatever arrives (webm/opus from the browser, mp3, m4a, wav at
any rate) is decoded with PyAV and saved as 16 kHz mono PCM16 wav, like the corpus. Headless runs
(tests, CI, a terminal) have neither microphone nor file picker: ``two_clips`` then takes two
utterances of one test speaker of a corpus, from two different sessions.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import nn

from labkit.colab import in_colab
from labkit.data.subset import to_wav
from labkit.data.voxceleb import SAMPLE_RATE

# The browser side: record `seconds` with MediaRecorder and hand the clip back as a data URL.
RECORD_JS = """
async function recordClip(seconds) {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const recorder = new MediaRecorder(stream);
  const chunks = [];
  recorder.ondataavailable = (event) => chunks.push(event.data);
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  recorder.stop();
  await stopped;
  stream.getTracks().forEach((track) => track.stop());
  const blob = new Blob(chunks, {type: recorder.mimeType});
  return await new Promise((resolve) => {
    const reader = new FileReader();
    reader.onloadend = () => resolve(reader.result);
    reader.readAsDataURL(blob);
  });
}
"""


def save_clip(data: bytes, path: str | Path) -> Path:
    """Audio bytes in any format PyAV reads -> ``path`` as 16 kHz mono PCM16 wav (written atomically)."""
    path = Path(path)
    if to_wav(data, path) == 0:
        raise ValueError(f"{path.name}: the clip holds no audio (was the microphone allowed?)")
    return path


def record_clip(path: str | Path, seconds: float = 4.0) -> Path:
    """Record ``seconds`` from the browser's microphone (Colab only) into ``path``."""
    from google.colab.output import eval_js

    print(f"Recording {seconds:g} s: speak now / grabando {seconds:g} s: hable ahora ...")
    data_url = eval_js(RECORD_JS + f"\nrecordClip({float(seconds)})")
    return save_clip(base64.b64decode(data_url.split(",", 1)[1]), path)


def upload_clips(folder: str | Path) -> list[Path]:
    """Colab's file picker: every uploaded file saved as ``folder/<name>.wav`` (16 kHz mono)."""
    from google.colab import files

    folder = Path(folder)
    return [save_clip(data, folder / f"{Path(name).stem}.wav") for name, data in files.upload().items()]


def corpus_pair(root: str | Path) -> tuple[Path, Path]:
    """Two utterances of the first test speaker (id1xxxx) of a corpus, from two different sessions."""
    root = Path(root)
    speakers = sorted(p for p in (root / "wav").glob("id1*") if p.is_dir())
    for speaker in speakers:
        sessions = sorted(p for p in speaker.iterdir() if p.is_dir())
        if len(sessions) >= 2:
            return sorted(sessions[0].glob("*.wav"))[0], sorted(sessions[1].glob("*.wav"))[0]
    raise FileNotFoundError(f"{root}: no test speaker (wav/id1xxxx) with two sessions")


def two_clips(folder: str | Path, root: str | Path | None = None, upload: bool = False, seconds: float = 4.0) -> tuple[Path, Path]:
    """Your two clips: recorded (or, with ``upload``, uploaded) on Colab; elsewhere two files of ``root``'s corpus."""
    if not in_colab():
        if root is None:
            raise ValueError("not in Colab: no microphone or file picker here; pass root= (a corpus) to use two of its files")
        return corpus_pair(root)
    folder = Path(folder)
    if upload:
        clips = upload_clips(folder)
        if len(clips) != 2:
            raise ValueError(f"upload exactly two audio files (got {len(clips)})")
        return clips[0], clips[1]
    return record_clip(folder / "clip1.wav", seconds), record_clip(folder / "clip2.wav", seconds)


@torch.inference_mode()
def score_pair(model: nn.Module, first: str | Path, second: str | Path) -> float:
    """Cosine similarity of ``model``'s embeddings of two 16 kHz audio files (the score a trial would get)."""
    device = next(model.parameters()).device
    embeddings = []
    for path in (first, second):
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        if rate != SAMPLE_RATE:
            raise ValueError(f"{path}: {rate} Hz, expected {SAMPLE_RATE} Hz (save_clip converts any clip)")
        was_training = model.training
        model.eval()
        embeddings.append(model(torch.from_numpy(np.ascontiguousarray(audio[:, 0]))[None].to(device))[0].float())
        model.train(was_training)
    return float(torch.nn.functional.cosine_similarity(embeddings[0], embeddings[1], dim=0))
