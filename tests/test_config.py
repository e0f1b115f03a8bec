"""Config dataclasses <-> YAML/JSON, overrides and errors."""

from __future__ import annotations

import pytest

from labkit.config import ConfigError, ExperimentConfig, apply_overrides, load_config, save_config, to_dict


@pytest.mark.parametrize("name", ["run.yaml", "run.json"])
def test_round_trip(tmp_path, name):
    config = apply_overrides(ExperimentConfig(), ["model.depth=34", "optim.lr=0.01", "model.frontend.n_mels=64"])
    path = save_config(config, tmp_path / name)
    assert load_config(path) == config
    assert to_dict(load_config(path))["model"]["frontend"]["n_mels"] == 64


def test_partial_file_keeps_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  width: 32\nrun:\n  epochs: 3\n")
    config = load_config(path)
    assert config.model.width == 32 and config.run.epochs == 3 and config.model.depth == ExperimentConfig().model.depth


@pytest.mark.parametrize(
    "text, message",
    [
        ("model:\n  widht: 32\n", r"c.yaml.model: unknown key\(s\) \['widht'\]"),
        ("model:\n  width: thirty\n", r"c.yaml.model.width: expected int, got 'thirty'"),
        ("model:\n  plain: 1\n", r"c.yaml.model.plain: expected bool"),
        ("model: [1, 2]\n", r"c.yaml.model: expected a mapping"),
        ("model: {width: [\n", r"c.yaml: not valid YAML"),
    ],
)
def test_bad_files_are_named(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_int_accepted_for_float():
    assert apply_overrides(ExperimentConfig(), ["optim.lr=1"]).optim.lr == 1.0


def test_bad_overrides():
    with pytest.raises(ConfigError, match="unknown key 'depht'"):
        apply_overrides(ExperimentConfig(), ["model.depht=3"])
    with pytest.raises(ConfigError, match="expected section.key=value"):
        apply_overrides(ExperimentConfig(), ["model.depth"])
    with pytest.raises(ConfigError, match="no section 'modle'"):
        apply_overrides(ExperimentConfig(), ["modle.depth=3"])
