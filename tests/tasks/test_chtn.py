"""The ``chtn`` task: its losses are the authors' (each term present, weighted, and wired to the right layers),
source and target batches in one step, layer sharing, a trained run reloads and is evaluated and indexed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from semspace.config import TrainCfg
from semspace.data import create_dataset
from semspace.data.collate import collate_dicts
from semspace.data.transforms import attach_transform
from semspace.engine.trainer import Trainer
from semspace.errors import DataError
from semspace.eval.protocols import create_protocol
from semspace.tasks import create_task, load_task

CLASSES = ["apple", "car", "pear"]
TINY: dict[str, Any] = {"image_trunk": "tiny_cnn", "widths": [16, 16], "shared_widths": [16, 16]}


def _data(n_src: int = 4) -> tuple[Any, Any]:
    target = create_dataset("xmodal_pairs", split="train", pairs_per_class=4, classes=CLASSES, size=32)
    source = create_dataset("xmodal_source", split="train", n_per_class=n_src, classes=["bus", "fish"], size=32)
    return target, source


def _task(target: Any, source: Any, **args: Any) -> tuple[Any, dict[str, Any]]:
    task = create_task("chtn", {**TINY, "num_source_classes": 2, **args}, target)
    for ds in (target, source):
        attach_transform(ds, task.preprocess_cfg())
    batch = collate_dicts([target[i] for i in range(8)])
    batch["source"] = collate_dicts([source[i] for i in range(8)])
    return task, batch


def test_chtn_loss_is_the_weighted_sum_of_the_authors_terms() -> None:
    target, source = _data()
    torch.manual_seed(0)
    task, batch = _task(target, source, contrastive_weight=0.25, mmd_weight=0.5)
    assert task.cfg.num_classes == 3 and task.domains()["photo"].embed_dim == 3
    out = task.training_forward(batch)
    terms = {"loss_img_ce", "loss_txt_ce", "loss_con6", "loss_con7", "loss_src_ce", "loss_mmd6", "loss_mmd7"}
    assert terms <= set(out)
    expected = (out["loss_img_ce"] + out["loss_txt_ce"] + 0.25 * (out["loss_con6"] + out["loss_con7"])
                + out["loss_src_ce"] + 0.5 * (out["loss_mmd6"] + out["loss_mmd7"]))  # fmt: skip
    torch.testing.assert_close(out["loss"], expected)


def test_mmd_terms_read_the_source_and_target_branches_after_bn() -> None:
    target, source = _data()
    torch.manual_seed(0)
    task, batch = _task(target, source)
    out = task.training_forward(batch)
    out["loss_mmd6"].backward()
    assert task.src_branch.fc6.weight.grad.abs().sum() > 0 and task.img_branch.fc6.weight.grad.abs().sum() > 0
    assert task.txt_branch.fc6.weight.grad is None  # MMD never touches the text pathway
    assert task.src_branch.fc7.weight.grad is None  # fc6 term: fc7 untouched


def test_contrastive_term_ties_image_and_text_branches_only() -> None:
    target, source = _data()
    task, batch = _task(target, source)
    task.training_forward(batch)["loss_con7"].backward()
    assert task.txt_branch.fc7.weight.grad.abs().sum() > 0 and task.img_branch.fc7.weight.grad.abs().sum() > 0
    assert task.src_branch.fc6.weight.grad is None and task.head.mlp.fc.weight.grad is None


def test_layer_sharing_uses_one_head_for_both_modalities() -> None:
    target, source = _data()
    shared, batch = _task(target, source)
    assert shared.txt_head is None
    shared.training_forward(batch)["loss_txt_ce"].backward()
    assert shared.head.mlp.fc.weight.grad.abs().sum() > 0  # the text loss trains the shared head
    separate, batch = _task(target, source, layer_sharing=False)
    separate.training_forward(batch)["loss_txt_ce"].backward()
    assert separate.head.mlp.fc.weight.grad is None and separate.txt_head.mlp.fc.weight.grad.abs().sum() > 0


def test_without_source_the_transfer_is_off_and_said_once(caplog: pytest.LogCaptureFixture) -> None:
    target, source = _data()
    task, batch = _task(target, source, use_source=False)
    assert task.src_branch is None
    with caplog.at_level("INFO"):
        out = task.training_forward(batch)
        task.training_forward(batch)
    assert "loss_mmd6" not in out
    said = [r for r in caplog.records if "modal-sharing transfer is off" in r.message]
    assert len(said) == 1 and said[0].levelname == "INFO"  # asked for (a baseline): said once, not a warning


def test_source_labels_out_of_range_are_refused() -> None:
    target, source = _data()
    task, batch = _task(target, source, num_source_classes=1)
    with pytest.raises(DataError, match="source labels span 0..1"):
        task.training_forward(batch)


def test_representation_is_softmax_of_fc10() -> None:
    target, source = _data()
    task, batch = _task(target, source)
    task.eval()
    with torch.no_grad():
        z = task.eval_forward(batch)
        logits = task.head(task.img_branch(task.trunk.encode(batch["image"]))["fc7"])
    torch.testing.assert_close(z["photo"], torch.nn.functional.normalize(logits.softmax(-1), dim=-1))


def test_trained_run_reloads_evaluates_and_indexes_both_domains(tmp_path: Path) -> None:
    from semspace.retrieval import Searcher, build_index

    target, source = _data()
    torch.manual_seed(0)
    task = create_task("chtn", {**TINY, "num_source_classes": 2}, target)
    for ds in (target, source):
        attach_transform(ds, task.preprocess_cfg())
    cfg = TrainCfg(max_steps=3, batch_size=8, log_every=1, ckpt_every=100)
    Trainer(task, cfg, tmp_path / "run", dataset=target, extra_datasets={"source": source}).fit()
    reloaded, _ = load_task(tmp_path / "run" / "model.pt")
    data = {"name": "xmodal_pairs", "args": {"split": "test", "pairs_per_class": 2, "classes": CLASSES, "size": 32}}
    metrics = create_protocol("cross_modal_map", data=data)(reloaded)
    assert set(metrics) == {"image_to_text_mAP@all", "text_to_image_mAP@all", "mean_mAP@all"}
    spec = "xmodal_pairs:split=test,pairs_per_class=2,size=32"
    build_index(tmp_path / "run", spec, tmp_path / "index", domain="photo")
    build_index(tmp_path / "run", spec, tmp_path / "index", domain="text")
    searcher = Searcher(tmp_path / "index")
    hits = searcher.search_text("a red apple with a leaf", k=5, in_domains=["photo"]).hits
    assert len(hits) == 5 and {h.domain for h in hits} == {"photo"}
    assert searcher.index.domain_counts()  # two collections, one index
    assert set(searcher.index.domain_names()) == {"photo", "text"}


def test_pairs_missing_a_modality_are_counted_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    import numpy as np

    txt = np.ones((6, 5), np.float32)
    txt[[1, 4]] = 0.0  # two images without text (all-zero rows, e.g. NUS-WIDE images without tags)
    np.savez(tmp_path / "f.npz", train_img=np.ones((6, 3), np.float32), train_txt=txt, train_labels=np.arange(6) % 2)
    ds = create_dataset("features", path=tmp_path / "f.npz", split="train")
    args = {"image_trunk": "identity_features", "text_encoder": "identity_features", "image_key": "features.img",
            "text_key": "features.txt", "image_kind": "features", "widths": [4, 4],
            "shared_widths": [4, 4]}  # fmt: skip
    with caplog.at_level(logging.WARNING):
        task = create_task("chtn", args, ds)
    lines = [r.getMessage() for r in caplog.records if "miss a modality" in r.getMessage()]
    assert len(lines) == 1 and "2 without txt" in lines[0] and "of the 6 training pairs" in lines[0]
    assert "without img" not in lines[0] and task.cfg.num_classes == 2
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        create_task("chtn", {**TINY}, create_dataset("xmodal_pairs", pairs_per_class=2, classes=CLASSES, size=32))
    assert not [r for r in caplog.records if "miss a modality" in r.getMessage()]


def test_optimizer_groups_follow_the_prototxt_lr_mult_one_two() -> None:
    target, source = _data()
    task, _ = _task(target, source)
    cfg = TrainCfg(lr=0.01, weight_decay=5e-4, optimizer="sgd")
    groups = task.optimizer_groups(cfg)["main"]
    mult = {id(p): (g["lr_mult"], g["weight_decay"]) for g in groups for p in g["params"]}
    assert len(mult) == sum(1 for p in task.parameters() if p.requires_grad)  # every trainable tensor, once
    for lin in (task.img_branch.fc6, task.txt_branch.fc7, task.src_fc8):
        assert mult[id(lin.weight)] == (1.0, 5e-4) and mult[id(lin.bias)] == (2.0, 0.0)
    assert mult[id(task.img_branch.bn6.weight)] == (1.0, 0.0)  # norms: 1x, no decay
    plain = create_task("chtn", {**TINY, "num_source_classes": 2, "bias_lr_mult": 1.0}, target)
    assert {g["lr_mult"] for g in plain.optimizer_groups(cfg)["main"]} == {1.0}


def test_warm_start_copies_a_source_only_run_into_the_target_image_branch(tmp_path: Path) -> None:
    from semspace.engine.stages import apply_init
    from semspace.tasks.chtn import SOURCE_ONLY_WEIGHTS, warm_start_init

    target, source = _data()
    torch.manual_seed(0)
    pre = create_task("chtn", {**TINY, "num_source_classes": 2, **SOURCE_ONLY_WEIGHTS}, target)
    for ds in (target, source):
        attach_transform(ds, pre.preprocess_cfg())
    cfg = TrainCfg(max_steps=2, batch_size=8, log_every=1, ckpt_every=100)
    Trainer(pre, cfg, tmp_path / "pre", dataset=target, extra_datasets={"source": source}).fit()
    warm = create_task("chtn", {**TINY, "num_source_classes": 2}, target)
    apply_init(warm, warm_start_init(str(tmp_path / "pre" / "model.pt")))
    torch.testing.assert_close(warm.img_branch.fc6.weight, pre.src_branch.fc6.weight)
    torch.testing.assert_close(warm.trunk.state_dict(), pre.trunk.state_dict())
    torch.testing.assert_close(warm.src_fc8.state_dict(), pre.src_fc8.state_dict())
    assert warm.img_branch.fc6.weight.requires_grad  # a start, not a frozen stage
