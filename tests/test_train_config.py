"""Training configs: presets fill every field, TOML round trip of the frozen copy, clear errors."""

from __future__ import annotations

import dataclasses

import pytest

from core.train.config import ConfigError, RunConfig, dump_toml, merge, nest, parse_override, tomllib
from core.train.presets import all_presets, get_preset


@pytest.mark.parametrize("name", sorted(all_presets()))
def test_preset_defaults_round_trip_through_toml(name):
    cfg = get_preset(name).defaults()
    assert cfg.preset == name and cfg.loss and cfg.data.kind
    text = dump_toml(cfg.to_dict())
    back = merge(get_preset(name).defaults(), tomllib.loads(text))
    assert back == cfg
    assert tomllib.loads(text) == cfg.to_dict()


def test_writer_handles_awkward_strings_and_numbers():
    data = {"a": 'quote " back\\slash\nline é', "f": 1e-7, "g": 2.0, "i": -3, "b": False, "l": [1.5, 2],
            "t": {"x": {"y": "z"}, "k": 1}, "path key": "v"}
    assert tomllib.loads(dump_toml(data)) == data


def test_merge_rejects_unknown_keys_and_wrong_types():
    base = get_preset("zero_dce").defaults()
    with pytest.raises(ConfigError, match="optim.lr"):
        merge(base, {"optim": {"lr": 1e-3}})
    with pytest.raises(ConfigError, match="model.width"):
        merge(base, {"model": {"width": 3}})
    with pytest.raises(ConfigError, match="integer"):
        merge(base, {"train": {"max_steps": "many"}})
    with pytest.raises(ConfigError, match="data.kind"):
        merge(base, {"data": {"kind": "video"}})
    assert merge(base, {"optim": {"g_lr": 1}}).optim.g_lr == 1.0  # ints are fine for floats


def test_overrides_parse_toml_values():
    assert parse_override("optim.g_lr=1e-4") == (["optim", "g_lr"], 1e-4)
    assert parse_override("data.flips=false") == (["data", "flips"], False)
    assert parse_override("data.train=/some/folder") == (["data", "train"], "/some/folder")
    assert nest(["a", "b"], 1, {"a": {"c": 2}}) == {"a": {"c": 2, "b": 1}}
    with pytest.raises(ConfigError):
        parse_override("no-equals")


def test_every_config_field_is_a_dataclass_field_with_a_default():
    cfg = RunConfig(preset="x")
    for f in dataclasses.fields(cfg):
        assert getattr(cfg, f.name) is not None
