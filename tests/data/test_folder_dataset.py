"""``folder`` dataset: class sub-folders, unlabelled folders, bad files, registry and DataLoader."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from PIL import Image

from semspace.data.collate import collate_dicts
from semspace.data.datasets.folder import ImageFolderDataset
from semspace.data.preprocess import PreprocessCfg
from semspace.data.registry import DATASETS
from semspace.data.transforms import build_transform
from semspace.errors import ConfigError, DataError
from semspace.types import IMAGE, INDEX, KEY, LABEL, PATH


def _img(path: Path, size: tuple[int, int] = (6, 4), color: tuple[int, int, int] = (0, 0, 0)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


@pytest.fixture
def classes_root(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    _img(root / "zebra" / "1.png")
    _img(root / "cat" / "b.JPG", size=(9, 3))
    _img(root / "cat" / "deeper" / "a.png")  # nested: still class "cat"
    _img(root / "dog" / "x.bmp")
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / "empty_class").mkdir()
    return root


def test_class_subfolders_give_sorted_labels(classes_root: Path) -> None:
    ds = ImageFolderDataset(classes_root)
    assert ds.classes == ("cat", "dog", "zebra") and len(ds) == 4
    got = [(Path(ds[i][PATH]).relative_to(classes_root).as_posix(), ds[i][LABEL], ds[i][KEY]) for i in range(len(ds))]
    expected = []  # by hand: class index = position of the first-level folder in the sorted names
    for rel in sorted(["zebra/1.png", "cat/b.JPG", "cat/deeper/a.png", "dog/x.bmp"]):
        top = rel.split("/")[0]
        expected.append((rel, ["cat", "dog", "zebra"].index(top), top))
    assert sorted(got) == expected
    assert [ds[i][INDEX] for i in range(len(ds))] == list(range(4))
    assert isinstance(ds[0][IMAGE], Image.Image)


def test_flat_folder_is_unlabelled(tmp_path: Path) -> None:
    for i in range(3):
        _img(tmp_path / f"{i}.png")
    ds = ImageFolderDataset(tmp_path)
    assert ds.classes == () and ds.labels.tolist() == [-1, -1, -1]
    assert ds[0][LABEL] == -1 and ds[0][KEY] == ""


def test_mixed_root_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _img(tmp_path / "loose.png")
    _img(tmp_path / "cls" / "a.png")
    with caplog.at_level(logging.WARNING):
        ds = ImageFolderDataset(tmp_path)
    assert sorted(ds.labels.tolist()) == [-1, 0] and "label -1" in caplog.text


def test_transform_and_dataloader_batches(classes_root: Path) -> None:
    ds = ImageFolderDataset(classes_root, transform=build_transform(PreprocessCfg(size=8)))
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate_dicts)
    batch = next(iter(loader))
    assert batch[IMAGE].shape == (3, 3, 8, 8) and batch[LABEL].dtype == torch.int64
    assert batch[INDEX].tolist() == [0, 1, 2] and len(batch[PATH]) == 3


def test_registry_and_extensions(classes_root: Path) -> None:
    ds = DATASETS.create("folder", root=classes_root, extensions=[".bmp"])
    assert isinstance(ds, ImageFolderDataset) and len(ds) == 1 and ds.classes == ("dog",)


def test_missing_empty_and_file_roots(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing folder .*nowhere; expected a folder of images"):
        ImageFolderDataset(tmp_path / "nowhere")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "a.txt").write_text("x")
    with pytest.raises(DataError, match=r"no images with extensions .* under .*empty"):
        ImageFolderDataset(tmp_path / "empty")
    (tmp_path / "f.png").write_text("x")
    with pytest.raises(DataError, match=r"f\.png is not a folder"):
        ImageFolderDataset(tmp_path / "f.png")
    _img(tmp_path / "ok" / "a.png")
    with pytest.raises(ConfigError, match="unknown split 'train'"):
        ImageFolderDataset(tmp_path / "ok", split="train")


def test_corrupt_image_names_the_file_when_read(tmp_path: Path) -> None:
    _img(tmp_path / "a" / "good.png")
    (tmp_path / "a" / "liar.png").write_text("I am text")
    ds = ImageFolderDataset(tmp_path)
    liar = [i for i in range(len(ds)) if ds.paths[i].name == "liar.png"][0]
    with pytest.raises(DataError, match=r"liar\.png: not a readable image"):
        ds[liar]
