"""Sketchy / TU-Berlin / QuickDraw-Extended loaders on tiny fixtures in the exact layouts (sbir_benchmarks.py)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semspace.data import create_dataset
from semspace.errors import DataError
from semspace.types import IMAGE, KEY, LABEL, SKETCH


def _img(path: Path, value: int) -> None:
    """A tiny picture: a plain colour for photos, a black stroke on white for sketches (``.png`` under a sketch
    folder), so the sketch checks of ``ssgn`` see a drawing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.full((16, 16, 3), value, np.uint8)
    if "sketch" in str(path.parent.parent).lower() or path.parent.parent.name == "png":
        arr[:] = 255
        arr[4 + value % 6, 2:14] = 0
    Image.fromarray(arr).save(path)


def _split(tmp: Path, names: list[str]) -> str:
    f = tmp / "unseen.txt"
    f.write_text("".join(f"{n} {i}\n" for i, n in enumerate(names)))
    return str(f)


def sketchy(tmp: Path) -> Path:
    root = tmp / "Sketchy"
    for c in ("airplane", "teddy_bear", "hot-air_balloon", "cup"):
        for k in range(2):
            _img(root / f"256x256/sketch/tx_000000000000/{c}/n01_{k}-1.png", 10 + k)
            _img(root / f"256x256/photo/tx_000000000000/{c}/n01_{k}.jpg", 100 + k)
    _img(root / "EXTEND_image_sketchy/hot_air_balloon/ext_0.jpg", 200)  # the Ext folder's renamed spelling
    return root


def tuberlin(tmp: Path) -> Path:
    root = tmp / "TU-Berlin"
    for c, photo_dir in (("trombone", "tromobone"), ("alarm clock", "alarmclock"), ("wrist-watch", "wristwatching"),
                         ("bus", "bus")):  # fmt: skip
        for k in range(3):
            _img(root / f"png/{c}/{k}.png", 20 + k)
            _img(root / f"ImageResized/{photo_dir}/{k}.JPEG", 120 + k)
    return root


def test_sketchy_splits_labels_and_extended_photos(tmp_path: Path) -> None:
    root = sketchy(tmp_path)
    unseen = _split(tmp_path, ["teddy-bear", "cup"])  # hyphenated, as some split files write it
    seen = create_dataset("sketchy", root=root, split="seen", view="sketch", unseen_file=unseen)
    assert seen.class_names == ["airplane", "cup", "hot-air_balloon", "teddy_bear"]
    assert seen.unseen_classes == ["teddy_bear", "cup"]
    assert sorted({seen[i][KEY] for i in range(len(seen))}) == ["airplane", "hot-air_balloon"] and len(seen) == 4
    item = seen[0]
    assert SKETCH in item and item[LABEL] == seen.class_names.index(item[KEY])
    photos = create_dataset("sketchy", root=root, split="unseen", view="photo", unseen_file=unseen)
    assert IMAGE in photos[0] and len(photos) == 4
    ext = create_dataset("sketchy", root=root, split="all", view="photo", unseen_file=unseen, extended=True)
    assert len(ext) == 9 and ext.item_classes().count("hot-air_balloon") == 3
    capped = create_dataset("sketchy", root=root, split="all", view="sketch", unseen_file=unseen, max_per_class=1)
    assert len(capped) == 4


def test_tuberlin_photo_folder_typos_are_mapped(tmp_path: Path) -> None:
    root = tuberlin(tmp_path)
    unseen = _split(tmp_path, ["trombone"])
    photos = create_dataset("tuberlin", root=root, split="all", view="photo", unseen_file=unseen)
    assert photos.class_names == ["alarm clock", "bus", "trombone", "wrist-watch"]
    assert sorted(set(photos.item_classes())) == photos.class_names and len(photos) == 12
    one = create_dataset("tuberlin", root=root, split="unseen", view="photo", unseen_file=unseen)
    assert set(one.item_classes()) == {"trombone"} and "tromobone" in str(one[0]["path"])


def test_quickdraw_extended_layout(tmp_path: Path) -> None:
    root = tmp_path / "QuickDraw"
    for c in ("cat", "palm_tree"):
        _img(root / f"QuickDraw_sketches_final/{c}/1.png", 5)
        _img(root / f"QuickDraw_images_final/{c}/image_00001.jpg", 50)
    ds = create_dataset("quickdraw_extended", root=root, split="unseen", view="sketch",
                        unseen_file=_split(tmp_path, ["palm tree"]))  # fmt: skip
    assert ds.item_classes() == ["palm_tree"]


def test_bad_layouts_are_named(tmp_path: Path) -> None:
    root = sketchy(tmp_path)
    with pytest.raises(DataError, match="no images.*unicorn"):
        create_dataset("sketchy", root=root, split="seen", unseen_file=_split(tmp_path, ["unicorn"]))
    with pytest.raises(DataError, match="EXTEND_image_sketchy"):
        create_dataset("sketchy", root=tuberlin(tmp_path), split="seen", unseen_file=_split(tmp_path, ["bus"]),
                       extended=True)  # fmt: skip
    with pytest.raises(DataError, match="does not exist"):
        create_dataset("tuberlin", root=tuberlin(tmp_path), split="seen", unseen_file=str(tmp_path / "nope.txt"))
    (root / "256x256/sketch/tx_000000000000/zebra").mkdir()
    _img(root / "256x256/sketch/tx_000000000000/zebra/1.png", 3)
    with pytest.raises(DataError, match="without photos.*zebra"):
        create_dataset("sketchy", root=root, split="seen", unseen_file=_split(tmp_path, ["cup"]))


def test_ssgn_trains_and_evaluates_on_a_loader_fixture_with_npz_semantics(tmp_path: Path) -> None:
    from semspace.config import RunCfg, from_dict
    from semspace.engine.run import train

    root, unseen = tuberlin(tmp_path), _split(tmp_path, ["trombone", "bus"])
    npz = tmp_path / "w2v.npz"
    names = ["alarm_clock", "bus", "trombone", "wrist_watch"]
    np.savez(npz, class_names=np.array(names), vectors=np.random.default_rng(0).normal(size=(4, 5)))

    def spec(split: str, view: str) -> dict:
        return {"name": "tuberlin", "args": {"root": str(root), "split": split, "view": view, "unseen_file": unseen}}

    cfg = from_dict(RunCfg, {
        "task": "ssgn",
        "task_args": {"backbone": "tiny_cnn", "frozen": False, "semantics": f"npz:{npz}", "fusion_layers": [-2, -1],
                      "fusion_dim": 8,
                      "sketch_dim": 8, "hidden": 8, "photo_head_dim": 8},
        "data": {"train": {"name": "sbir_pairs", "args": {"sketches": spec("seen", "sketch"),
                                                          "photos": spec("seen", "photo")}}},
        "train": {"max_steps": 2, "batch_size": 4, "ckpt_every": 100},
        "eval": {"protocol": "zs_sbir", "sketches": spec("unseen", "sketch"), "photos": spec("unseen", "photo")},
    })  # fmt: skip
    metrics = train(cfg, tmp_path / "run")
    assert 0.0 <= metrics["sketch_to_photo_mAP@all"] <= 1.0
    _eval_with_data_spec(tmp_path / "run", root, unseen, metrics)
    with pytest.raises(DataError, match="no side information"):
        np.savez(npz, class_names=np.array(names[:3]), vectors=np.ones((3, 5)))
        train(cfg, tmp_path / "run2")


def _eval_with_data_spec(run: Path, root: Path, unseen: str, metrics: dict) -> None:
    """``semspace eval --data tuberlin:...`` points zs_sbir's sketches and photos at one benchmark."""
    import json

    from semspace.cli.main import main

    spec = f"tuberlin:root={root},split=unseen,unseen_file={unseen}"
    argv = ["eval", "--run-dir", str(run), "--data", spec, "--json"]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(argv) == 0
    again = json.loads(out.getvalue())
    assert again["sketch_to_photo_mAP@all"] == pytest.approx(metrics["sketch_to_photo_mAP@all"])  # the same data
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert (
            main(
                [
                    "eval",
                    "--run-dir",
                    str(run),
                    "--data",
                    f"tuberlin:root={root / 'gone'},split=unseen,unseen_file={unseen}",
                ]
            )
            == 1
        )
        assert main(["eval", "--run-dir", str(run), "--data", spec + ",view=photo"]) == 1
    assert "gone" in err.getvalue() and "leave 'view' out" in err.getvalue()  # the spec is what is read
