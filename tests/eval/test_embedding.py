"""The one embedding loop (eval/embedding.py): order, batching, preprocessing, tolerant collates, progress."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset, get_worker_info

from semspace.data.collate import collate_dicts
from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.data.transforms import build_transform
from semspace.errors import DataError
from semspace.eval.embedding import embed_dataset, forward_dataset, gather, iter_batches, iter_embeddings
from semspace.types import FEATURES, IMAGE, INDEX, KEY, LABEL, SKETCH, TEXT

VEC = DomainSpec("vec", InputKind.FEATURES, embed_dim=3, feature_dim=3)
PRE = PreprocessCfg(size=8, mean=(0.2, 0.3, 0.4), std=(0.5, 0.6, 0.7))
ERROR = "__error__"


class Vectors(Dataset):
    """Item i: the vector (i, 2i, 3i), label i % 3, key "k{i}"; ``bad`` positions raise DataError."""

    def __init__(self, n: int, bad: tuple[int, ...] = ()) -> None:
        self.n, self.bad, self.transform = n, bad, None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        if i in self.bad:
            raise DataError(f"item {i} cannot be read")
        return {FEATURES: torch.tensor([i, 2.0 * i, 3.0 * i]), LABEL: i % 3, KEY: f"k{i}", INDEX: i}


class Pictures(Dataset):
    """PIL pictures of two colours (IMAGE) and a grey drawing (SKETCH), through the attached transform."""

    def __init__(self, n: int = 5) -> None:
        self.n, self.transform = n, None

    def picture(self, i: int) -> Image.Image:
        return Image.new("RGB", (20, 12), (10 * i, 200, 30))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        assert self.transform is not None, "the loop attaches the domain's preprocessing before reading"
        return {IMAGE: self.transform(self.picture(i)), SKETCH: self.transform(Image.new("RGB", (9, 9), (90,) * 3)),
                INDEX: i}  # fmt: skip


class Recorder(torch.nn.Module):
    """``embed`` returns its inputs as they are (texts: their lengths) and records every call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any, bool]] = []

    def embed(self, domain: str, inputs: Any) -> torch.Tensor:
        self.calls.append((domain, inputs, torch.is_inference_mode_enabled()))
        if isinstance(inputs, list):
            return torch.tensor([[float(len(t))] * 3 for t in inputs])  # (B, 3)
        return inputs.flatten(1).clone()  # (B, ...)

    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        x = batch[FEATURES]
        return {"a": x, "b": -x}

    def prepare_batch(self, batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
        return batch


def _vectors(n: int) -> torch.Tensor:
    i = torch.arange(n, dtype=torch.float32)
    return torch.stack([i, 2 * i, 3 * i], dim=1)  # (n, 3)


def test_every_item_is_embedded_once_in_order_in_batches_with_its_fields() -> None:
    task = Recorder()
    e = embed_dataset(task, Vectors(10), VEC, batch_size=4, device="cpu", keep=(LABEL, KEY, "absent"))
    assert [len(x) for _, x, _ in task.calls] == [4, 4, 2]
    assert all(d == "vec" and inference for d, _, inference in task.calls)
    torch.testing.assert_close(e.embeddings, _vectors(10))
    assert e.embeddings.dtype == torch.float32 and e.embeddings.device.type == "cpu"
    assert e[LABEL].tolist() == [i % 3 for i in range(10)]
    assert e[KEY] == [f"k{i}" for i in range(10)]
    assert "absent" not in e.fields


def test_batches_are_read_outside_inference_mode_and_embeddings_stay_on_the_device() -> None:
    pairs = list(iter_embeddings(Recorder(), Vectors(5), VEC, batch_size=2, device="cpu"))
    assert [len(z) for _, z in pairs] == [2, 2, 1]
    assert not any(b[FEATURES].is_inference() for b, _ in pairs)  # data loading is plain torch
    assert all(z.is_inference() for _, z in pairs)


def test_the_domain_record_preprocesses_and_picks_the_batch_key() -> None:
    task, data = Recorder(), Pictures()
    image = DomainSpec("photo", InputKind.IMAGE, embed_dim=4, preprocess=PRE)
    e = embed_dataset(task, data, image, batch_size=3, device="cpu")
    assert data.transform is not None and data.transform.cfg == PRE
    expected = torch.stack([build_transform(PRE)(data.picture(i)) for i in range(5)])  # (5, 3, 8, 8)
    torch.testing.assert_close(e.embeddings, expected.flatten(1))
    sketch = DomainSpec("drawing", InputKind.SKETCH, embed_dim=4, preprocess=PreprocessCfg(size=4))
    task.calls.clear()
    embed_dataset(task, data, sketch, batch_size=5, device="cpu")
    assert task.calls[0][1].shape == (5, 3, 8, 8)  # the dataset's transform stays; SKETCH is read before IMAGE
    torch.testing.assert_close(task.calls[0][1], data[0][SKETCH][None].expand(5, -1, -1, -1))


def test_text_domains_get_strings_and_a_missing_kind_is_one_clear_error() -> None:
    class Texts(Vectors):
        def __getitem__(self, i: int) -> dict[str, Any]:
            return {TEXT: "x" * i, INDEX: i}

    text = DomainSpec("caption", InputKind.TEXT, embed_dim=3)
    task = Recorder()
    e = embed_dataset(task, Texts(4), text, batch_size=3, device="cpu")
    assert task.calls[0][1] == ["", "x", "xx"] and e.embeddings[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(DataError, match=r"dataset 'mine' items have none of \['text'\].*domain 'caption'"):
        embed_dataset(task, Vectors(2), text, batch_size=2, device="cpu", source="mine")
    with pytest.raises(DataError, match="no items"):
        gather(iter([]))


def _tolerant(items: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[int]]:
    errors = [int(it[INDEX]) for it in items if ERROR in it]
    good = [it for it in items if ERROR not in it]
    return (collate_dicts(good) if good else None), errors


class Tolerant(Vectors):
    def __getitem__(self, i: int) -> dict[str, Any]:
        try:
            return super().__getitem__(i)
        except DataError as exc:
            return {ERROR: str(exc), INDEX: i}


def test_a_tolerant_collate_reports_errors_and_rows_choose_what_is_embedded() -> None:
    task = Recorder()
    out = list(iter_embeddings(task, Tolerant(7, bad=(1, 4, 5)), VEC, batch_size=2, device="cpu",
                               collate_fn=_tolerant))  # fmt: skip
    assert [errors for (_, errors), _ in out] == [[1], [], [4, 5], []]
    assert out[2][0][0] is None and out[2][1].shape == (0, 3)  # a batch of unreadable items: nothing embedded
    kept = torch.cat([z for _, z in out])
    torch.testing.assert_close(kept, _vectors(7)[[0, 2, 3, 6]])
    assert len(task.calls) == 3

    task.calls.clear()
    odd_rows = lambda b: [r for r, i in enumerate(b[INDEX].tolist()) if i % 2]  # noqa: E731
    out = list(iter_embeddings(task, Vectors(5), VEC, batch_size=2, device="cpu", rows=odd_rows))
    assert [z.shape[0] for _, z in out] == [1, 1, 0]  # rows (0, 1), (2, 3), (4,): the odd ones
    torch.testing.assert_close(torch.cat([z for _, z in out]), _vectors(5)[[1, 3]])
    assert len(task.calls) == 2  # a batch with no row to embed does not call the task


def test_paired_data_goes_through_eval_forward_with_shared_fields() -> None:
    z, fields = forward_dataset(Recorder(), Vectors(5), None, batch_size=2, device="cpu", keep=(LABEL,))
    assert list(z) == ["a", "b"]
    torch.testing.assert_close(z["a"], _vectors(5))
    torch.testing.assert_close(z["b"], -_vectors(5))
    assert fields[LABEL].tolist() == [0, 1, 2, 0, 1]


def test_progress_bar_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    list(iter_embeddings(Recorder(), Vectors(3), VEC, batch_size=2, device="cpu"))
    assert capsys.readouterr().err == ""
    list(iter_embeddings(Recorder(), Vectors(3), VEC, batch_size=2, device="cpu", progress=True))
    err = capsys.readouterr().err
    assert "embedding as vec" in err and "2/2" in err
    list(iter_batches(Vectors(3), None, batch_size=1, progress=True, desc="reading"))
    assert "reading" in capsys.readouterr().err


def test_in_memory_datasets_are_read_without_workers() -> None:
    class InMemory(Vectors):
        in_memory = True  # as data.cache.CachedDataset

        def __getitem__(self, i: int) -> dict[str, Any]:
            assert get_worker_info() is None, "read in a worker process"
            return super().__getitem__(i)

    e = embed_dataset(Recorder(), InMemory(6), VEC, batch_size=4, device="cpu", num_workers=2)
    torch.testing.assert_close(e.embeddings, _vectors(6))


def test_progress_bars_turn_on_the_bars_of_loops_called_without_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from semspace.eval.embedding import iter_batches, progress_bars

    data = [{"x": torch.zeros(2)} for _ in range(4)]
    list(iter_batches(data, None, batch_size=2, desc="quiet"))
    assert "quiet" not in capsys.readouterr().err  # off by default
    with progress_bars():
        list(iter_batches(data, None, batch_size=2, desc="shown"))
        list(iter_batches(data, None, batch_size=2, desc="forced off", progress=False))
    err = capsys.readouterr().err
    assert "shown" in err and "forced off" not in err
    list(iter_batches(data, None, batch_size=2, desc="after"))
    assert "after" not in capsys.readouterr().err  # the context ended


def test_embed_batch_runs_in_inference_and_eval_mode_and_restores_training() -> None:
    """A task left in training mode embeds as in eval mode (dropout off), in inference mode, and stays training."""
    from semspace.eval.embedding import embed_batch

    class Dropper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.drop = torch.nn.Dropout(0.9)

        def embed(self, domain: str, x: torch.Tensor) -> torch.Tensor:
            return self.drop(x) + 0  # a new tensor (eval-mode dropout returns its input)

    task = Dropper().train()
    x = torch.ones(4, 8)
    spec = DomainSpec(name="vec", kind=InputKind.FEATURES, embed_dim=8, feature_dim=8)
    z = embed_batch(task, {"features": x}, spec, device="cpu", key="features")
    assert torch.equal(z, x) and z.is_inference()  # dropout at p=0.9 in training mode would zero most entries
    assert task.training
