"""Task ``ssgn``: each method's training terms, bad inputs, train -> eval -> index -> sketch search on the world."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semspace.capabilities import supports
from semspace.config import DataSpec, RunCfg, from_dict
from semspace.errors import ConfigError, DataError
from semspace.tasks import create_task
from semspace.world.objects.catalog import class_id

SEEN = ["apple", "car", "chair", "house"]
UNSEEN = ["cup", "truck", "pear"]
TINY = {"backbone": "tiny_cnn", "frozen": False, "fusion_layers": [-2, -1], "fusion_dim": 8, "sketch_dim": 16,
        "hidden": 16, "photo_head_dim": 12, "embed_dim": 8, "noise_dim": 4}  # fmt: skip


def _batch(n: int = 6, names: list[str] = SEEN) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    labels = torch.tensor([class_id(names[i % len(names)]) for i in range(n)])
    return {"sketch": torch.rand(n, 3, 32, 32, generator=g), "image": torch.rand(n, 3, 32, 32, generator=g),
            "label": labels}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "terms"),
    [
        ("ssgn", {"loss_sem", "loss_calib", "loss_coarse_cls", "loss_reg", "loss_cls", "loss_cls_real"}),
        ("single_stage", {"loss_sem", "loss_calib", "loss_reg", "loss_cls", "loss_cls_real"}),
        ("cvae", {"loss_kl", "loss_reg", "loss_cls_real"}),
        ("direct", {"loss_nce"}),
    ],
)
def test_each_method_trains_with_its_terms(method: str, terms: set[str]) -> None:
    torch.manual_seed(0)
    task = create_task("ssgn", {**TINY, "method": method})
    out = task.training_forward(_batch())
    assert set(out) == terms | {"loss"}
    assert all(bool(torch.isfinite(v)) for v in out.values())
    out["loss"].backward()
    first = next(task.backbone.backbone.stages[0].parameters())
    assert first.grad is not None and bool(first.grad.abs().sum() > 0)  # the from-scratch backbone trains
    task.eval()
    drawing = torch.ones(2, 3, 32, 32)  # white (normalised to 1) with a black stroke
    drawing[:, :, 10:12, 4:28] = -1.0
    z = task.embed("sketch", drawing)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(2))
    assert supports(task, "generate_query")


def test_ablation_flags_drop_their_terms_and_no_fusion_uses_one_layer() -> None:
    task = create_task("ssgn", {**TINY, "cls_weight": 0.0, "coarse_cls_weight": 0.0, "fusion_layers": [-1]})
    out = task.training_forward(_batch())
    assert "loss_cls" not in out and "loss_coarse_cls" not in out and "loss_coarse" not in out
    regressed = create_task("ssgn", {**TINY, "coarse_weight": 1.0}).training_forward(_batch())
    assert "loss_coarse" in regressed
    assert len(task.fusion.proj) == 1


def test_query_semantics_use_the_candidate_classes() -> None:
    task = create_task("ssgn", {**TINY, "semantic_query": "nearest"}).eval()
    task.set_query_classes(["cup"])
    h = torch.randn(3, 16)
    cup = task.semantics[task.cfg.class_names.index("cup")]
    torch.testing.assert_close(task.query_semantics(h), cup.expand(3, -1))
    with pytest.raises(DataError, match="label space"):
        task.set_query_classes(["unicorn"])


def test_bad_inputs_are_clear() -> None:
    task = create_task("ssgn", TINY)
    with pytest.raises(DataError, match="unseen"):
        task.training_forward(_batch(names=["cup", "apple"]))
    with pytest.raises(ConfigError, match="method"):
        create_task("ssgn", {**TINY, "method": "gan"})
    with pytest.raises(ConfigError, match="fusion_layers"):
        create_task("ssgn", {**TINY, "fusion_layers": [-1, 2]})
    with pytest.raises(DataError, match="no side information"):
        create_task("ssgn", {**TINY, "class_names": ["cup", "teddy_bear"], "query_classes": ["cup"]})


def _sketch_png(path: Path, invert: bool = False, grey: bool = False, size: int = 48) -> Path:
    from semspace.world.objects.dataset import ObjectDataset

    arr = np.asarray(ObjectDataset(split="test", n=1, size=size, view="sketch", classes=["cup"]).world.render_item(
        0, "test", ("sketch",))["sketch"])  # fmt: skip
    img = Image.fromarray(255 - arr if invert else arr)
    (img.convert("L") if grey else img).save(path)
    return path


def test_train_eval_index_and_sketch_search_on_the_world(tmp_path: Path) -> None:
    from semspace.engine.run import train
    from semspace.retrieval import Searcher, build_index
    from semspace.retrieval.evaluation import evaluate

    def world(split: str, n: int, view: str, classes: list[str]) -> dict:
        return {"name": "world_objects", "args": {"split": split, "n": n, "size": 32, "view": view, "classes": classes}}

    cfg = from_dict(RunCfg, {
        "task": "ssgn", "task_args": {**TINY, "frozen": True},
        "data": {"train": {"name": "sbir_pairs", "args": {"sketches": world("train", 16, "sketch", SEEN),
                                                          "photos": world("train", 16, "photo", SEEN)}}},
        "train": {"max_steps": 3, "batch_size": 8, "log_every": 1, "ckpt_every": 100},
        "eval": {"protocol": "zs_sbir", "sketches": world("test", 6, "sketch", UNSEEN),
                 "photos": world("test", 9, "photo", UNSEEN), "generalized_photos": world("test", 8, "photo", SEEN)},
    })  # fmt: skip
    run = tmp_path / "run"
    metrics = train(cfg, run)
    keys = {"sketch_to_photo_mAP@all", "sketch_to_photo_P@100", "sketch_to_photo_mAP@200", "sketch_to_photo_P@200"}
    assert keys <= set(metrics) and {"generalized_" + k for k in keys} <= set(metrics)
    assert all(0.0 <= metrics[k] <= 1.0 for k in keys)
    again = evaluate(run)
    assert again["sketch_to_photo_mAP@all"] == pytest.approx(metrics["sketch_to_photo_mAP@all"])
    index = tmp_path / "index"
    photos = world("test", 9, "photo", UNSEEN)
    build_index(run, DataSpec(name=photos["name"], args=photos["args"]), index, domain="photo")
    searcher = Searcher(index)
    hits = searcher.search_sketch(_sketch_png(tmp_path / "cup.png"), k=4).hits
    assert len(hits) == 4 and len({h.id for h in hits}) == 4
    inverted = searcher.search_sketch(_sketch_png(tmp_path / "inv.png", invert=True), k=4).hits
    assert [h.id for h in inverted] == [h.id for h in hits]  # a sketch on black is the same query
    assert len(searcher.search_sketch(_sketch_png(tmp_path / "g.png", grey=True, size=100), k=3).hits) == 3
    Image.new("L", (50, 70), 255).save(tmp_path / "blank.png")
    with pytest.raises(DataError, match="blank"):
        searcher.search_sketch(tmp_path / "blank.png", k=3)
