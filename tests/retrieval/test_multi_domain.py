"""One shared space, three kinds of domain in one index (the per-domain contract, end to end).

A toy task embeds ``photo`` (RGB image, 32 px), ``drawing`` (a *sketch* domain with its own 1-channel 24 px
preprocessing) and ``vec`` (8-d feature vectors). Its checkpoint records the three domains; one index holds a
collection of each, built from a photo folder, a drawing folder and a feature file; queries search one domain,
a list of them, or all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from semspace.data.domains import InputKind
from semspace.data.transforms import build_transform
from semspace.errors import ConfigError, DataError, IndexMismatchError
from semspace.index import EmbeddingIndex
from semspace.models import create_model
from semspace.models.checkpoint import save_checkpoint
from semspace.models.joint import JointEmbeddingModel
from semspace.retrieval import Searcher, build_index
from semspace.tasks import TASKS, Task, TaskCfg, load_task

D = 16


@dataclass
class ThreeDomainCfg(TaskCfg):
    seed: int = 0


class ThreeDomainTask(Task):
    """photo (image), drawing (sketch, own preprocessing), vec (features): embedding only, no capabilities."""

    Cfg = ThreeDomainCfg
    name = "test_three_domains"

    def __init__(self, cfg: ThreeDomainCfg) -> None:
        super().__init__(cfg)
        torch.manual_seed(cfg.seed)
        photo = create_model("tiny_cnn", embed_dim=D, preprocess={"size": 32})
        drawing = create_model(
            "tiny_cnn", embed_dim=D, preprocess={"size": 24, "channels": 1, "mean": [0.5], "std": [0.5]}
        )
        vec = create_model("tiny_mlp_features", in_dim=8, embed_dim=D)
        self.model = JointEmbeddingModel(
            encoders={"photo": photo, "drawing": drawing, "vec": vec}, kinds={"drawing": "sketch"}
        )


if not TASKS.is_registered(ThreeDomainTask.name):
    TASKS.add(ThreeDomainTask.name, ThreeDomainTask)


def _save_run(run: Path, task: Task) -> Path:
    payload: dict[str, Any] = {
        "task": task.name,
        "task_cfg": task.export_cfg(),
        "domains": [spec.to_dict() for spec in task.domains().values()],
        "state_dict": task.state_dict(),
    }
    return save_checkpoint(run / "model.pt", payload)


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("three")
    task = ThreeDomainTask(ThreeDomainCfg()).eval()
    run = base / "run"
    _save_run(run, task)
    rng = np.random.default_rng(0)
    photos, drawings = base / "photos", base / "drawings"
    photos.mkdir()
    drawings.mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(photos / f"p{i}.png")
        Image.fromarray(rng.integers(0, 256, (50, 50), dtype=np.uint8), "L").save(drawings / f"d{i}.png")
    vectors = rng.standard_normal((5, 8)).astype(np.float32)
    np.savez(base / "feats.npz", train_vec=vectors, train_labels=np.arange(5))
    index = base / "index"
    stats = [
        build_index(run, f"folder:{photos}", index, domain="photo"),
        build_index(run, f"folder:{drawings}", index, domain="drawing"),
        build_index(run, f"features:path={base / 'feats.npz'},split=train,modality=vec", index),
    ]
    return {"task": task, "run": run, "index": index, "photos": photos, "drawings": drawings, "vectors": vectors,
            "stats": stats, "base": base}  # fmt: skip


def test_the_checkpoint_and_the_index_record_every_domain(three: dict[str, Any]) -> None:
    task, _ = load_task(three["run"] / "model.pt")
    kinds = {name: spec.kind for name, spec in task.domains().items()}
    assert kinds == {"photo": InputKind.IMAGE, "drawing": InputKind.SKETCH, "vec": InputKind.FEATURES}
    assert task.domain("drawing").preprocess.channels == 1 and task.domain("drawing").preprocess.size == 24  # type: ignore[union-attr]
    assert task.domain("vec").feature_dim == 8
    assert [(s["domain"], s["kind"], s["added"]) for s in three["stats"]] == [
        ("photo", "image", 6),
        ("drawing", "sketch", 6),
        ("vec", "features", 5),
    ]  # fmt: skip (the feature file's items name their domain: no --domain needed)
    index = EmbeddingIndex.open(three["index"])
    assert index.domains() == task.domains()
    assert index.domain_counts() == {"photo": 6, "drawing": 6, "vec": 5}
    assert index.thumbnail(0) is not None and index.thumbnail(len(index) - 1) is None  # pictures only


def test_each_collection_was_embedded_with_its_own_preprocessing(three: dict[str, Any]) -> None:
    task, index = three["task"], EmbeddingIndex.open(three["index"])
    by_uri = {it["uri"]: it["id"] for it in index.iter_items()}
    drawing = sorted(three["drawings"].glob("*.png"))[0]
    with Image.open(drawing) as img:
        x = build_transform(task.domain("drawing").preprocess)(img.convert("L"))[None]  # (1, 1, 24, 24)
    with torch.no_grad():
        want = task.embed("drawing", x)[0].numpy()  # (D,)
    np.testing.assert_allclose(index.reconstruct(by_uri[str(drawing.resolve())]), want, atol=1e-5)
    vec_ids = [it["id"] for it in index.iter_items() if it["domain"] == "vec"]
    with torch.no_grad():
        want_vec = task.embed("vec", torch.from_numpy(three["vectors"])).numpy()  # (5, D)
    np.testing.assert_allclose(np.stack([index.reconstruct(i) for i in vec_ids]), want_vec, atol=1e-5)


def test_queries_search_one_domain_a_list_or_all(three: dict[str, Any]) -> None:
    searcher = Searcher(three["index"], run_dir=three["run"])
    photo = sorted(three["photos"].glob("*.png"))[2]
    mine = searcher.search_image(photo, k=3, in_domains=["photo"], keep_query=True)
    assert mine.query_domain == "photo" and [h.domain for h in mine.hits] == ["photo"] * 3
    assert mine.hits[0].uri == str(photo.resolve()) and mine.hits[0].score == pytest.approx(1.0, abs=1e-4)
    drawing = sorted(three["drawings"].glob("*.png"))[1]
    sketch = searcher.search_sketch(drawing, k=17, keep_query=True)  # every collection
    assert sketch.query_domain == "drawing" and sketch.searched_domains == ["drawing", "photo", "vec"]
    assert {h.domain for h in sketch.hits} == {"photo", "drawing", "vec"} and len(sketch.hits) == 17
    assert sketch.hits[0].uri == str(drawing.resolve())
    two = searcher.search_sketch(drawing, k=20, in_domains=["drawing", "vec"])
    assert {h.domain for h in two.hits} == {"drawing", "vec"} and len(two.hits) == 10  # 11, less the query itself
    assert "hold 11 item(s), 1 of them the query itself" in two.notes[-1]
    vec = searcher.search(three["vectors"][3], domain="vec", k=2, in_domains=["vec"], keep_query=True)
    assert vec.hits[0].uri.endswith("/3") and vec.hits[0].score == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(DataError, match="feature vectors of width 8"):
        searcher.search(np.zeros(5), domain="vec")
    with pytest.raises(ConfigError, match="embeds no text domain"):
        searcher.search_text("a cat")
    with pytest.raises(ConfigError, match="cannot compose"):
        searcher.search_image(photo, modify="make it red")


def test_another_preprocessing_for_a_stored_domain_is_refused(three: dict[str, Any], tmp_path: Path) -> None:
    """A model whose drawing domain reads 32 px RGB cannot add to, or search, the 24 px grey collection."""

    class Resized(ThreeDomainTask):
        name = "test_three_domains"

        def __init__(self, cfg: ThreeDomainCfg) -> None:
            super().__init__(cfg)
            self.model = JointEmbeddingModel(
                encoders={"photo": create_model("tiny_cnn", embed_dim=D, preprocess={"size": 32}),
                          "drawing": create_model("tiny_cnn", embed_dim=D, preprocess={"size": 32}),
                          "vec": create_model("tiny_mlp_features", in_dim=8, embed_dim=D)},
                kinds={"drawing": "sketch"},
            )  # fmt: skip

    index = EmbeddingIndex.open(three["index"])
    other = Resized(ThreeDomainCfg())
    with pytest.raises(IndexMismatchError, match="domain 'drawing'.*differ in preprocess"):
        index.check_model(index.model_info, other.domains())


def test_the_cli_searches_by_sketch_within_chosen_collections(
    three: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from semspace.cli.main import main

    drawing = sorted(three["drawings"].glob("*.png"))[4]
    base = ["search", "--index", str(three["index"]), "--run-dir", str(three["run"])]
    capsys.readouterr()
    assert main([*base, "--sketch", str(drawing), "--domain", "drawing", "--domain", "vec", "-k", "20", "--json",
                 "--keep-query"]) == 0  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["query_domain"] == "drawing" and doc["searched_domains"] == ["drawing", "vec"]
    assert {h["domain"] for h in doc["hits"]} == {"drawing", "vec"} and len(doc["hits"]) == 11
    assert doc["hits"][0]["uri"] == str(drawing.resolve())
    assert main([*base, "--text", "a cat"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: task 'test_three_domains' embeds no text domain") and len(err.splitlines()) == 1
    assert main([*base, "--sketch", str(drawing), "--domain", "photos"]) == 1
    assert "holds no domain ['photos']" in capsys.readouterr().err
