"""Saving and loading speaker models: our own files, and the published WeSpeaker / voxceleb_trainer ones.

``save(model, path)`` writes one file: ``{"format": "labkit.speaker_model", "version": 1, "config":
ModelConfig (front-end settings included) as a dict, "state_dict": weights, "extra": JSON-like
values}``. ``load(path)`` recognises:

* ours (above);
* a WeSpeaker model directory, or its ``avg_model.pt`` with ``config.yaml`` beside it: a plain state
  dict of ``wespeaker/models/resnet.py`` (``shortcut.*``, ``seg_1.*``; the training-only
  ``projection.*`` classifier is ignored) -> our ResNet with TSTP, on Kaldi fbank + CMN of
  int16-scale audio;
* a voxceleb_trainer file: the published legacy format (a flat state dict whose keys start with
  ``__S__.`` for the model, front-end buffers included, and ``__L__.`` for the loss, ignored) or
  the newer ``{"model_state_dict": ..., "optimizer_state_dict": ..., "epoch": ...}`` -> ResNetSE34L
  (7x7 stem, SAP, 40 mel) or ResNetSE34V2 (ASP, 64 mel, pre-emphasis).

Files are always read with ``torch.load(..., weights_only=True)`` (no code runs from a checkpoint).
Weights stored as fp16 are cast to the model's fp32. A file that does not fit raises
``CheckpointError`` naming the format it was read as and the keys that did not fit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import Tensor, nn

from labkit.config import FrontendConfig, ModelConfig, from_dict, to_dict
from labkit.errors import LabkitError
from labkit.files import atomic_path
from labkit.models.speaker import SpeakerModel, build_model

FORMAT = "labkit.speaker_model"
VERSION = 1
RESEMBLYZER = "resemblyzer"  # the name load() takes for Resemblyzer 0.1.4's published encoder
# WeSpeaker -> our key names (wespeaker/models/resnet.py)
WESPEAKER_KEYS = [(r"\.shortcut\.", ".downsample."), (r"^seg_1\.", "embedding."), (r"^seg_bn_1\.", "embedding_bn."), (r"^seg_2\.", "embedding2.")]
# voxceleb_trainer -> our key names (models/ResNetSE34L.py, models/ResNetSE34V2.py)
VOXCELEB_TRAINER_KEYS = [(r"^fc\.", "embedding."), (r"^sap_linear\.", "pool.linear."), (r"^attention", "pool.attention")]


class CheckpointError(LabkitError, ValueError):
    """A checkpoint file that cannot be read, or whose contents do not fit the model it describes."""


def save(model: SpeakerModel, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write config + weights (+ ``extra``: numbers, strings, lists, dicts) to ``path`` in one file, atomically."""
    path = Path(path)
    extra = dict(extra or {})
    try:
        json.dumps(extra)  # plain values only, so that weights_only loading can read them back
    except TypeError as error:
        raise TypeError(f"save({path}): extra must hold plain JSON-like values: {error}") from error
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": to_dict(model.config),
        "state_dict": {key: value.detach().cpu() for key, value in model.state_dict().items()},
        "extra": extra,
    }
    with atomic_path(path) as tmp:  # an interrupted save never leaves a half-written model.pt
        torch.save(payload, tmp)
    return path


def load(path: str | Path, map_location: str | torch.device = "cpu") -> SpeakerModel:
    """A ``SpeakerModel`` in eval mode from our file, a WeSpeaker directory/file or a voxceleb_trainer file;
    ``"resemblyzer"``: Resemblyzer's encoder trained on real speech (``labkit.models.resemblyzer``)."""
    if str(path) == RESEMBLYZER:
        from labkit.models.resemblyzer import load as load_resemblyzer

        return load_resemblyzer(map_location)
    path = Path(path)
    if path.is_dir():
        weights = next((w for w in (path / "avg_model.pt", path / "avg_model") if w.is_file()), None)  # Hugging Face: no .pt
        if weights is None:
            raise CheckpointError(f"{path}: a folder, but not a WeSpeaker model directory (expected avg_model.pt + config.yaml in it)")
        model = _load_wespeaker(weights, path / "config.yaml")
    else:
        checkpoint = read_file(path)
        if isinstance(checkpoint, dict) and checkpoint.get("format") == FORMAT:
            model = _load_labkit(checkpoint, path)
        elif (vt_state := _voxceleb_trainer_state(checkpoint)) is not None:
            model = _load_voxceleb_trainer(vt_state, path)
        elif isinstance(checkpoint, dict) and "seg_1.weight" in checkpoint:
            model = _load_wespeaker(path, path.with_name("config.yaml"), checkpoint)
        else:
            raise CheckpointError(
                f"{path}: not a checkpoint labkit knows; expected a labkit file ({{'format': {FORMAT!r}, ...}}), "
                "a WeSpeaker model directory (avg_model.pt + config.yaml) or a voxceleb_trainer file "
                f"(keys '__S__.*' or 'model_state_dict'); found {_describe_keys(checkpoint)}"
            )
    return model.to(map_location).eval()


def load_extra(path: str | Path) -> dict[str, Any]:
    """The ``extra`` dict that ``save`` stored (empty for peer checkpoints and WeSpeaker folders)."""
    if Path(path).is_dir() or str(path) == RESEMBLYZER:
        return {}
    checkpoint = read_file(Path(path))
    is_ours = isinstance(checkpoint, dict) and checkpoint.get("format") == FORMAT
    return dict(checkpoint.get("extra", {})) if is_ours else {}


def read_file(path: Path) -> Any:
    """torch.load with weights_only=True on the CPU; anything unreadable becomes a CheckpointError naming the file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as error:  # truncated zip (an OSError "Invalid argument"), random bytes, pickled code: many kinds
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise CheckpointError(
            f"{path}: cannot be read as a PyTorch checkpoint (expected a torch.save file of labkit, WeSpeaker "
            f"or voxceleb_trainer; truncated or not a checkpoint?): {type(error).__name__}: {reason}"
        ) from error


def _describe_keys(checkpoint: Any) -> str:
    if not isinstance(checkpoint, dict):
        return f"a {type(checkpoint).__name__}"
    return f"keys {_shortlist(list(checkpoint))}"


def _shortlist(items: list[str], limit: int = 8) -> str:
    """At most ``limit`` items, then how many more."""
    more = f" ... ({len(items) - limit} more)" if len(items) > limit else ""
    return "[" + ", ".join(map(str, items[:limit])) + "]" + more


def _rename(state: dict[str, Tensor], rules: list[tuple[str, str]]) -> dict[str, Tensor]:
    """Apply each (regex, replacement) rule to every key."""
    renamed = {}
    for key, value in state.items():
        for pattern, replacement in rules:
            key = re.sub(pattern, replacement, key)
        renamed[key] = value
    return renamed


def fit_state_dict(module: nn.Module, state: dict[str, Any], path: Path, what: str) -> None:
    """Load ``state`` into ``module`` after checking every key and shape; fp16 values are cast to the module's dtype."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: does not fit {what}: expected a dict of tensors, found a {type(state).__name__}")
    expected = module.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    misshapen = [
        f"{key} {tuple(getattr(state[key], 'shape', ()))} (expected {tuple(expected[key].shape)})"
        for key in expected
        if key in state and (not isinstance(state[key], Tensor) or state[key].shape != expected[key].shape)
    ]
    if missing or unexpected or misshapen:
        problems = [
            f"{name} {_shortlist(keys)}"
            for name, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", misshapen))
            if keys
        ]
        raise CheckpointError(f"{path}: does not fit {what}: " + "; ".join(problems))
    module.load_state_dict({key: state[key].to(expected[key].dtype) for key in expected})


def _load_labkit(checkpoint: dict[str, Any], path: Path) -> SpeakerModel:
    config = from_dict(ModelConfig, checkpoint.get("config", {}), where=f"{path}: config")
    model = build_model(config)
    fit_state_dict(model, checkpoint.get("state_dict", {}), path, f"a labkit speaker model ({config.arch}, depth {config.depth})")
    return model


def _load_wespeaker(model_file: Path, config_file: Path, state: dict[str, Any] | None = None) -> SpeakerModel:
    """WeSpeaker's ResNet: the architecture and front-end come from config.yaml, the weights from the .pt file."""
    if not config_file.is_file():
        raise CheckpointError(f"{model_file}: a WeSpeaker checkpoint needs its config.yaml beside it ({config_file} not found)")
    state = read_file(model_file) if state is None else state
    if not isinstance(state, dict):
        raise CheckpointError(f"{model_file}: expected a WeSpeaker state dict, found {_describe_keys(state)}")
    try:
        config = _wespeaker_config(config_file, two_emb_layer="seg_2.weight" in state)
    except CheckpointError:
        raise
    except (AttributeError, TypeError, ValueError) as error:  # e.g. model_args: 5, or embed_dim: abc
        raise CheckpointError(f"{config_file}: unexpected contents ({error}); expected WeSpeaker's model, model_args "
                              "and dataset_args.fbank_args sections") from error
    state = {key: value for key, value in state.items() if not key.startswith("projection.")}  # training-only classifier
    model = build_model(config)
    fit_state_dict(model.encoder, _rename(state, WESPEAKER_KEYS), model_file, f"WeSpeaker ResNet{config.depth} as {config_file.name} describes it")
    return model


def _wespeaker_config(config_file: Path, two_emb_layer: bool) -> ModelConfig:
    """ModelConfig of a WeSpeaker config.yaml: ``model: ResNet34``, ``model_args`` and ``dataset_args.fbank_args``.

    ``two_emb_layer`` is used when model_args leaves it out (WeSpeaker's own default differs between versions,
    so the caller reads it off the weights: a ``seg_2`` layer is there or not)."""
    try:
        settings = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CheckpointError(f"{config_file}: not valid YAML: {error}") from error
    name = str(settings.get("model", "")) if isinstance(settings, dict) else ""
    match = re.fullmatch(r"ResNet(\d+)", name)
    if not match:
        raise CheckpointError(f"{config_file}: model {name!r} is not supported; expected a WeSpeaker ResNet (model: ResNet34, ...)")
    args = settings.get("model_args", {})
    if args.get("pooling_func", "TSTP") != "TSTP":
        raise CheckpointError(f"{config_file}: pooling_func {args['pooling_func']!r} is not supported; expected 'TSTP'")
    dataset = settings.get("dataset_args", {})
    fbank = dataset.get("fbank_args", {})
    sample_rate = int(dataset.get("resample_rate", 16000))
    n_mels = int(args.get("feat_dim", fbank.get("num_mel_bins", 80)))
    if n_mels != int(fbank.get("num_mel_bins", n_mels)):
        raise CheckpointError(f"{config_file}: model_args.feat_dim {n_mels} differs from fbank_args.num_mel_bins {fbank['num_mel_bins']}")
    frontend = FrontendConfig(
        kind="fbank", sample_rate=sample_rate, n_mels=n_mels,
        win_length=int(fbank.get("frame_length", 25) * sample_rate // 1000),
        hop_length=int(fbank.get("frame_shift", 10) * sample_rate // 1000),
        window="hamming", preemphasis=0.97, input_scale=32768.0, normalize="cmn", dither=float(fbank.get("dither", 0.0)),
    )
    return ModelConfig(
        arch="resnet", depth=int(match[1]), width=int(args.get("m_channels", 32)), pooling="tstp",
        embed_dim=int(args.get("embed_dim", 256)), two_embed_layers=bool(args.get("two_emb_layer", two_emb_layer)), frontend=frontend,
    )


def _voxceleb_trainer_state(checkpoint: Any) -> dict[str, Any] | None:
    """The model's own keys (``__S__.`` prefix removed, loss keys dropped), or None if this is not voxceleb_trainer's."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("model_state_dict"), dict):
        checkpoint = checkpoint["model_state_dict"]  # the newer format also holds optimizer and scheduler states
    if not isinstance(checkpoint, dict) or not any(str(key).startswith("__S__.") for key in checkpoint):
        return None
    return {key[len("__S__."):]: value for key, value in checkpoint.items() if key.startswith("__S__.")}


def _load_voxceleb_trainer(state: dict[str, Any], path: Path) -> SpeakerModel:
    config, name = _voxceleb_trainer_config(state, path)
    model = build_model(config)
    weights = {key: value for key, value in state.items() if not key.startswith("torchfb.")}  # our front-end rebuilds them
    fit_state_dict(model.encoder, _rename(weights, VOXCELEB_TRAINER_KEYS), path, f"voxceleb_trainer {name}")
    return model


def _voxceleb_trainer_config(state: dict[str, Any], path: Path) -> tuple[ModelConfig, str]:
    """ResNetSE34L (7x7 stem) or ResNetSE34V2 (3x3 stem with bias), with sizes read off the weights."""
    for key in ("conv1.weight", "fc.weight"):
        if not isinstance(state.get(key), Tensor):
            raise CheckpointError(f"{path}: not a voxceleb_trainer ResNetSE34L/ResNetSE34V2 model: no '__S__.{key}'")
    se34l = state["conv1.weight"].shape[-1] == 7
    mel_banks = state.get("torchfb.mel_scale.fb", state.get("torchfb.1.mel_scale.fb"))  # (n_fft // 2 + 1, n_mels)
    flipped_filter = state.get("torchfb.0.flipped_filter")  # PreEmphasis: [-coefficient, 1]
    frontend = FrontendConfig(
        kind="melspec", n_mels=int(mel_banks.shape[1]) if mel_banks is not None else (40 if se34l else 64),
        window="hamming", preemphasis=round(-float(flipped_filter.flatten()[0]), 6) if flipped_filter is not None else 0.0,
        input_scale=1.0, normalize="instance",
    )
    common = dict(
        arch="resnet", depth=34, width=int(state["conv1.weight"].shape[0]), embed_dim=int(state["fc.weight"].shape[0]),
        pooling="sap" if "sap_linear.weight" in state else "asp", squeeze_excitation=True, relu_before_bn=True, frontend=frontend,
    )
    if se34l:
        return ModelConfig(stem_kernel=7, stem_stride=2, layer4_stride=1, freq_pooling="mean", **common), "ResNetSE34L"
    return ModelConfig(stem_relu_first=True, **common), "ResNetSE34V2"


def load_or_build(name: str, width: int | None = None) -> nn.Module:
    """A model from a name ("resnet10" .. "resnet152", "xvector") or a checkpoint path (``labkit.models.load``)."""
    if Path(name).exists():
        return load(name)
    if name == "xvector":
        return build_model(ModelConfig(arch="xvector", embed_dim=512))
    depth = name.removeprefix("resnet")
    if not name.startswith("resnet") or not depth.isdigit():
        raise ValueError(f"unknown model {name!r}; expected resnet10 .. resnet152, xvector or a checkpoint path")
    config = ModelConfig(arch="resnet", depth=int(depth))
    if width is not None:
        config.width = width
    return build_model(config)
