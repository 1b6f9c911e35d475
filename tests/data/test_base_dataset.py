"""BaseDataset: layout hook order, split validation, require helpers, INDEX on every item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from semspace.data.base import BaseDataset
from semspace.data.preprocess import PreprocessCfg
from semspace.data.transforms import build_transform
from semspace.errors import ConfigError, DataError
from semspace.types import IMAGE, INDEX


class _ToyDataset(BaseDataset):
    available_splits = ("train", "test")

    def __init__(self, root: Path, split: str = "train", transform: Any = None) -> None:
        self.calls: list[str] = []
        super().__init__(root, split, transform)

    def validate_layout(self) -> None:
        self.calls.append("validate_layout")
        self.require("images", "the images folder", kind="dir")
        self.meta = self.require("meta.txt", "one line per image", kind="file")

    def __len__(self) -> int:
        return 3

    def get_item(self, idx: int) -> dict[str, Any]:
        return {IMAGE: self.read_image(self.root / "images" / "a.png"), "raw": idx}


@pytest.fixture
def toy_root(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir()
    rgba = np.zeros((2, 2, 4), np.uint8)  # fully transparent
    Image.fromarray(rgba).save(tmp_path / "images" / "a.png")
    (tmp_path / "meta.txt").write_text("a\n")
    return tmp_path


def test_items_carry_index_and_negative_indices_work(toy_root: Path) -> None:
    ds = _ToyDataset(toy_root)
    assert ds.calls == ["validate_layout"] and ds.meta == toy_root / "meta.txt"
    assert [ds[i][INDEX] for i in range(3)] == [0, 1, 2]
    assert ds[-1][INDEX] == 2 and ds[-1]["raw"] == 2 and ds[np.int64(1)][INDEX] == 1
    with pytest.raises(IndexError, match="out of range"):
        ds[3]
    with pytest.raises(IndexError):
        ds[-4]
    assert "_ToyDataset" in repr(ds) and "items=3" in repr(ds)


def test_unknown_split_lists_available(toy_root: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown split 'val'; available: \['train', 'test'\]"):
        _ToyDataset(toy_root, split="val")


def test_require_names_missing_path_and_expectation(toy_root: Path) -> None:
    (toy_root / "meta.txt").unlink()
    with pytest.raises(DataError, match=r"missing file .*meta\.txt; expected one line per image"):
        _ToyDataset(toy_root)
    (toy_root / "meta.txt").mkdir()
    with pytest.raises(DataError, match=r"meta\.txt is not a file"):
        _ToyDataset(toy_root)


def test_layout_is_checked_before_split(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing folder .*images; expected the images folder"):
        _ToyDataset(tmp_path, split="nonsense")


def test_require_all_names_every_missing_path(toy_root: Path) -> None:
    ds = _ToyDataset(toy_root)
    paths = {"images": "pictures", "labels": "label files", "extra": "more files"}
    with pytest.raises(
        DataError, match=r"missing folders .*labels: label files; extra: more files \(expected layout: L\)"
    ):
        ds.require_all(paths, kind="dir", layout="L")
    assert ds.require_all({"images": "pictures"}, kind="dir") == {"images": toy_root / "images"}


def test_read_image_uses_the_transform_background(toy_root: Path) -> None:
    plain = _ToyDataset(toy_root)[0][IMAGE]
    assert isinstance(plain, Image.Image) and plain.getpixel((0, 0)) == (255, 255, 255)
    cfg = PreprocessCfg(size=2, mean=(0.0,) * 3, std=(1.0,) * 3, background=(0, 0, 255))
    x = _ToyDataset(toy_root, transform=build_transform(cfg))[0][IMAGE]
    assert x.shape == (3, 2, 2) and x[:, 0, 0].tolist() == [0.0, 0.0, 1.0]
    grey = PreprocessCfg(size=2, channels=1, mean=(0.0,), std=(1.0,))
    assert _ToyDataset(toy_root, transform=build_transform(grey))[0][IMAGE].shape == (1, 2, 2)


def test_base_without_splits_is_abstract(tmp_path: Path) -> None:
    class _NoSplits(BaseDataset):
        pass

    with pytest.raises(NotImplementedError, match="available_splits"):
        _NoSplits(tmp_path, "train")
