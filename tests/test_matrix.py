"""Every option the config offers trains: each loss.kind x sampler x architecture x pooling, a few steps on the
tiny corpus, then save, load and evaluate. Combinations that cannot train are refused by the config's validation."""

from __future__ import annotations

import math

import pytest

from labkit import models
from labkit.config import ConfigError, ExperimentConfig, apply_overrides, validate
from labkit.evaluate import evaluate
from labkit.train import train
from labkit.trials import Trials, read_trials
from test_train import read_history, tiny_config

ARCHITECTURES = {  # name -> model overrides
    "resnet": ["model.arch=resnet"],
    "resnet-se": ["model.arch=resnet", "model.squeeze_excitation=true", "model.width=8"],  # the gate divides channels by 8
    "plain": ["model.arch=resnet", "model.plain=true"],
    "xvector": ["model.arch=xvector", "model.embed_dim=32"],
}
LOSSES = ["softmax", "am", "aam", "angleproto"]
SAMPLERS = ["uniform", "balanced"]
POOLINGS = ["tstp", "asp", "sap"]
COMBINATIONS = [
    (loss, sampler, arch, pooling)
    for loss in LOSSES for sampler in SAMPLERS for arch in ARCHITECTURES for pooling in POOLINGS
    if not (loss == "angleproto" and sampler == "uniform") and not (arch == "xvector" and pooling != "tstp")
]


def matrix_overrides(loss: str, sampler: str, arch: str, pooling: str) -> list[str]:
    """One epoch of 4 steps (8 crops of 0.5 s from the tiny corpus's 32 utterances), with a very small network."""
    return [f"loss.kind={loss}", f"data.sampler={sampler}", f"model.pooling={pooling}", "model.width=4", "model.embed_dim=16",
            "run.epochs=1", "run.checkpoint_every_steps=2", "model.frontend.n_mels=24", *ARCHITECTURES[arch]]


@pytest.fixture(scope="module")
def few_trials(tiny_corpus, tmp_path_factory) -> Trials:
    """The tiny corpus's first 8 trials (4 targets, 4 non-targets): enough to evaluate, quick to embed."""
    path = tmp_path_factory.mktemp("trials") / "few.txt"
    path.write_text("".join((tiny_corpus / "meta" / "veri_test.txt").read_text().splitlines(keepends=True)[:8]))
    trials = read_trials(path)
    assert sorted(trials.labels.tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]
    return trials


@pytest.mark.slow
@pytest.mark.parametrize("loss, sampler, arch, pooling", COMBINATIONS)
def test_every_combination_trains_saves_loads_and_evaluates(tiny_corpus, few_trials, tmp_path, loss, sampler, arch, pooling):
    cfg = tiny_config(tiny_corpus, tmp_path / "run", *matrix_overrides(loss, sampler, arch, pooling))
    run_dir = train(cfg, progress=False)
    history = read_history(run_dir)
    assert [int(r["step"]) for r in history] == [1, 2, 3, 4]
    assert all(math.isfinite(float(r["loss"])) and 0.0 <= float(r["acc"]) <= 1.0 for r in history)
    model = models.load(run_dir / "model.pt")
    assert model.config == cfg.model
    row = evaluate(model, few_trials, tiny_corpus, name=f"{loss}-{sampler}-{arch}-{pooling}", max_seconds=1.0, progress=False)
    assert 0.0 <= row["eer_%"] <= 100.0 and row["params_M"] > 0


@pytest.mark.parametrize("overrides, message", [
    (["loss.kind=angleproto"], r"loss.kind=angleproto .* needs data.sampler=balanced"),
    (["loss.kind=angleproto", "data.sampler=balanced", "data.utts_per_speaker=1"], r"utts_per_speaker >= 2"),
    (["data.sampler=balanced", "data.batch_size=9", "data.utts_per_speaker=2"], r"data.batch_size: .* multiple of data.utts_per_speaker \(2\), got 9"),
    (["model.arch=xvector", "model.pooling=asp"], r"model.arch=xvector: .* pooling=asp"),
    (["model.arch=xvector", "data.crop_seconds=0.1"], r"data.crop_seconds: the x-vector needs at least 15 frames per crop, 0.1 s gives 8"),
    (["model.depth=12"], r"model.depth: expected one of \[10, 18, 34"),
    (["model.squeeze_excitation=true", "model.width=4"], r"model.width: squeeze-excitation divides the channels by 8, .* got 4"),
])
def test_combinations_that_cannot_train_are_refused_with_the_reason(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(apply_overrides(ExperimentConfig(), overrides))


def test_the_matrix_covers_every_loss_sampler_architecture_and_pooling():
    assert {c[0] for c in COMBINATIONS} == set(LOSSES) and {c[1] for c in COMBINATIONS} == set(SAMPLERS)
    assert {c[2] for c in COMBINATIONS} == set(ARCHITECTURES) and {c[3] for c in COMBINATIONS} == set(POOLINGS)
    assert len(COMBINATIONS) == 70
