"""Configuration as plain dataclasses that round-trip through YAML and JSON.

One ``ExperimentConfig`` (data, model, loss, optimiser, run) drives both the ``labkit``
command line and the notebooks; every run writes its resolved config next to its outputs.
Every knob is visible here with its default.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

import yaml

from labkit.errors import LabkitError
from labkit.files import write_text_atomic

T = TypeVar("T")


@dataclass
class FrontendConfig:
    """Waveform -> log-mel features, computed inside the model (see labkit.features)."""

    kind: str = "fbank"  # "fbank" (Kaldi / WeSpeaker) or "melspec" (torchaudio MelSpectrogram / voxceleb_trainer)
    sample_rate: int = 16000
    n_mels: int = 80
    n_fft: int = 512
    win_length: int = 400  # samples (25 ms)
    hop_length: int = 160  # samples (10 ms)
    window: str = "hamming"  # "hamming", "hann" or "povey"
    preemphasis: float = 0.97  # 0 disables it
    input_scale: float = 1.0  # 32768 for checkpoints trained on int16-scale audio
    normalize: str = "cmn"  # "cmn" (subtract the per-utterance mean), "instance" (mean and std) or "none"
    dither: float = 0.0  # Kaldi dither (in units after input_scale: 1.0 = one int16 step at 32768), training mode only


@dataclass
class ModelConfig:
    """A speaker embedding network: front-end -> encoder -> pooling -> embedding."""

    arch: str = "resnet"  # "resnet" or "xvector"
    depth: int = 10  # ResNet layers: 10, 18, 34, 50, 101, 152
    width: int = 16  # channels of the first stage (thin speaker ResNets use 16 or 32; ImageNet uses 64)
    pooling: str = "tstp"  # "tstp" (mean+std), "asp" (attentive statistics), "sap" (self-attentive)
    embed_dim: int = 256
    two_embed_layers: bool = False
    squeeze_excitation: bool = False
    plain: bool = False  # no shortcuts: the "plain network" of the ResNet paper
    # Geometry of the voxceleb_trainer peers (the defaults are WeSpeaker's and the thin ResNets'):
    stem_kernel: int = 3  # first convolution: 3x3, or 7x7 (ResNetSE34L)
    stem_stride: int = 1  # stride of the first convolution along frequency (ResNetSE34L: 2); never along time
    stem_relu_first: bool = False  # stem conv (with bias) -> ReLU -> BN (ResNetSE34V2) instead of conv -> BN -> ReLU
    relu_before_bn: bool = False  # blocks use conv -> ReLU -> BN (voxceleb_trainer) instead of conv -> BN -> ReLU
    layer4_stride: int = 2  # stride of the last stage (ResNetSE34L: 1)
    freq_pooling: str = "flatten"  # before pooling over time: "flatten" frequency into channels, or "mean" over it (ResNetSE34L)
    frontend: FrontendConfig = field(default_factory=FrontendConfig)


@dataclass
class LossConfig:
    """Classification loss over training speakers."""

    kind: str = "aam"  # "softmax", "am" (additive margin), "aam" (additive angular margin), "angleproto" (angular prototypical)
    scale: float = 30.0
    margin: float = 0.2
    easy_margin: bool = False
    margin_warmup_epochs: float = 0.0  # margin grows linearly from 0 over these epochs


@dataclass
class DataConfig:
    """Where the audio is and how training crops are drawn."""

    root: str = "data/synthetic-lab"  # a VoxCeleb-layout directory: root/wav/idXXXXX/<video>/NNNNN.wav
    train_list: str = ""  # voxceleb_trainer list ("id00012 id00012/21Uxsk56VDQ/00001.wav"); empty = meta/train_list.txt
    trials: str = ""  # evaluation trial list; empty = meta/veri_test.txt
    val_trials: str = ""  # held-out validation trials; empty = none
    crop_seconds: float = 2.0
    batch_size: int = 64
    num_workers: int = 2
    sampler: str = "uniform"  # "uniform" over utterances or "balanced" (N speakers x M utterances)
    utts_per_speaker: int = 2  # M for the balanced sampler
    augment: bool = False
    noise_dir: str = ""  # folder of noise wavs for augmentation; empty = synthetic noise
    max_eval_seconds: float = 0.0  # cap evaluation utterances; 0 = full length
    packed: str = ""  # packed training audio from `labkit pack-audio` (NAME.int16 + NAME.csv); empty = read the wav files
    rir_dir: str = ""  # folder of room impulse responses for augmentation; empty = synthetic reverb
    eval_batch_size: int = 16  # utterances per embedding batch (length-ordered, zero-padded)


@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule."""

    name: str = "adam"  # "sgd" or "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-5
    warmup_epochs: float = 0.5
    schedule: str = "cosine"  # "cosine" or "exponential"
    final_lr: float = 1e-5
    grad_clip: float = 5.0  # 0 disables clipping


@dataclass
class RunConfig:
    """Bookkeeping: where outputs go, how long to run, on what device."""

    out_dir: str = "runs/default"
    epochs: int = 10
    max_minutes: float = 0.0  # stop (after saving) when this budget is spent; 0 = no budget
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda" or "cuda:1", ...; "cuda" without a GPU is an error
    amp: str = "auto"  # "auto" (bf16/fp16 on CUDA, off on CPU), "bf16", "fp16" or "off"
    checkpoint_every_steps: int = 200
    log_every_steps: int = 10
    keep_checkpoints: int = 2  # newest training checkpoints kept (the older one is the fallback)
    force_resume: bool = False  # resume even if the checkpoint's batch size, seed, optimiser or process count differ


@dataclass
class ExperimentConfig:
    """Everything one training or evaluation run needs."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)


class ConfigError(LabkitError, ValueError):
    """A configuration file or override that does not fit the dataclasses above."""


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as nested plain dicts (ready for JSON or YAML)."""
    return dataclasses.asdict(config)


def from_dict(cls: type[T], values: dict[str, Any], where: str = "config") -> T:
    """Build ``cls`` from nested dicts; unknown keys and wrong types raise ConfigError naming them."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping for {cls.__name__}, got {type(values).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown} for {cls.__name__}; expected some of {sorted(names)}")
    kwargs = {}
    for name, value in values.items():
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            kwargs[name] = from_dict(kind, value, f"{where}.{name}")
        else:
            kwargs[name] = _coerce(value, kind, f"{where}.{name}")
    return cls(**kwargs)


def _coerce(value: Any, kind: type, where: str) -> Any:
    """Check a scalar against its annotated type (ints are accepted where floats are expected)."""
    if kind is float and type(value) is int:
        return float(value)
    if kind is float and isinstance(value, str):  # PyYAML reads "1e-5" (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if type(value) is not kind:  # strict: True is not an int, "3" is not a float
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def save_config(config: Any, path: str | Path) -> Path:
    """Write a config as YAML (``.yaml``/``.yml``) or JSON (anything else), atomically."""
    values = to_dict(config)
    yaml_file = Path(path).suffix in (".yaml", ".yml")
    return write_text_atomic(path, yaml.safe_dump(values, sort_keys=False) if yaml_file else json.dumps(values, indent=2) + "\n")


def load_config(path: str | Path, cls: type[T] = ExperimentConfig) -> T:  # type: ignore[assignment]
    """Read a YAML or JSON config file; missing keys keep their defaults."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML/JSON: {error}") from error
    return from_dict(cls, values, where=str(path))


def apply_overrides(config: T, overrides: list[str]) -> T:
    """Apply ``section.key=value`` strings (values parsed as YAML), as given on the command line."""
    values = to_dict(config)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r}: expected section.key=value")
        *parents, leaf = key.split(".")
        node = values
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"override {item!r}: no section {part!r}")
            node = node[part]
        if leaf not in node:
            raise ConfigError(f"override {item!r}: unknown key {leaf!r}; expected one of {sorted(node)}")
        node[leaf] = yaml.safe_load(raw)
    return from_dict(type(config), values, where="overrides")


# ----------------------------------------------------------------------------- validation

# Every key with a closed set of values (one place: the comments above say the same in words).
CHOICES: dict[str, tuple[str, ...]] = {
    "data.sampler": ("uniform", "balanced"),
    "model.arch": ("resnet", "xvector"),
    "model.pooling": ("tstp", "asp", "sap"),
    "model.freq_pooling": ("flatten", "mean"),
    "model.frontend.kind": ("fbank", "melspec"),
    "model.frontend.window": ("hamming", "hann", "povey"),
    "model.frontend.normalize": ("cmn", "instance", "none"),
    "loss.kind": ("softmax", "am", "aam", "angleproto"),
    "optim.name": ("sgd", "adam"),
    "optim.schedule": ("cosine", "exponential"),
    "run.amp": ("auto", "bf16", "fp16", "off"),
}
# Numbers that must be > 0, and those that must be >= 0.
POSITIVE = [
    "data.crop_seconds", "data.batch_size", "data.utts_per_speaker", "data.eval_batch_size",
    "model.width", "model.embed_dim", "model.stem_kernel", "model.stem_stride", "model.layer4_stride",
    "model.frontend.sample_rate", "model.frontend.n_mels", "model.frontend.n_fft", "model.frontend.win_length",
    "model.frontend.hop_length", "model.frontend.input_scale", "loss.scale", "optim.lr", "optim.final_lr",
    "run.epochs", "run.checkpoint_every_steps", "run.log_every_steps", "run.keep_checkpoints",
]
NON_NEGATIVE = [
    "data.num_workers", "data.max_eval_seconds", "model.frontend.preemphasis", "model.frontend.dither", "loss.margin",
    "loss.margin_warmup_epochs", "optim.momentum", "optim.weight_decay", "optim.warmup_epochs", "optim.grad_clip",
    "run.max_minutes",
]
DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
XVECTOR_CONTEXT = 15  # frames the x-vector's TDNN layers consume (labkit.models.xvector.RECEPTIVE_FIELD)


def get_key(config: Any, key: str) -> Any:
    """The value at a dotted key such as ``"model.frontend.n_mels"``."""
    for part in key.split("."):
        config = getattr(config, part)
    return config


def validate(cfg: ExperimentConfig) -> ExperimentConfig:
    """Check ranges, choices and combinations that cannot train; raise ConfigError naming the key. Returns ``cfg``.

    Run before anything is written, so that a bad value costs nothing. Checks that need the
    machine or the data (CUDA present, the audio's sample rate) are made by ``labkit.train``.
    """
    for key, options in CHOICES.items():
        if get_key(cfg, key) not in options:
            raise ConfigError(f"{key}: expected one of {list(options)}, got {get_key(cfg, key)!r}")
    for key in POSITIVE:
        if not get_key(cfg, key) > 0:
            raise ConfigError(f"{key}: expected a number > 0, got {get_key(cfg, key)!r}")
    for key in NON_NEGATIVE:
        if not get_key(cfg, key) >= 0:
            raise ConfigError(f"{key}: expected a number >= 0, got {get_key(cfg, key)!r}")
    if not DEVICE.fullmatch(cfg.run.device):
        raise ConfigError(f"run.device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {cfg.run.device!r}")
    frontend = cfg.model.frontend
    if frontend.win_length > frontend.n_fft:
        raise ConfigError(f"model.frontend.win_length: expected at most n_fft ({frontend.n_fft}), got {frontend.win_length}")
    if frontend.preemphasis >= 1:
        raise ConfigError(f"model.frontend.preemphasis: expected a number in [0, 1), got {frontend.preemphasis}")
    if cfg.optim.momentum >= 1:
        raise ConfigError(f"optim.momentum: expected a number in [0, 1), got {cfg.optim.momentum}")
    _validate_model(cfg)
    _validate_batches(cfg)
    return cfg


def _validate_model(cfg: ExperimentConfig) -> None:
    """Architecture options that the chosen ``model.arch`` has."""
    model, frontend = cfg.model, cfg.model.frontend
    if model.arch == "resnet":
        from labkit.models.resnet import ARCHITECTURES, SE_REDUCTION  # imported here: the config module stays light

        if model.depth not in ARCHITECTURES:
            raise ConfigError(f"model.depth: expected one of {sorted(ARCHITECTURES)} for a ResNet, got {model.depth}")
        if model.squeeze_excitation and model.width < SE_REDUCTION:
            raise ConfigError(f"model.width: squeeze-excitation divides the channels by {SE_REDUCTION}, so it needs a width of "
                              f"at least {SE_REDUCTION}, got {model.width}")
        return
    if model.pooling != "tstp" or model.plain or model.squeeze_excitation:
        raise ConfigError("model.arch=xvector: the x-vector always uses statistics pooling and no residual blocks; "
                          f"expected model.pooling=tstp, plain=false, squeeze_excitation=false, got pooling={model.pooling}, "
                          f"plain={model.plain}, squeeze_excitation={model.squeeze_excitation}")
    crop_frames = 1 + (round(cfg.data.crop_seconds * frontend.sample_rate) - frontend.win_length) // frontend.hop_length
    if crop_frames < XVECTOR_CONTEXT:
        raise ConfigError(f"data.crop_seconds: the x-vector needs at least {XVECTOR_CONTEXT} frames per crop, "
                          f"{cfg.data.crop_seconds:g} s gives {crop_frames}")


def _validate_batches(cfg: ExperimentConfig) -> None:
    """The sampler must build the batches the loss needs."""
    data = cfg.data
    if cfg.loss.kind == "angleproto":
        if data.sampler != "balanced":
            raise ConfigError("loss.kind=angleproto compares each speaker's utterances within a batch: it needs "
                              f"data.sampler=balanced (N speakers x data.utts_per_speaker utterances), got data.sampler={data.sampler}")
        if data.utts_per_speaker < 2 or data.batch_size < 2 * data.utts_per_speaker:
            raise ConfigError("loss.kind=angleproto needs data.utts_per_speaker >= 2 and at least 2 speakers per batch "
                              f"(data.batch_size >= 2 x utts_per_speaker), got utts_per_speaker={data.utts_per_speaker}, "
                              f"batch_size={data.batch_size}")
    if data.sampler == "balanced" and data.batch_size % data.utts_per_speaker:
        raise ConfigError(f"data.batch_size: the balanced sampler needs a multiple of data.utts_per_speaker "
                          f"({data.utts_per_speaker}), got {data.batch_size}")
