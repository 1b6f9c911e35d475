"""``two_domain`` dataset: trainA/ trainB/ testA/ testB/ layout, named missing folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from semspace.data.datasets.two_domain import TwoDomainFolderDataset
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.types import DOMAIN, IMAGE, INDEX, KEY, PATH


@pytest.fixture
def pair_root(tmp_path: Path) -> Path:
    counts = {"trainA": 3, "trainB": 2, "testA": 1, "testB": 1}
    for folder, n in counts.items():
        for i in range(n):
            p = tmp_path / folder / ("sub" if i == 2 else "") / f"{i:03d}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (5, 5), (10 * i, 0, 0)).save(p)
    (tmp_path / "trainA_seg").mkdir()  # EGSC-IT extras are ignored
    return tmp_path


def test_each_split_and_domain(pair_root: Path) -> None:
    sizes = {(s, d): len(TwoDomainFolderDataset(pair_root, s, d)) for s in ("train", "test") for d in "AB"}
    assert sizes == {("train", "A"): 3, ("train", "B"): 2, ("test", "A"): 1, ("test", "B"): 1}
    ds = TwoDomainFolderDataset(pair_root, "train", "A")
    assert ds.keys == ["000", "001", "sub/002"]
    item = ds[2]
    assert item[DOMAIN] == "A" and item[KEY] == "sub/002" and item[INDEX] == 2
    assert Path(item[PATH]).parent.name == "sub" and item[IMAGE].getpixel((0, 0)) == (20, 0, 0)


@pytest.mark.parametrize("missing", [["trainB"], ["testA", "testB"]])
def test_missing_folders_are_all_named(pair_root: Path, missing: list[str]) -> None:
    for m in missing:
        shutil.rmtree(pair_root / m)
    with pytest.raises(DataError) as info:
        TwoDomainFolderDataset(pair_root, "train", "A")
    msg = str(info.value)
    present = {"trainA", "trainB", "testA", "testB"} - set(missing)
    for m in missing:
        assert f"{m}: the" in msg
    for p in present:
        assert f"{p}: the" not in msg
    assert "trainA/ trainB/ testA/ testB/" in msg


def test_bad_split_domain_and_empty_folder(pair_root: Path) -> None:
    with pytest.raises(ConfigError, match="unknown split 'val'"):
        TwoDomainFolderDataset(pair_root, "val", "A")
    with pytest.raises(ConfigError, match="unknown domain 'C'"):
        TwoDomainFolderDataset(pair_root, "train", "C")
    for p in (pair_root / "testB").iterdir():
        p.unlink()
    with pytest.raises(DataError, match=r"no images .* in .*testB; expected the test images of domain B"):
        TwoDomainFolderDataset(pair_root, "test", "B")
    with pytest.raises(DataError, match=r"missing folder .*elsewhere"):
        TwoDomainFolderDataset(pair_root / "elsewhere")


def test_registered(pair_root: Path) -> None:
    ds = DATASETS.create("two_domain", root=pair_root, split="test", domain="B")
    assert isinstance(ds, TwoDomainFolderDataset) and len(ds) == 1
