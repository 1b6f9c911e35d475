"""Item fields and filters (``index.fields``): a filter is applied inside the search, exact within it on Flat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError, DataError
from semspace.index import EmbeddingIndex, ModelInfo
from semspace.index.fields import parse_condition

D = 16
INFO = ModelInfo("runs/a/model.pt", "a" * 64, "align", D, "0.1.0")
DOMAINS = [DomainSpec(n, InputKind.IMAGE, D, preprocess=PreprocessCfg(size=32)) for n in ("photo", "render3d")]
N = 300


@pytest.fixture()
def index(tmp_path: Path) -> tuple[EmbeddingIndex, np.ndarray]:
    x = np.random.default_rng(1).standard_normal((N, D)).astype(np.float32)  # (N, D)
    items = [{"domain": "photo" if i % 3 else "render3d", "content_hash": f"h{i}", "uri": f"/g/{i % 4}/p{i}.png",
              "source": "folder:/g" if i < 200 else "folder:/h"} for i in range(N)]  # fmt: skip
    idx = EmbeddingIndex.create(tmp_path / "idx", model_info=INFO, dim=D, domains=DOMAINS)
    idx.add(x, items)
    fields = {f"/g/{i % 4}/p{i}.png": {"year": 1990 + i % 30, "colour": ["red", "blue", "green"][i % 3]}
              for i in range(N) if i % 10}  # fmt: skip
    assert idx.set_fields(fields) == (len(fields), len(fields))
    idx.save()
    return EmbeddingIndex.open(tmp_path / "idx"), x


def _exact(x: np.ndarray, q: np.ndarray, keep: np.ndarray, k: int) -> list[int]:
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    scores = xn[keep] @ (q / np.linalg.norm(q))
    return [int(i) for i in keep[np.argsort(-scores, kind="stable")[:k]]]


def _meets(i: int) -> dict[str, bool]:
    has = i % 10 != 0
    return {
        "year>=2010": has and 1990 + i % 30 >= 2010,
        "colour=red": has and i % 3 == 0,
        "colour!=red": not (has and i % 3 == 0),
        "path=/g/1/*": i % 4 == 1,
        "source=folder:/h": i >= 200,
    }


@pytest.mark.parametrize("condition", ["year>=2010", "colour=red", "colour!=red", "path=/g/1/*", "source=folder:/h"])
def test_each_condition_keeps_exactly_its_items_and_the_top_k_within_them(
    index: tuple[EmbeddingIndex, np.ndarray], condition: str
) -> None:
    idx, x = index
    keep = np.array([i for i in range(N) if _meets(i)[condition]], dtype=np.int64)
    np.testing.assert_array_equal(idx.ids_matching([condition]), keep)
    q = x[7] + 0.3 * x[100]
    hits = idx.search(q[None], k=10, where=[condition])[0]
    assert [h.id for h in hits] == _exact(x, q, keep, 10)  # Flat: the exact top 10 within the filter


def test_conditions_combine_with_each_other_and_with_domains(index: tuple[EmbeddingIndex, np.ndarray]) -> None:
    idx, x = index
    got = idx.search(x[:3], k=N, domains="photo", where=["year<2000", "colour=blue"])
    want = {i for i in range(N) if i % 3 and i % 10 and 1990 + i % 30 < 2000 and i % 3 == 1}
    assert all({h.id for h in hits} == want for hits in got) and want
    assert idx.search(x[:1], k=5, where=["year>3000"]) == [[]]
    assert idx.search(x[:1], k=5, where=["nofield=1"]) == [[]]
    assert idx.fields(11) == {"colour": "green", "year": 2001.0}


def test_fields_change_only_when_they_differ_and_go_with_their_items(
    index: tuple[EmbeddingIndex, np.ndarray], tmp_path: Path
) -> None:
    idx, _ = index
    writer = EmbeddingIndex.open(tmp_path / "idx")
    assert writer.set_fields({"/g/1/p1.png": {"year": 1991, "colour": "blue"}}) == (0, 1)  # as held: no change
    assert writer.set_fields({"/g/1/p1.png": {"year": 1999}, "/nowhere.png": {"year": 1}}) == (1, 1)
    writer.remove([1])
    writer.save()
    assert 1 not in EmbeddingIndex.open(tmp_path / "idx").ids_matching(["year>=0"])
    with pytest.raises(DataError, match="reserved"):
        writer.set_fields({"/g/2/p2.png": {"source": "x"}})


@pytest.mark.parametrize(
    ("text", "message"),
    [("year", "is not a condition"), ("year>=old", "is not one"), ("path!=*.png", "glob"), ("label>3", "takes =")],
)
def test_a_malformed_condition_says_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_condition(text)


def test_changed_compares_every_item_across_query_chunks() -> None:
    """``changed`` reads the held fields chunk by chunk: items past the first chunk are compared too."""
    import sqlite3

    from semspace.index import fields as F

    conn = sqlite3.connect(":memory:")
    n = F.CHUNK * 2 + 7
    F.set_fields(conn, {i: {"colour": f"c{i}"} for i in range(n)})
    asked = {i: {"colour": f"c{i}"} for i in range(n)}
    asked[3] = {"colour": "other"}
    asked[n - 1] = {"colour": "c0"}
    asked[F.CHUNK + 1] = {"colour": f"c{F.CHUNK + 1}", "size": 2}
    assert sorted(F.changed(conn, asked)) == [3, F.CHUNK + 1, n - 1]
