"""The embedding loop on the inference fast path (eval/embedding.py + models/inference_fast.py): channels_last image
batches, a loaded run's compiled encoder used by the loop, and ``SEMSPACE_FAST_INFERENCE=off`` turning it off."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.utils.data import Dataset

from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.eval.embedding import embed_batch, embed_dataset
from semspace.models import create_model
from semspace.models.inference_fast import FAST_INFERENCE_ENV, fast_embed_of, prepare_for_inference
from semspace.types import IMAGE, INDEX

TOL = 1e-4  # max abs difference of unit-norm embeddings, fast path vs eager (tests/models/test_inference_fast.py)


class OneEncoder(torch.nn.Module):
    """The task contract the loop needs: ``embed(domain, x)`` through an image encoder's ``encode``; records the
    memory format of every batch it is given."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.channels_last: list[bool] = []

    def embed(self, domain: str, x: torch.Tensor) -> torch.Tensor:
        self.channels_last.append(x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous())
        return self.encoder.encode(x, normalize=True)  # type: ignore[operator]


class Images(Dataset):
    """Random pictures already at the model's size (no transform needed)."""

    def __init__(self, n: int, side: int) -> None:
        self.x = torch.rand(n, 3, side, side, generator=torch.Generator().manual_seed(0))
        self.transform = lambda v: v  # the loop attaches nothing over an existing transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {IMAGE: self.x[i], INDEX: i}


def _task() -> tuple[OneEncoder, DomainSpec]:
    torch.manual_seed(0)
    enc = create_model("tiny_cnn").eval()
    pre: PreprocessCfg = enc.preprocess_cfg  # type: ignore[assignment]
    return OneEncoder(enc), DomainSpec("photo", InputKind.IMAGE, embed_dim=enc.output_dim, preprocess=pre)  # type: ignore[arg-type]


def test_image_batches_reach_the_task_channels_last_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    task, spec = _task()
    x = torch.rand(4, 3, 8, 8)
    monkeypatch.delenv(FAST_INFERENCE_ENV, raising=False)
    want = embed_batch(task, {IMAGE: x}, spec, device="cpu")
    monkeypatch.setenv(FAST_INFERENCE_ENV, "off")
    got = embed_batch(task, {IMAGE: x}, spec, device="cpu")
    assert task.channels_last == [True, False]
    assert (got - want).abs().max() <= TOL


def test_the_loop_runs_a_loaded_runs_encoder_compiled_and_equal_to_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    task, spec = _task()
    side = spec.preprocess.size  # type: ignore[union-attr]
    data = Images(21, side)
    monkeypatch.setenv(FAST_INFERENCE_ENV, "off")
    want = embed_dataset(task, data, spec, batch_size=8, device="cpu").embeddings  # the eager path
    assert prepare_for_inference(task) == []  # off: nothing prepared
    monkeypatch.setenv(FAST_INFERENCE_ENV, "compile")
    assert prepare_for_inference(task) == ["encoder"]
    got = embed_dataset(task, data, spec, batch_size=8, device="cpu").embeddings  # 8, 8, 5 (padded) rows
    fe = fast_embed_of(task.encoder)
    assert fe is not None and fe.compiles == 1  # the loop went through the compiled graph
    assert got.shape == want.shape and (got - want).abs().max() <= TOL
