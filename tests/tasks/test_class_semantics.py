"""Class semantics from each source, rows matched by letters only (tasks/class_semantics.py)."""

from __future__ import annotations

import numpy as np
import pytest

from semspace.data.datasets.sbir_benchmarks import letters
from semspace.errors import ConfigError, DataError
from semspace.tasks.class_semantics import class_semantics, missing_semantics, read_npz_semantics


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
    with pytest.raises(DataError, match="no word vector.*'eye'"):
        read_npz_semantics(path, ["teddy bear", "eye"])
    assert letters("Hot-Air_Balloon 2") == "hotairballoon"


def test_a_missing_class_names_itself_the_close_names_and_the_alias_map(tmp_path) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, class_names=np.array(["teddy_bear", "couch", "table_lamp"]),
             vectors=np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]]))  # fmt: skip
    with pytest.raises(DataError, match=r"no word vector\) for 1 class\(es\): \['teddybears'\].*class_aliases.*"
                                        r"teddybears -> teddy_bear\?"):  # fmt: skip
        class_semantics(f"npz:{path}", ["couch", "teddybears"])
    rows = class_semantics(f"npz:{path}", ["sofa", "couch"], aliases={"Sofa": "couch"})  # the alias is looked up
    np.testing.assert_allclose(rows, [[1, 0], [1, 0]])
    assert missing_semantics(f"npz:{path}", ["sofa", "couch", "eye"]) == ["sofa", "eye"]
    assert missing_semantics(f"npz:{path}", ["sofa", "eye"], {"sofa": "couch"}) == ["eye"]
    assert missing_semantics("attributes", ["cup", "kettle"]) == ["kettle"]
    assert missing_semantics("minilm_names", ["anything at all"]) == []
    np.testing.assert_allclose(class_semantics("attributes", ["kettle"], {"kettle": "teapot"}),
                               class_semantics("attributes", ["teapot"]))  # fmt: skip
    with pytest.raises(DataError, match=r"world's 68 categories.*\['kettle'\].*class_aliases"):
        class_semantics("attributes", ["cup", "kettle"])
