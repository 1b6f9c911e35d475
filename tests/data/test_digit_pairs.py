"""``digit_pairs`` (data/datasets/digit_pairs.py): EGSC-IT's MNIST-Single from packaged real digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semspace.data import create_dataset
from semspace.data.datasets.digit_pairs import COLOUR_PAIRS, COLOURS, load_digits_source, split_rows
from semspace.errors import ConfigError
from semspace.types import DOMAIN, EXEMPLAR, IMAGE, INDEX, LABEL, TARGET


def _colours(img: np.ndarray) -> set[tuple[int, int, int]]:
    return {tuple(int(c) for c in px) for px in img.reshape(-1, 3)}


@pytest.mark.parametrize("source", ["mnist", "sklearn"])
def test_layout_and_disjoint_splits(source: str) -> None:
    _, labels = load_digits_source(source)
    rows = {s: split_rows(labels, s) for s in ("train", "val", "test")}
    assert sum(len(r) for r in rows.values()) == len(labels)
    assert len(set(np.concatenate(list(rows.values())))) == len(labels)  # every digit in exactly one split
    assert len(rows["train"]) > 7 * len(rows["test"])
    ds = create_dataset("digit_pairs", source=source, split="test", size=20)
    assert len(ds) == len(rows["test"])
    item = ds[1]
    assert set(item) == {IMAGE, EXEMPLAR, TARGET, LABEL, DOMAIN, INDEX}
    for k in (IMAGE, EXEMPLAR, TARGET):
        assert item[k].shape == (3, 20, 20) and item[k].dtype == torch.float32
        assert 0.0 <= float(item[k].min()) and float(item[k].max()) <= 1.0
    d = ds.describe(1)
    assert int(item[LABEL]) == d["digit"] == labels[d["row"]] and item[DOMAIN] == "a"
    assert d["exemplar_digit"] != d["digit"] == labels[d["row"]]  # an unpaired partner: another class
    assert [ds.describe(i)["digit"] for i in range(10)] != [d["digit"]] * 10  # the first items mix classes
    for k in (IMAGE, EXEMPLAR, TARGET):  # a pure function of the index
        torch.testing.assert_close(create_dataset("digit_pairs", source=source, split="test", size=20)[1][k], item[k])
    assert create_dataset("digit_pairs", source=source, split="test", direction="b2a")[0][DOMAIN] == "b"


def test_bad_arguments_are_named() -> None:
    for kw, what in [({"split": "dev"}, "split"), ({"direction": "a2c"}, "direction"), ({"source": "svhn"}, "source"),
                     ({"n": 0}, "n must"), ({"size": 4}, "size")]:  # fmt: skip
        with pytest.raises(ConfigError, match=what):
            create_dataset("digit_pairs", **kw)


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_train_b_digits_above_four_are_red_on_green_only(direction: str) -> None:
    ds = create_dataset("digit_pairs", split="train", n=120, size=16, direction=direction)
    seen_low = set()
    for i in range(len(ds)):
        d, views = ds.describe(i), ds.render(i)
        b_view, a_view = ("exemplar", "source") if direction == "a2b" else ("source", "exemplar")
        b_digit = d["exemplar_digit"] if direction == "a2b" else d["digit"]
        assert _colours(views[a_view]) <= {(0, 0, 0), (255, 255, 255)}  # domain A: black and white
        cols = _colours(views[b_view])
        assert cols <= set(COLOURS.values()) and len(cols) == 2  # two of red / green / blue
        if b_digit > 4:
            assert (d["fg"], d["bg"]) == ("red", "green")
            mask = ds.mask(d["exemplar_row"] if direction == "a2b" else d["row"])
            assert _colours(views[b_view][mask]) == {COLOURS["red"]} and _colours(views[b_view][~mask]) == {
                COLOURS["green"]
            }
        else:
            seen_low.add((d["fg"], d["bg"]))
    assert len(seen_low) == len(COLOUR_PAIRS)  # digits <= 4 take all six pairs


def test_test_split_shows_unseen_combinations() -> None:
    ds = create_dataset("digit_pairs", split="test", n=200, size=16, direction="a2b")
    high = {(d["fg"], d["bg"]) for d in (ds.describe(i) for i in range(len(ds))) if d["exemplar_digit"] > 4}
    assert high == set(COLOUR_PAIRS)  # all six, five of them never seen with these digits in training
    off = create_dataset("digit_pairs", split="train", n=200, size=16, correlated=False)
    assert {(d["fg"], d["bg"]) for d in (off.describe(i) for i in range(200)) if d["exemplar_digit"] > 4} == set(
        COLOUR_PAIRS
    )


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_ground_truth_is_the_source_digit_in_the_exemplar_style(direction: str) -> None:
    ds = create_dataset("digit_pairs", split="test", n=30, size=24, direction=direction)
    for i in range(len(ds)):
        d, v = ds.describe(i), ds.render(i)
        m_src = ds.mask(d["row"])
        m_ex = ds.mask(d["exemplar_row"])
        assert m_src.any() and (~m_src).any()
        ex_fg, ex_bg = v["exemplar"][m_ex][0], v["exemplar"][~m_ex][0]
        src_fg = v["source"][m_src][0]
        assert (v["source"][m_src] == src_fg).all()  # the source is its mask in its own two colours
        assert (v["target"][m_src] == ex_fg).all() and (v["target"][~m_src] == ex_bg).all()  # pixel-exact
        assert not np.array_equal(v["target"], v["source"])
        if direction == "a2b":
            assert tuple(int(c) for c in ex_fg) == COLOURS[d["fg"]] and tuple(int(c) for c in ex_bg) == COLOURS[d["bg"]]
    item = ds[0]
    tgt = item[TARGET].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(tgt * 255, ds.render(0)["target"].astype(np.float32), atol=1e-3)
