from pathlib import Path

import pytest

from semspace.config import RunCfg, TrainCfg, from_dict, load_run_cfg, parse_override, to_dict
from semspace.errors import ConfigError


def test_yaml_then_overrides(tmp_path: Path) -> None:
    p = tmp_path / "run.yaml"
    p.write_text(
        "task: align\n"
        "task_args: {embed_dim: 32}\n"
        "data: {train: {name: world_scenes, args: {n: 100}}}\n"
        "train: {max_steps: 5, lr: 0.01}\n"
    )
    cfg = load_run_cfg(p, ["train.lr=1e-3", "train.batch_size=4", "task_args.embed_dim=16", "data.train.args.n=7"])
    assert isinstance(cfg, RunCfg) and isinstance(cfg.train, TrainCfg)
    assert cfg.train.lr == pytest.approx(1e-3) and cfg.train.batch_size == 4 and cfg.train.max_steps == 5
    assert cfg.task_args == {"embed_dim": 16} and cfg.data.train.args == {"n": 7}
    assert from_dict(RunCfg, to_dict(cfg)) == cfg  # round trip


def test_unknown_keys_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"train\.lrr"):
        load_run_cfg(None, ["train.lrr=1"])
    p = tmp_path / "bad.yaml"
    p.write_text("trian: {}\n")
    with pytest.raises(ConfigError, match="trian"):
        load_run_cfg(p)


def test_wrong_types_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train.max_steps.*expected int"):
        load_run_cfg(None, ["train.max_steps=many"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_run_cfg(tmp_path / "missing.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("task: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_run_cfg(bad)
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_override("train.lr")


def test_override_value_parsing() -> None:
    assert parse_override("a.b=1e-3") == (["a", "b"], 1e-3)
    assert parse_override("a=true") == (["a"], True)
    assert parse_override("a=[1, 2]") == (["a"], [1, 2])
    assert parse_override("a=hello") == (["a"], "hello")


def test_union_fields_accept_either_arm() -> None:
    from dataclasses import dataclass, field
    from typing import Any

    @dataclass
    class Cfg:
        encoder: str | dict[str, Any] = "tiny_cnn"
        extra: dict[str, Any] = field(default_factory=dict)

    assert from_dict(Cfg, {"encoder": "small_cnn"}).encoder == "small_cnn"
    assert from_dict(Cfg, {"encoder": {"architecture": "x"}}).encoder == {"architecture": "x"}
    with pytest.raises(ConfigError, match="extra.*expected a mapping"):
        from_dict(Cfg, {"extra": 3})
