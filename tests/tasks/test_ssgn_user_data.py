"""SSGN on a user's own sketches: a ``folder:`` source's classes are the label space (attributes and word vectors),
sketch search ranks against the index's classes or ``--classes``, ``semspace classify`` (tiny runs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from semspace.cli.main import main
from semspace.config import RunCfg, from_dict
from semspace.data import create_dataset
from semspace.errors import ConfigError, DataError
from semspace.tasks import create_task
from semspace.tasks.class_semantics import class_semantics
from semspace.types import KEY, LABEL

TINY = {"backbone": "tiny_cnn", "frozen": False, "fusion_layers": [-2, -1], "fusion_dim": 8, "sketch_dim": 16,
        "hidden": 16, "photo_head_dim": 12, "embed_dim": 8, "noise_dim": 4}  # fmt: skip
OUTSIDE = ["zebra", "kettle", "violin"]  # no world category; folder order is sorted: kettle, violin, zebra


def _folders(root: Path, classes: list[str], n: int = 3) -> tuple[Path, Path]:
    """``root/sketches/<class>/*.png`` (line drawings) and ``root/photos/<class>/*.png`` (coloured blobs)."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        for kind in ("sketches", "photos"):
            (root / kind / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            im = Image.new("RGB", (40, 40), "white")
            d = ImageDraw.Draw(im)
            d.ellipse([5 + c * 3, 5 + i, 35 - c * 2, 30], outline="black", width=2)
            d.line([(5, 35 - 8 * c), (35, 5 + i * 3)], fill="black", width=2)
            im.save(root / "sketches" / name / f"{i}.png")
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(root / "photos" / name / f"{i}.png")
    return root / "sketches", root / "photos"


def _pairs(sketches: Path, photos: Path) -> dict:
    return {"sketches": {"name": "folder", "args": {"root": str(sketches)}},
            "photos": {"name": "folder", "args": {"root": str(photos)}}}  # fmt: skip


def _table(path: Path, names: list[str]) -> Path:
    vectors = np.random.default_rng(1).normal(size=(len(names), 8))
    np.savez(path, class_names=np.array(names), vectors=vectors)
    return path


def test_a_folder_of_classes_outside_the_world_trains_its_own_labels_with_word_vectors(tmp_path: Path) -> None:
    sk, ph = _folders(tmp_path, OUTSIDE)
    table = _table(tmp_path / "w2v.npz", ["violin", "Zebra", "kettle", "giraffe"])
    ds = create_dataset("sbir_pairs", **_pairs(sk, ph))
    task = create_task("ssgn", {**TINY, "semantics": f"npz:{table}"}, dataset=ds)
    assert task.cfg.class_names == ["kettle", "violin", "zebra"] and task.cfg.query_classes == []
    for i in range(len(ds)):  # every label the task trains on names the item's own class
        item = ds[i]
        assert task.cfg.class_names[int(item[LABEL])] == item[KEY]
    with np.load(table) as z:
        rows = {str(n).lower(): v for n, v in zip(z["class_names"], z["vectors"], strict=True)}
    want = np.stack([rows[n] / np.linalg.norm(rows[n]) for n in ["kettle", "violin", "zebra"]])
    np.testing.assert_allclose(task.semantics.numpy(), want, rtol=1e-5)
    with pytest.raises(DataError, match=r"world's 68 categories.*'kettle'"):  # attributes: refused, never world labels
        create_task("ssgn", {**TINY, "semantics": "attributes"}, dataset=ds)
    short = _table(tmp_path / "short.npz", ["violin", "kettle", "horse"])
    with pytest.raises(DataError, match=r"no word vector\) for 1 class\(es\): \['zebra'\].*class_aliases"):
        create_task("ssgn", {**TINY, "semantics": f"npz:{short}"}, dataset=ds)
    aliased = create_task("ssgn", {**TINY, "semantics": f"npz:{short}", "class_aliases": {"zebra": "horse"}},
                          dataset=ds)  # fmt: skip
    torch.testing.assert_close(aliased.semantics[2], aliased.semantics.new_tensor(class_semantics(
        f"npz:{short}", ["horse"])[0]))  # fmt: skip


def test_a_folder_of_world_classes_gets_its_own_label_order_with_attributes(tmp_path: Path) -> None:
    sk, ph = _folders(tmp_path, ["truck", "apple", "chair"])
    ds = create_dataset("sbir_pairs", **_pairs(sk, ph))
    task = create_task("ssgn", TINY, dataset=ds)
    assert task.cfg.class_names == ["apple", "chair", "truck"]  # not the world's first three (airplane, apple, axe)
    np.testing.assert_allclose(task.semantics.numpy(), class_semantics("attributes", ["apple", "chair", "truck"]))
    assert {task.cfg.class_names[int(ds[i][LABEL])] for i in range(len(ds))} == {"apple", "chair", "truck"}
    unlabelled = tmp_path / "flat"
    unlabelled.mkdir()
    Image.new("RGB", (20, 20), "white").save(unlabelled / "a.png")
    flat = create_dataset("sbir_pairs", **_pairs(unlabelled, unlabelled))
    with pytest.raises(ConfigError, match="does not say its class names"):
        create_task("ssgn", TINY, dataset=flat)


@pytest.fixture(scope="module")
def user_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(run, index, a sketch): a tiny ssgn run on folders of classes outside the world, an index of its photos."""
    from semspace.engine.run import train

    base = tmp_path_factory.mktemp("ssgn_user")
    sk, ph = _folders(base, OUTSIDE)
    table = _table(base / "w2v.npz", [*OUTSIDE, "giraffe", "teapot"])
    cfg = from_dict(RunCfg, {
        "task": "ssgn", "task_args": {**TINY, "frozen": True, "semantics": f"npz:{table}"},
        "data": {"train": {"name": "sbir_pairs", "args": _pairs(sk, ph)}},
        "train": {"max_steps": 2, "batch_size": 4, "log_every": 1, "ckpt_every": 100, "num_workers": 0},
    })  # fmt: skip
    run = base / "run"
    train(cfg, run)
    index = base / "index"
    assert main(["index", "build", "--run-dir", str(run), "--data", f"folder:{ph}", "--domain", "photo",
                 "--out", str(index)]) == 0  # fmt: skip
    return run, index, sk / "zebra" / "0.png"


def test_sketch_search_ranks_against_the_index_classes_or_the_given_ones(
    user_run: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from semspace.retrieval import Searcher

    run, index, sketch = user_run
    searcher = Searcher(index)
    spec = searcher.domains["sketch"]
    assert searcher._sketch_classes(spec, None, None)[0] == sorted(OUTSIDE)  # the index's labels
    capsys.readouterr()
    assert main(["search", "--index", str(index), "--sketch", str(sketch), "-k", "3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["hits"]) == 3 and any("3 class(es) the index holds" in n for n in doc["notes"])
    # new names the word vectors hold are accepted at query time, and they change the query
    assert main(["search", "--index", str(index), "--sketch", str(sketch), "--classes", "giraffe,teapot"]) == 0
    from semspace.retrieval.inputs import query_input

    x = query_input(spec, sketch)
    z_new, z_held = (searcher.task.embed_sketch(x, c) for c in (["giraffe", "teapot"], sorted(OUTSIDE)))
    assert not torch.allclose(z_new, z_held)
    capsys.readouterr()
    assert main(["search", "--index", str(index), "--sketch", str(sketch), "--classes", "giraffe,unicorn"]) == 1
    err = capsys.readouterr().err
    assert "unicorn" in err and "giraffe" not in err.split("unicorn")[0].split("[")[-1]
    noise = sketch.parent / "noise.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(noise)
    assert main(["search", "--index", str(index), "--sketch", str(noise)]) == 1
    err = capsys.readouterr().err
    assert "looks like a photo" in err and "--no-sketch-check" in err and "--image" not in err
    assert main(["search", "--index", str(index), "--sketch", str(noise), "--no-sketch-check", "--json"]) == 0
    noise.unlink()


def test_classify_ranks_given_classes_and_refuses_names_the_run_cannot_embed(
    user_run: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run, _, sketch = user_run
    capsys.readouterr()
    args = ["classify", "--run-dir", str(run), "--sketch", str(sketch)]
    assert main([*args, "--classes", "zebra,giraffe,teapot", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    probs = [r["probability"] for r in doc["ranking"]]
    assert sorted(r["class"] for r in doc["ranking"]) == ["giraffe", "teapot", "zebra"]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0, abs=1e-5)
    assert main([*args, "-k", "2"]) == 0  # default candidates: the run's label space
    out = capsys.readouterr().out
    assert "3 candidate classes" in out and out.count("0.") >= 4
    assert main([*args, "--classes", "zebra,unicorn"]) == 1
    assert "unicorn" in capsys.readouterr().err


def test_classify_and_search_on_the_tiny_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from semspace.engine.run import train
    from semspace.retrieval import Searcher
    from semspace.world.objects.dataset import ObjectDataset

    seen, unseen = ["apple", "car", "chair", "house"], ["cup", "truck"]

    def world(split: str, n: int, view: str, classes: list[str]) -> dict:
        return {"name": "world_objects", "args": {"split": split, "n": n, "size": 32, "view": view, "classes": classes}}

    cfg = from_dict(RunCfg, {
        "task": "ssgn", "task_args": {**TINY, "frozen": True},
        "data": {"train": {"name": "sbir_pairs", "args": {"sketches": world("train", 8, "sketch", seen),
                                                          "photos": world("train", 8, "photo", seen)}}},
        "train": {"max_steps": 2, "batch_size": 4, "log_every": 1, "ckpt_every": 100, "num_workers": 0},
    })  # fmt: skip
    run = tmp_path / "run"
    train(cfg, run)
    arr = np.asarray(ObjectDataset(split="test", n=1, size=48, view="sketch", classes=["cup"]).world.render_item(
        0, "test", ("sketch",))["sketch"])  # fmt: skip
    Image.fromarray(255 - arr).save(tmp_path / "cup.png")  # white on black
    capsys.readouterr()
    assert main(["classify", "--run-dir", str(run), "--sketch", str(tmp_path / "cup.png"), "--classes",
                 "cup,truck,chair", "--json"]) == 0  # fmt: skip
    assert {r["class"] for r in json.loads(capsys.readouterr().out)["ranking"]} == {"cup", "truck", "chair"}
    assert main(["classify", "--run-dir", str(run), "--sketch", str(tmp_path / "cup.png"), "--classes",
                 "cup,kettle"]) == 1  # fmt: skip
    assert "kettle" in capsys.readouterr().err
    index = tmp_path / "index"
    assert main(["index", "build", "--run-dir", str(run), "--data",
                 "world_objects:split=test,n=12,size=32,view=photo,classes=all", "--domain", "photo",
                 "--out", str(index)]) == 0  # fmt: skip
    searcher = Searcher(index)
    held = sorted({str(it["label"]) for it in searcher.index.iter_items("photo")})
    cands = searcher._sketch_classes(searcher.domains["sketch"], None, None)[0]
    assert cands == held and len(held) > len(unseen)  # seen classes too, not only those held out at training
    a = searcher.search_sketch(tmp_path / "cup.png", k=5).hits
    b = searcher.search_sketch(tmp_path / "cup.png", k=5, classes=unseen).hits
    assert len(a) == len(b) == 5
