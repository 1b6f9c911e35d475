"""Tiny runs of every task for test_ddp_tasks.py: run by torchrun (2 gloo ranks), imported for the one-process run.

``python ddp_task_worker.py train TASK RUN_DIR BATCH [STAGE1] [raw]`` trains TASK's tiny config (the task's own
``configs/<task>/`` YAML, shrunk by overrides) with per-process batch BATCH for ``STEPS`` steps, ``log_every=1``.
STAGE1 is the stage-1 ``model.pt`` that ``egsc_it`` loads (``-`` for the other tasks). Without ``raw`` the run is
``exact()``: what differs by nature between 2 ranks and one process is held fixed (``docs/engine.md``).

``python ddp_task_worker.py embed OUT_DIR`` embeds the datasets of ``embedding_cases()`` with ``embed_dataset`` and
``forward_dataset`` and writes what this rank got and which items it read to ``OUT_DIR/embed_rank{R}.pt``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.nn.modules.batchnorm import _BatchNorm

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
STEPS = 4
TASKS = ("align", "transfer", "chtn", "dscmr", "ssgn", "egsc_it_mask_ae", "egsc_it")

_XMODAL = "{name: xmodal_pairs, args: {split: train, pairs_per_class: 4, classes: [apple, car, pear], size: 32}}"
_OBJECTS = (
    "{{name: world_objects, args: {{split: train, n: 16, size: 32, view: {}, classes: [apple, car, chair, house]}}}}"
)
_EGSC = [
    "task_args.size=16", "task_args.channels=4", "task_args.n_res=1", "task_args.disc_channels=4",
    "task_args.disc_layers=2", "data.train.args.n=16", "data.train.args.size=16",
]  # fmt: skip


def overrides(task: str, batch: int, stage1: str = "-") -> tuple[Path, list[str]]:
    """``(config, overrides)`` of ``task``'s tiny run with per-process batch ``batch`` (16 training items: every
    step of both runs reads the same items)."""
    common = [
        f"train.batch_size={batch}", f"train.max_steps={STEPS}", "train.log_every=1", "train.ckpt_every=0",
        "train.eval_every=0", "train.num_workers=0", "train.warmup_steps=0", "train.threads=1", "eval={}",
    ]  # fmt: skip
    tiny: dict[str, tuple[str, list[str]]] = {
        "align": ("align/world_2d_3d.yaml", [
            "task_args.encoder_a=tiny_cnn", "task_args.encoder_b=tiny_cnn", "task_args.embed_dim=16",
            "data.train.args.n=16", "data.train.args.size=32",
        ]),
        "transfer": ("transfer/world_2d_to_3d.yaml", [
            "task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn",
            "task_args.text_encoder=tiny_lstm_text", "task_args.text_encoder_args={dropout: 0.0}",
            "task_args.embed_dim=16", "data.train.cache=false", "data.train.args.n=16", "data.train.args.size=32",
        ]),
        "chtn": ("chtn/world.yaml", [
            "task_args.image_frozen=''", "task_args.image_trunk=tiny_cnn", "task_args.image_trunk_args={}",
            "task_args.image_key=image", "task_args.source_key=image", "task_args.widths=[16, 16]",
            "task_args.shared_widths=[16, 16]", "task_args.num_source_classes=2", f"data.train={_XMODAL}",
            f"data.extra.source={{name: xmodal_source, batch_size: {batch}, "
            "args: {split: train, n_per_class: 8, classes: [bus, fish], size: 32}}",
        ]),
        "dscmr": ("chtn/world.yaml", [
            "task=dscmr", "task_args={image_trunk: tiny_cnn, hidden_dim: 16, common_dim: 8}", f"data.train={_XMODAL}",
            "data.extra={}",
        ]),
        "ssgn": ("ssgn/world.yaml", [
            "task_args.backbone=tiny_cnn", "task_args.backbone_args={}", "task_args.fusion_layers=[-2, -1]",
            "task_args.fusion_dim=8", "task_args.sketch_dim=16", "task_args.hidden=16", "task_args.photo_head_dim=12",
            "task_args.noise_dim=0", "task_args.dropout=0.0",
            f"data.train={{name: sbir_pairs, args: {{sketches: {_OBJECTS.format('sketch')}, "
            f"photos: {_OBJECTS.format('photo')}}}}}",
        ]),
        "egsc_it_mask_ae": ("egsc_it/world_pairs_stage1.yaml", _EGSC),
        "egsc_it": ("egsc_it/world_pairs_stage2.yaml", [
            *_EGSC, "task_args.perceptual=random_cnn", "task_args.d_every=2",
            f"init=[{{checkpoint: {stage1}, module: mask_ae}}]",
        ]),
    }  # fmt: skip
    config, own = tiny[task]
    return CONFIGS / config, [*own, *common]


@contextlib.contextmanager
def exact() -> Iterator[None]:
    """Holds fixed what 2 ranks and one process do differently by nature (``docs/engine.md``, "Distributed"):
    BatchNorm layers stay in eval mode (per-rank batch statistics) and EGSC-IT's latent takes no noise (per-rank
    RNG streams); the other tasks' noise and dropout are off in their configs. Undone on exit."""
    from semspace.models.egsc_it.translator import SharedLatent

    bn_train, sample = _BatchNorm.train, SharedLatent.sample

    def bn_eval(self: _BatchNorm, mode: bool = True) -> _BatchNorm:
        return bn_train(self, False)

    _BatchNorm.train = bn_eval  # type: ignore[assignment,method-assign]
    SharedLatent.sample = lambda self, mu: mu  # type: ignore[method-assign]
    try:
        yield
    finally:
        _BatchNorm.train, SharedLatent.sample = bn_train, sample  # type: ignore[method-assign]


def train_task(task: str, run_dir: Path, batch: int, stage1: str = "-", *, raw: bool = False) -> None:
    """Trains ``task``'s tiny run into ``run_dir`` (``exact()`` unless ``raw``)."""
    from semspace.config import load_run_cfg
    from semspace.engine.run import train

    config, items = overrides(task, batch, stage1)
    with contextlib.nullcontext() if raw else exact():
        train(load_run_cfg(config, items), run_dir, evaluate=False, resume=False)


class Vectors(torch.utils.data.Dataset):
    """Item i: the vector (i, 2i, 3i) as FEATURES and as IMAGE (paired data), label i % 3, key "k{i}"; records
    the items it read; item ``bad`` raises a ``DataError``."""

    def __init__(self, n: int, bad: int = -1) -> None:
        self.n, self.bad, self.transform, self.read = n, bad, None, []

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        from semspace.errors import DataError
        from semspace.types import FEATURES, IMAGE, INDEX, KEY, LABEL

        if i == self.bad:
            raise DataError(f"item {i} cannot be read")
        self.read.append(i)
        v = torch.tensor([i, 2.0 * i, 3.0 * i])
        return {FEATURES: v, IMAGE: v + 1, LABEL: i % 3, KEY: f"k{i}", INDEX: i}


class Squares(torch.nn.Module):
    """A stand-in task: ``embed`` squares its (B, 3) inputs; ``eval_forward`` embeds both keys of a paired batch."""

    def embed(self, domain: str, x: torch.Tensor) -> torch.Tensor:
        return x.float() ** 2  # (B, 3)

    def prepare_batch(self, batch: dict[str, Any], device: Any) -> dict[str, Any]:
        return batch

    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        from semspace.types import FEATURES, IMAGE

        return {"vec": self.embed("vec", batch[FEATURES]), "img": self.embed("img", batch[IMAGE])}


def embedding_cases() -> dict[str, Any]:
    """``{case: (embeddings, fields, items read)}`` of ``embed_dataset`` / ``forward_dataset`` over 7 items (uneven
    shards) and 1 item (a rank with none), batch size 2; ``{"error_" + loop: message}`` of 7 items whose item 5
    cannot be read."""
    from semspace.data.domains import DomainSpec, InputKind
    from semspace.errors import DataError
    from semspace.eval.embedding import embed_dataset, forward_dataset
    from semspace.types import KEY, LABEL

    spec = DomainSpec("vec", InputKind.FEATURES, embed_dim=3, feature_dim=3)
    loops = {
        "embed": lambda data: embed_dataset(Squares(), data, spec, batch_size=2, device="cpu", keep=(LABEL, KEY)),
        "forward": lambda data: forward_dataset(Squares(), data, None, batch_size=2, device="cpu", keep=(LABEL, KEY)),
    }
    out: dict[str, Any] = {}
    for loop, fn in loops.items():
        for n in (7, 1):
            data = Vectors(n)
            got = fn(data)
            zs, fields = (got.embeddings, got.fields) if loop == "embed" else got
            out[f"{loop}_{n}"] = (zs, fields, sorted(data.read))
        try:
            fn(Vectors(7, bad=5))
        except DataError as exc:
            out[f"error_{loop}"] = str(exc)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # the repo root
    from semspace.engine.distributed import cleanup, init_distributed_device

    if sys.argv[1] == "train":
        task, run_dir, batch = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
        train_task(task, run_dir, batch, sys.argv[5] if len(sys.argv) > 5 else "-", raw="raw" in sys.argv[6:])
    else:
        info = init_distributed_device("cpu")
        torch.save(embedding_cases(), Path(sys.argv[2]) / f"embed_rank{info.rank}.pt")
        cleanup()
