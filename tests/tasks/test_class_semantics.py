"""Class semantics from each source, rows matched by letters only (tasks/class_semantics.py)."""

from __future__ import annotations

import numpy as np
import pytest

from semspace.data.datasets.sbir_benchmarks import letters
from semspace.errors import ConfigError, DataError
from semspace.tasks.class_semantics import class_semantics, read_npz_semantics


def test_semantics_sources(tmp_path) -> None:
    att = class_semantics("attributes", ["cup", "mug"])
    assert att.shape == (2, 123) and np.allclose(np.linalg.norm(att, axis=1), 1)
    with pytest.raises(DataError, match="teddy"):
        class_semantics("attributes", ["cup", "teddy_bear"])
    with pytest.raises(ConfigError, match="semantics"):
        class_semantics("glove", ["cup"])
    path = tmp_path / "w.npz"
    np.savez(path, class_names=np.array(["teddy_bear", "table_lamp"]), vectors=np.array([[3.0, 4.0], [0.0, 2.0]]))
    rows = read_npz_semantics(path, ["teddy-bear", "tablelamp"])  # matched by letters only
    np.testing.assert_allclose(rows, [[3, 4], [0, 2]])
    np.testing.assert_allclose(class_semantics(f"npz:{path}", ["teddy bear"]), [[0.6, 0.8]])
    with pytest.raises(DataError, match="no side information.*'eye'"):
        read_npz_semantics(path, ["teddy bear", "eye"])
    assert letters("Hot-Air_Balloon 2") == "hotairballoon"
