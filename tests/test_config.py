from pathlib import Path

import pytest

from semspace.config import (
    DataSpec,
    InitSpec,
    RunCfg,
    TrainCfg,
    from_dict,
    load_run_cfg,
    parse_override,
    parse_value,
    to_dict,
)
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


@pytest.mark.parametrize(
    ("raw", "value"),
    [("yes", "yes"), ("no", "no"), ("off", "off"), ("0x10", "0x10"), ("010", 10), ("1_000", "1_000"),
     ("none", None), ("None", None), ("null", None), ("~", "~"), ("1e-3", 1e-3), ("1.0e-3", 1e-3), ("-2", -2),
     ("nan", "nan"), (".inf", ".inf"), ("2024-01-01", "2024-01-01"), ("'yes'", "yes"), ('"12"', "12"), ("", ""),
     ("[1, yes, none, 0x10, 'true', 1e-3]", [1, "yes", None, "0x10", "true", 1e-3]),
     ("{a: no, b: [null, 2]}", {"a": "no", "b": [None, 2]})],
)  # fmt: skip
def test_override_values_follow_the_one_rule_set(raw: str, value: object) -> None:
    """The formerly divergent cases: YAML 1.1 made yes/0x10 a bool/int and kept 'none' a string; --data did not."""
    parsed = parse_value(raw, collections=True)
    assert parsed == value and type(parsed) is type(value)
    assert parse_override(f"k={raw}") == (["k"], value)
    if not raw.startswith(("[", "{")):
        assert parse_value(raw) == value  # --data reads scalars the same way


def test_lists_are_for_set_only_and_bad_lists_are_clear() -> None:
    assert parse_value("[1, 2]") == "[1, 2]"  # --data splits on commas: no lists there
    with pytest.raises(ConfigError, match=r"override 'a=\[1, 2': value '\[1, 2' is not a valid YAML list"):
        parse_override("a=[1, 2")
    with pytest.raises(ConfigError, match="train.compile.*expected bool, got 'yes'"):
        load_run_cfg(None, ["train.compile=yes"])


def test_extra_streams_and_init_stages_from_yaml_and_overrides(tmp_path: Path) -> None:
    p = tmp_path / "run.yaml"
    p.write_text(
        "data:\n"
        "  train: {name: pairs}\n"
        "  extra: {source: {name: sketches, args: {n: 5}, batch_size: 16}}\n"
        "init:\n"
        "  - {checkpoint: runs/ae/model.pt, module: mask_ae}\n"
    )
    cfg = load_run_cfg(
        p, ["data.extra.source.cache=true", "init=[{checkpoint: a.pt, module: x.y, source: net, freeze: false}]"]
    )
    assert cfg.data.extra == {"source": DataSpec(name="sketches", args={"n": 5}, cache=True, batch_size=16)}
    assert cfg.init == [InitSpec(checkpoint="a.pt", module="x.y", source="net", freeze=False)]
    assert load_run_cfg(p).init == [InitSpec(checkpoint="runs/ae/model.pt", module="mask_ae")]
    assert from_dict(RunCfg, to_dict(cfg)) == cfg
    assert RunCfg().data.extra == {} and RunCfg().init == [] and DataSpec().batch_size == 0
    with pytest.raises(ConfigError, match=r"data\.extra\.source\.bogus"):
        load_run_cfg(p, ["data.extra.source.bogus=1"])
    with pytest.raises(ConfigError, match=r"init\[0\]\.modul"):
        load_run_cfg(None, ["init=[{checkpoint: a.pt, modul: x}]"])
    with pytest.raises(ConfigError, match="'init': expected a list"):
        load_run_cfg(None, ["init=a.pt"])


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
