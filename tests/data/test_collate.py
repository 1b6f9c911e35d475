"""collate_dicts: stacking vs a naive loop, kinds per key, and errors naming the key and item."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from semspace.data.collate import collate_dicts, pad_sequences
from semspace.errors import DataError
from semspace.types import DOMAIN, FEATURES, IMAGE, INDEX, LABEL, TEXT


def _items(n: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    return [
        {
            IMAGE: torch.rand(3, 4, 4, generator=g),
            FEATURES: np.full(5, i, dtype=np.float32),
            LABEL: i % 2,
            INDEX: np.int64(i),
            TEXT: f"caption {i}",
            DOMAIN: "photo",
            "score": 0.5 * i,
            "flag": i == 1,
            "extra": None,
        }
        for i in range(n)
    ]


def test_stacks_and_keeps_lists() -> None:
    items = _items(3)
    b = collate_dicts(items)
    assert b[IMAGE].shape == (3, 3, 4, 4)
    for i, item in enumerate(items):  # naive loop
        assert torch.equal(b[IMAGE][i], item[IMAGE])
        assert b[FEATURES][i].tolist() == [float(i)] * 5
    assert b[LABEL].dtype == torch.int64 and b[LABEL].tolist() == [0, 1, 0]
    assert b[INDEX].dtype == torch.int64 and b[INDEX].tolist() == [0, 1, 2]
    assert b["score"].dtype == torch.float32 and b["score"].tolist() == [0.0, 0.5, 1.0]
    assert b["flag"].dtype == torch.bool and b["flag"].tolist() == [False, True, False]
    assert b[TEXT] == ["caption 0", "caption 1", "caption 2"] and b[DOMAIN] == ["photo"] * 3
    assert b["extra"] == [None, None, None]


def test_mixed_int_and_float_become_float() -> None:
    assert collate_dicts([{"x": 1}, {"x": 2.5}])["x"].tolist() == [1.0, 2.5]


def test_nested_dicts_and_pil_images() -> None:
    items = [
        {FEATURES: {"img": torch.ones(4) * i, "txt": torch.zeros(2)}, IMAGE: Image.new("RGB", (2, 2))} for i in (1, 2)
    ]
    b = collate_dicts(items)
    assert b[FEATURES]["img"].shape == (2, 4) and b[FEATURES]["txt"].shape == (2, 2)
    assert b[FEATURES]["img"][:, 0].tolist() == [1.0, 2.0]
    assert isinstance(b[IMAGE], list) and len(b[IMAGE]) == 2


def test_shape_mismatch_names_key_and_items() -> None:
    items = [{IMAGE: torch.zeros(3, 64, 64)} for _ in range(3)] + [{IMAGE: torch.zeros(3, 32, 32)}]
    with pytest.raises(DataError, match=r"key 'image': item 3 has shape \(3, 32, 32\), item 0 has \(3, 64, 64\)"):
        collate_dicts(items)
    nested = [{FEATURES: {"img": torch.zeros(4)}}, {FEATURES: {"img": torch.zeros(5)}}]
    with pytest.raises(DataError, match=r"key 'features.img': item 1 has shape \(5,\)"):
        collate_dicts(nested)


def test_kind_and_key_mismatches() -> None:
    with pytest.raises(DataError, match=r"key 'image': item 1 is a str"):
        collate_dicts([{IMAGE: torch.zeros(2)}, {IMAGE: "x"}])
    with pytest.raises(DataError, match=r"key 'label': item 1 is a str, item 0 is a number"):
        collate_dicts([{LABEL: 1}, {LABEL: "cat"}])
    with pytest.raises(DataError, match=r"item 1 has different keys.*missing \['text'\]"):
        collate_dicts([{IMAGE: 1, TEXT: "a"}, {IMAGE: 2}])
    with pytest.raises(DataError, match="empty batch"):
        collate_dicts([])


def test_works_as_dataloader_collate_fn() -> None:
    data = _items(5)
    loader = torch.utils.data.DataLoader(data, batch_size=2, collate_fn=collate_dicts)  # type: ignore[arg-type]
    sizes = [len(b[TEXT]) for b in loader]
    assert sizes == [2, 2, 1]


def test_pad_sequences() -> None:
    ids, lengths = pad_sequences([[5, 6, 7], [], [8]], pad_value=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 0], [8, 0, 0]] and lengths.tolist() == [3, 0, 1]
    ids, lengths = pad_sequences([])
    assert ids.shape == (0, 1) and lengths.shape == (0,)
