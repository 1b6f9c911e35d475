"""Data specs: ``NAME[:ARGS]`` strings -> DataSpec, typed values, round trip, errors with an example."""

from __future__ import annotations

import pytest

from semspace.data.spec import DataSpec, format_data_spec, parse_data_spec, parse_value
from semspace.errors import ConfigError


def test_folder_root_and_key_value_pairs() -> None:
    assert parse_data_spec("folder:photos/") == DataSpec(name="folder", args={"root": "photos/"})
    assert parse_data_spec("folder:my photos, 2024/") == DataSpec(name="folder", args={"root": "my photos, 2024/"})
    spec = parse_data_spec("world_scenes:split=test,n=200,view=render3d")
    assert spec.name == "world_scenes" and spec.args == {"split": "test", "n": 200, "view": "render3d"}
    assert parse_data_spec("world_objects") == DataSpec(name="world_objects", args={})
    assert parse_data_spec(" folder:root=a=b ").args == {"root": "a=b"}  # the first '=' splits


@pytest.mark.parametrize(
    ("raw", "value"),
    [("200", 200), ("-3", -3), ("0.5", 0.5), ("1e-3", 1e-3), ("true", True), ("False", False), ("none", None),
     ("null", None), ("render3d", "render3d"), ("'7'", "7"), ('"true"', "true"), ("nan", "nan"), ("", ""),
     # the cases where --data and --set (YAML) used to disagree: one rule set now (semspace.config.parse_value)
     ("yes", "yes"), ("no", "no"), ("on", "on"), ("0x10", "0x10"), ("010", 10), ("1_000", "1_000"),
     ("NULL", None), ("1.0E5", 1e5), (".5", 0.5), ("2024-01-01", "2024-01-01"), ("[1, 2]", "[1, 2]")],
)  # fmt: skip
def test_values_are_typed(raw: str, value: object) -> None:
    parsed = parse_value(raw)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("raw", ["200", "1e-3", "yes", "none", "0x10", "010", "1_000", "'7'", "True", "2024-01-01"])
def test_data_values_parse_like_set_overrides(raw: str) -> None:
    from semspace.config import parse_override

    spec_value = parse_data_spec(f"w:x={raw}").args["x"]
    _, set_value = parse_override(f"a.x={raw}")
    assert spec_value == set_value and type(spec_value) is type(set_value)


def test_quoted_values_may_hold_commas_and_round_trip() -> None:
    spec = parse_data_spec("pairs_table:root=\"a,b.csv\",n=3,shuffle=true,frac=0.25,tag='12',x=none")
    assert spec.args == {"root": "a,b.csv", "n": 3, "shuffle": True, "frac": 0.25, "tag": "12", "x": None}
    assert parse_data_spec(format_data_spec(spec)) == spec
    for text in ("folder:photos/", "world_scenes:split=test,n=200", "world_pairs"):
        assert parse_data_spec(format_data_spec(parse_data_spec(text))) == parse_data_spec(text)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("", "empty data spec"), ("  ", "empty data spec"), (":x", "not a dataset name"), ("a b:x", "not a dataset name"),
     ("folder:", "nothing after ':'"), ("w:n=1,,m=2", "empty item"), ("w:n=1,view", "'view' is not key=value"),
     ("w:1n=2", "not a valid argument name"), ("w:n=1,n=2", "given twice"), ('w:root="abc', "unbalanced")],
)  # fmt: skip
def test_bad_specs_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_data_spec(spec)
    assert "folder:photos/" in str(err.value)  # an example of a good spec
