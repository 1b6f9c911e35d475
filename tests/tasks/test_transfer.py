"""The ``transfer`` task: composer trained on source-domain triplets only, applied in the target domain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from semspace.data import create_dataset
from semspace.data.collate import collate_dicts
from semspace.data.transforms import attach_transform
from semspace.errors import ConfigError
from semspace.models import save_checkpoint
from semspace.tasks import create_task, load_task
from semspace.types import IMAGE, MOD_TEXT, PAIRED_IMAGE, TARGET_IMAGE, TARGET_LABEL, TEXT

TINY = {"source_encoder": "tiny_cnn", "target_encoder": "tiny_cnn", "text_encoder": "tiny_lstm_text", "embed_dim": 32}


def _setup(view: str, paired: str | None, **task_args: Any) -> tuple[Any, dict[str, Any]]:
    data = create_dataset("world_scenes", split="train", n=8, size=32, view=view, paired_view=paired)
    task = create_task("transfer", {**TINY, **task_args}, data)
    attach_transform(data, task.preprocess_cfg())
    return task, collate_dicts([data[i] for i in range(8)])


class RecordingBatch(dict):
    """A batch that remembers which keys the task read."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def test_transfer_reads_only_source_triplets_and_paired_views() -> None:
    task, batch = _setup("blobs2d", "render3d")
    rec = RecordingBatch(batch)
    out = task.training_forward(rec)
    assert set(out) >= {"loss", "loss_compose", "loss_align"}
    assert torch.isfinite(out["loss"])
    # target-domain triplets (3D targets) do not exist in this batch and are never asked for
    assert rec.read <= {IMAGE, TARGET_IMAGE, MOD_TEXT, PAIRED_IMAGE, TARGET_LABEL}
    assert task.embedding_domains() == ["blobs2d", "render3d"]


def test_target_encoder_learns_only_through_alignment() -> None:
    task, batch = _setup("blobs2d", "render3d", align_weight=0.0)
    task.training_forward(batch)["loss"].backward()
    target_grads = [p.grad for p in task.encoders["render3d"].parameters()]
    assert all(g is None or not g.any() for g in target_grads)
    assert any(p.grad is not None and p.grad.any() for p in task.composer.parameters())
    task.zero_grad()
    task.cfg.align_weight = 1.0
    task.training_forward(batch)["loss"].backward()
    assert any(p.grad is not None and p.grad.any() for p in task.encoders["render3d"].parameters())


def test_in_domain_has_no_alignment_term() -> None:
    task, batch = _setup("render3d", None, source_domain="render3d", target_domain="render3d")
    out = task.training_forward(batch)
    assert "loss_align" not in out
    assert torch.equal(out["loss"], out["loss_compose"])
    assert task.embedding_domains() == ["render3d"]


def test_text_source_composes_descriptions() -> None:
    task, batch = _setup("text", "render3d", source_domain="text", source_encoder="tiny_lstm_text")
    out = task.training_forward(batch)
    assert torch.isfinite(out["loss"]) and "loss_align" in out
    z = task.embed("text", batch[TEXT])
    assert z.shape == (8, 32)
    assert torch.allclose(z.norm(dim=-1), torch.ones(8), atol=1e-5)


def test_shared_encoder_is_one_module() -> None:
    task, batch = _setup("blobs2d", "render3d", share_encoder=True)
    assert task.encoders["blobs2d"] is task.encoders["render3d"]
    assert torch.isfinite(task.training_forward(batch)["loss"])


@pytest.mark.parametrize(
    "args",
    [
        {"share_encoder": True, "source_domain": "text", "source_encoder": "tiny_lstm_text"},
        {"target_domain": "txt", "target_encoder": "tiny_lstm_text"},  # a text target, whatever its name
        {"source_domain": "feats", "source_encoder": "tiny_mlp_features"},  # feature vectors have no triplets
        {"domain_kinds": {"render3d": "text"}},  # an image encoder cannot embed a text domain
        {"composer": "no_such_composer"},
    ],
)
def test_bad_configurations_are_config_errors(args: dict[str, Any]) -> None:
    data = create_dataset("world_scenes", split="train", n=2, view="text", paired_view="render3d")
    with pytest.raises((ConfigError, KeyError)):
        create_task("transfer", {**TINY, **args}, data)


def test_kinds_come_from_the_encoders_not_the_domain_names() -> None:
    """A domain called "text" embedded by an image encoder is an image domain; "captions" with the LSTM is text."""
    data = create_dataset("world_scenes", split="train", n=2, view="text", paired_view="render3d")
    task = create_task("transfer", {**TINY, "source_domain": "captions", "source_encoder": "tiny_lstm_text",
                                    "target_domain": "text"}, data)  # fmt: skip
    kinds = {name: spec.kind.value for name, spec in task.domains().items()}
    assert kinds == {"captions": "text", "text": "image"}
    assert task.domain("text").preprocess == task.preprocess_cfg() and task.domain("captions").preprocess is None
    assert task.composable_domains() == ["text"]


def test_compose_empty_text_is_plain_search_and_output_is_unit_norm() -> None:
    task, batch = _setup("blobs2d", "render3d")
    task.eval()
    with torch.no_grad():
        z = task.embed("render3d", batch[PAIRED_IMAGE])  # (8, D)
        texts = ["", "make the red cube blue", "  ", *batch[MOD_TEXT][3:]]
        q = task.compose(z, texts)
    assert torch.allclose(q.norm(dim=-1), torch.ones(8), atol=1e-5)
    assert torch.allclose(q[0], z[0], atol=1e-6) and torch.allclose(q[2], z[2], atol=1e-6)
    assert not torch.allclose(q[1], z[1], atol=1e-3)


def test_unknown_words_are_reported_in_order() -> None:
    task, _ = _setup("blobs2d", "render3d")
    assert task.unknown_words(["make the red cube zorblat", "add a blorf"]) == ["zorblat", "blorf"]
    assert task.unknown_words(["make the red cube blue"]) == []


def test_checkpoint_round_trip_gives_identical_queries(tmp_path: Path) -> None:
    task, batch = _setup("blobs2d", "render3d")
    task.eval()
    path = tmp_path / "model.pt"
    save_checkpoint(path, {"task": task.name, "task_cfg": task.export_cfg(), "state_dict": task.state_dict()})
    again, _ = load_task(path)
    with torch.no_grad():
        a, b = (t.compose(t.embed("render3d", batch[PAIRED_IMAGE]), batch[MOD_TEXT]) for t in (task, again))
    assert torch.equal(a, b)
