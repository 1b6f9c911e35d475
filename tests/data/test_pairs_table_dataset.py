"""``pairs_table`` dataset: CSV/TSV/JSONL rows, splits, label kinds, and errors naming line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from semspace.data.collate import collate_dicts
from semspace.data.datasets.pairs_table import PairsTableDataset
from semspace.data.preprocess import PreprocessCfg
from semspace.data.registry import DATASETS
from semspace.data.transforms import build_transform
from semspace.errors import ConfigError, DataError
from semspace.types import IMAGE, INDEX, KEY, LABEL, PATH, TEXT


@pytest.fixture
def img_dir(tmp_path: Path) -> Path:
    for i in range(4):
        p = tmp_path / "imgs" / f"{i}.png"
        p.parent.mkdir(exist_ok=True)
        Image.new("RGB", (4, 4), (i, i, i)).save(p)
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_int_labels_and_splits(img_dir: Path) -> None:
    csv = _write(
        img_dir / "pairs.csv",
        "\ufeffimage, Text ,label,split,notes\n"  # BOM, spaced/upper-case header, an extra column
        'imgs/0.png,"a red cube, small",3,train,x\n'
        "imgs/1.png,a blue sphere,,train,\n"
        "\n"
        'imgs/2.png,"two\nlines",1,test,\n',
    )
    ds = PairsTableDataset(csv)
    assert len(ds) == 3 and ds.get_available_splits() == ("all", "test", "train")
    assert ds.texts == ["a red cube, small", "a blue sphere", "two\nlines"]
    assert ds.labels.tolist() == [3, -1, 1] and ds.classes == ()
    item = ds[0]
    assert item[TEXT] == "a red cube, small" and item[LABEL] == 3 and item[KEY] == "3" and item[INDEX] == 0
    assert Path(item[PATH]) == img_dir / "imgs" / "0.png" and item[IMAGE].getpixel((0, 0)) == (0, 0, 0)
    assert ds[1][KEY] == ""
    train = PairsTableDataset(csv, split="train")
    assert [r.image for r in train.rows] == ["imgs/0.png", "imgs/1.png"]
    assert PairsTableDataset(csv, split="test").rows[0].line == 5  # the quoted record starts on line 5
    with pytest.raises(ConfigError, match=r"unknown split 'val'; available: \['all', 'test', 'train'\]"):
        PairsTableDataset(csv, split="val")


def test_jsonl_with_class_names_and_dataloader(img_dir: Path) -> None:
    rows = [{"image": f"imgs/{i}.png", "text": f"t{i}", "label": name} for i, name in enumerate(["dog", "cat", "dog"])]
    path = _write(img_dir / "pairs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    ds = PairsTableDataset(path, transform=build_transform(PreprocessCfg(size=8)))
    assert ds.classes == ("cat", "dog") and ds.labels.tolist() == [1, 0, 1]
    assert ds[1][KEY] == "cat"
    batch = collate_dicts([ds[i] for i in range(3)])
    assert batch[IMAGE].shape == (3, 3, 8, 8) and batch[TEXT] == ["t0", "t1", "t2"]
    assert torch.equal(batch[LABEL], torch.tensor([1, 0, 1]))


def test_tsv_absolute_paths_and_root(img_dir: Path, tmp_path: Path) -> None:
    abs_img = img_dir / "imgs" / "3.png"
    tables = tmp_path / "tables"
    tables.mkdir()
    tsv = _write(tables / "p.tsv", f"image\ttext\n{abs_img}\tabs\nimgs/2.png\trel\n")
    ds = PairsTableDataset(tsv, root=img_dir)
    assert Path(ds[0][PATH]) == abs_img and Path(ds[1][PATH]) == img_dir / "imgs" / "2.png"
    assert DATASETS.create("pairs_table", path=tsv, root=img_dir).texts == ["abs", "rel"]


def test_missing_image_is_named_lazily(img_dir: Path) -> None:
    csv = _write(img_dir / "p.csv", "image,text\nimgs/0.png,ok\nimgs/missing.png,gone\n")
    ds = PairsTableDataset(csv)  # opening does not touch images
    assert ds[0][TEXT] == "ok"
    with pytest.raises(DataError, match=r"p\.csv line 3: image file not found: .*missing\.png"):
        ds[1]
    (img_dir / "imgs" / "bad.png").write_text("text")
    bad = PairsTableDataset(_write(img_dir / "q.csv", "image,text\nimgs/bad.png,x\n"))
    with pytest.raises(DataError, match=r"q\.csv line 2: .*bad\.png: not a readable image"):
        bad[0]


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        ("a.csv", "image,caption\nx.png,hi\n", r"missing column\(s\) \['text'\]; found \['image', 'caption'\]"),
        ("b.csv", "image,text\nx.png,hi\ny.png\n", r"b\.csv line 3: expected 2 fields \(image, text\), got 1"),
        ("c.csv", "image,text\n,hi\n", r"c\.csv line 2: field 'image' is ''; expected a non-empty image path"),
        ("d.csv", "image,text,label\nx.png,a,1\ny.png,b,cat\n", r"mixes integers \(line 2: 1\) and class names"),
        ("e.csv", "image,text,label\nx.png,a,-3\n", r"e\.csv line 2: field 'label' is '-3'"),
        ("f.csv", "", r"f\.csv: empty file"),
        ("g.csv", "image,text\n", r"g\.csv: no rows"),
        ("h.csv", "image,text,text\nx,a,b\n", r"\['text'\] appear more than once"),
        (
            "a.jsonl",
            '{"image": "x.png", "text": "a"}\n{"image": "y.png", "text": \n',
            r"a\.jsonl line 2: not valid JSON",
        ),
        (
            "b.jsonl",
            '{"image": "x.png", "text": ["a"]}\n',
            r"b\.jsonl line 1: field 'text' is \['a'\]; expected a string",
        ),
        ("c.jsonl", '\n{"image": "x.png"}\n', r"c\.jsonl line 2: missing field\(s\) \['text'\]"),
        ("d.jsonl", '{"image": "x.png", "text": "a", "label": 1.5}\n', r"d\.jsonl line 1: field 'label' is 1\.5"),
        ("e.jsonl", '["x.png", "a"]\n', r"e\.jsonl line 1: expected a JSON object"),
        ("f.jsonl", '{"image": "x.png", "text": "a", "label": true}\n', r"field 'label' is True"),
        ("t.txt", "image,text\n", r"unsupported suffix '\.txt'"),
    ],
)
def test_bad_tables_name_line_and_field(tmp_path: Path, name: str, content: str, pattern: str) -> None:
    with pytest.raises(DataError, match=pattern):
        PairsTableDataset(_write(tmp_path / name, content))


def test_missing_table_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: not found"):
        PairsTableDataset(tmp_path / "nope.csv")
    (tmp_path / "latin.csv").write_bytes("image,text\nx.png,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv: not UTF-8"):
        PairsTableDataset(tmp_path / "latin.csv")
    with pytest.raises(DataError, match=r"missing folder .*nowhere"):
        PairsTableDataset(_write(tmp_path / "ok.csv", "image,text\nx.png,a\n"), root=tmp_path / "nowhere")
