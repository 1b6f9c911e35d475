from pathlib import Path

import numpy as np
import pytest

from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError
from semspace.utils.io import atomic_write, atomic_write_text
from semspace.utils.seed import rng_for


def test_atomic_write_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.txt"
    atomic_write_text(target, "first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "first"  # the old content survives
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]  # no temp file left behind


def test_rng_for_is_pure() -> None:
    a = rng_for(3, 0, 17).random(4)
    b = rng_for(3, 0, 17).random(4)
    c = rng_for(3, 0, 18).random(4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_preprocess_cfg_roundtrip_and_errors() -> None:
    cfg = PreprocessCfg(size=32, channels=1, mean=(0.5,), std=(0.25,))
    assert PreprocessCfg.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown preprocess key"):
        PreprocessCfg.from_dict({"sise": 3})
    with pytest.raises(ConfigError, match="mean/std"):
        PreprocessCfg(channels=1)
