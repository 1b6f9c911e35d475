"""build_index and Searcher end to end on a tiny trained run: world gallery and a user folder of PNGs.

Composed queries (``--modify`` with the transfer task) are tested end to end in ``tests/cli/test_index_search_cli.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semspace.config import load_run_cfg
from semspace.data import create_dataset
from semspace.data.transforms import attach_transform
from semspace.engine.run import train
from semspace.errors import CheckpointError, ConfigError, IndexMismatchError
from semspace.index import EmbeddingIndex, exact_knn
from semspace.index.layout import LOCK
from semspace.models.checkpoint import load_checkpoint, save_checkpoint
from semspace.retrieval import Searcher, build_index
from semspace.tasks import load_task

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.train.args.n=32", "data.train.args.size=32", "train.max_steps=3", "train.batch_size=16",
        "train.num_workers=0", "train.eval_every=0", "train.log_every=5", "eval={}"]  # fmt: skip
WORLD = "world_scenes:split=test,n=12,size=32,targets=false"


def _train(config: str, overrides: list[str], run_dir: Path) -> Path:
    train(load_run_cfg(ROOT / "configs" / config, [*overrides, *TINY]), run_dir)
    return run_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    enc = ["task_args.encoder_a=tiny_cnn", "task_args.encoder_b=tiny_cnn", "task_args.embed_dim=32"]
    return _train("align/world_2d_3d.yaml", enc, tmp_path_factory.mktemp("align") / "run")


def _write_pngs(folder: Path, seed: int = 0) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    (folder / "cats").mkdir(parents=True, exist_ok=True)
    noise = lambda h, w, c: rng.integers(0, 256, (h, w, c) if c else (h, w), dtype=np.uint8)  # noqa: E731
    files = {
        "rgba": (folder / "a.png", Image.fromarray(noise(30, 50, 4), "RGBA")),
        "grey": (folder / "cats" / "b.png", Image.fromarray(noise(40, 40, 0), "L")),
        "palette": (folder / "cats" / "c.png", Image.fromarray(noise(20, 64, 3)).convert("P")),
        "rgb": (folder / "d.png", Image.fromarray(noise(77, 33, 3))),
    }
    for path, img in files.values():
        img.save(path)
    return {k: p for k, (p, _) in files.items()}


def test_world_gallery_is_indexed_with_the_runs_vectors_and_rebuilt_incrementally(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    stats = build_index(run, WORLD, out, batch_size=10)
    assert (stats["listed"], stats["added"], stats["unchanged"], stats["total"]) == (24, 24, 0, 24)  # gallery: 2 x n
    assert (stats["domain"], stats["embedded"], stats["saved"]) == ("render3d", 24, True)
    index = EmbeddingIndex.open(out)
    gallery = attach_transform(create_dataset("world_scenes", split="test", n=12, size=32).gallery(), None)
    task, _ = load_task(run / "model.pt")
    attach_transform(gallery, task.preprocess_cfg())
    for i in (0, 13, 23):
        item = index.get_item(i)
        assert item is not None and item["uri"] == f"world:world_scenes/test/{i}"
        assert item["label"] == gallery[i]["key"] and item["caption"] == gallery[i]["text"]
        with torch.no_grad():
            z = task.embed("render3d", gallery[i]["image"][None])[0].numpy()  # (D,) the naive way
        np.testing.assert_allclose(index.reconstruct(i), z, atol=1e-5)
        assert index.thumbnail(i).size == (32, 32)  # type: ignore[union-attr]
    again = build_index(run, WORLD, out)  # the same source: nothing rendered, embedded or written
    assert (again["added"], again["unchanged"], again["embedded"], again["saved"], again["total"]) == (
        0,
        24,
        0,
        False,
        24,
    )


def test_folder_images_of_any_mode_find_themselves(run: Path, tmp_path: Path) -> None:
    files = _write_pngs(tmp_path / "photos")
    out = tmp_path / "idx"
    build_index(run, WORLD, out)
    stats = build_index(run, f"folder:{tmp_path / 'photos'}", out)  # appended to the same index
    assert (stats["added"], stats["total"], stats["domain"]) == (4, 28, "render3d")
    assert "the items name none" in stats["domain_reason"]  # why photos are stored as render3d
    searcher = Searcher(out)
    for path in files.values():
        for query in (path, Image.open(path)):  # a path, or an image in its original mode (RGBA, L, P)
            hits = searcher.search_image(query, k=5, keep_query=True).hits
            assert hits[0].uri == str(path.resolve()) and hits[0].score == pytest.approx(1.0, abs=1e-4)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        default = searcher.search_image(path, k=5)  # by default the query's own item is left out, and said so
        assert str(path.resolve()) not in [h.uri for h in default.hits] and len(default.hits) == 5
        assert default.notes and "identical to the query" in default.notes[0] and len(default.excluded) == 1
    labels = {Path(it["uri"]).name: it["label"] for it in searcher.index.iter_items() if "photos" in it["uri"]}
    assert labels == {"a.png": "", "b.png": "cats", "c.png": "cats", "d.png": ""}
    Image.new("RGB", (10, 10), (1, 2, 3)).save(files["rgb"])  # one file changes: only it is embedded again
    stats = build_index(run, f"folder:{tmp_path / 'photos'}/", out)  # the same source, with a trailing slash
    assert (stats["added"], stats["updated"], stats["unchanged"], stats["embedded"], stats["total"]) == (0, 1, 3, 1, 28)


def test_searcher_answers_item_queries_like_brute_force(run: Path, tmp_path: Path) -> None:
    build_index(run, WORLD, tmp_path / "idx")
    searcher = Searcher(tmp_path / "idx")
    vectors = np.stack([searcher.index.reconstruct(i) for i in range(24)])  # (24, D)
    result = searcher.search_item(7, k=4, keep_query=True)
    ref_scores, ref_pos = exact_knn(vectors[7:8], vectors, 4)
    assert result.hits[0].id == 7 and result.query_domain == "render3d"
    np.testing.assert_allclose([h.score for h in result.hits], ref_scores[0].numpy(), atol=1e-5)
    without = searcher.search_item(7, k=3)  # the item itself is left out: the next three of the brute-force list
    assert [h.id for h in without.hits] == ref_pos[0, 1:].tolist() and without.excluded == [7]
    far = searcher.search_item(7, k=30)
    assert len(far.hits) == 23 and "asked for 30 results" in far.notes[-1] and "24 item(s)" in far.notes[-1]
    with pytest.raises(ConfigError, match="embeds no text domain"):
        searcher.search_text("a red cube")
    with pytest.raises(ConfigError, match="task 'align' cannot compose"):
        searcher.search_item(7, modify="make the red cube blue")
    blank = searcher.search_item(7, modify="  ")
    assert blank.hits == searcher.search_item(7).hits and "plain search" in blank.notes[0]  # and says so
    with pytest.raises(ConfigError, match="query domain 'photo'"):
        searcher.search_image(Image.new("RGB", (8, 8)), query_domain="photo")
    cross = searcher.search_image(Image.new("RGB", (8, 8)), query_domain="blobs2d", k=3)
    assert cross.query_domain == "blobs2d" and len(cross.hits) == 3


def test_models_must_match_and_a_moved_run_still_works(run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    ckpt = load_checkpoint(run / "model.pt")
    ckpt["state_dict"] = {k: v + 0.01 if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    save_checkpoint(other / "model.pt", {k: v for k, v in ckpt.items() if k not in ("format", "semspace_version")})
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    out = tmp_path / "idx"
    build_index(copy, WORLD, out)
    with pytest.raises(IndexMismatchError, match=r"copy.model\.pt.*other.model\.pt"):
        Searcher(out, run_dir=other)
    with pytest.raises(IndexMismatchError):
        build_index(other, WORLD, out)
    (copy / "model.pt").unlink()
    with pytest.raises(CheckpointError, match="no longer exists.*--run-dir"):
        Searcher(out)
    assert len(Searcher(out, run_dir=run).search_item(0, k=2).hits) == 2  # the same weights elsewhere: accepted


def test_bad_arguments_are_clear_and_leave_no_index(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    with pytest.raises(ConfigError, match="at least 64 vectors"):
        build_index(run, WORLD, out, factory="IVF64,Flat")
    assert not (out / "manifest.json").exists()  # a failed first build leaves no index to trip over
    again = build_index(run, WORLD, out, factory="IVF4,Flat")  # and its finished embeddings are not lost
    assert (again["total"], again["resumed"], again["embedded"]) == (24, 24, 0)
    assert sorted(p.name for p in out.iterdir()) == ["gen-000001", "manifest.json", LOCK, "thumbs"]  # no journal
    with pytest.raises(ConfigError, match="unknown dataset 'planets'"):
        build_index(run, "planets:n=3", tmp_path / "x")
    with pytest.raises(ConfigError, match="--domain 'text'"):
        build_index(run, WORLD, tmp_path / "x", domain="text")
    with pytest.raises(CheckpointError, match="no model.pt"):
        build_index(tmp_path / "no_run", WORLD, tmp_path / "x")
    assert not (tmp_path / "x").exists()  # failures before any embedding leave nothing at all
