from pathlib import Path

import pytest
import torch

from semspace.config import TrainCfg
from semspace.engine import NonFiniteLossError, Trainer
from semspace.engine.logging import read_metrics
from semspace.models.checkpoint import load_checkpoint

from .toy import ToyCfg, ToyDataset, ToyTask, TwoGroupTask


def _cfg(**kw) -> TrainCfg:
    base = dict(max_steps=12, batch_size=8, lr=0.05, log_every=3, ckpt_every=4, seed=7, scheduler="cosine")
    base.update(kw)
    return TrainCfg(**base)


def _params(task: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in task.parameters()])


def test_training_reduces_loss_and_writes_artifacts(tmp_path: Path) -> None:
    task = ToyTask(ToyCfg(dropout=0.0))
    trainer = Trainer(task, _cfg(max_steps=60, optimizer="adam"), tmp_path, dataset=ToyDataset())
    trainer.fit()
    recs = [r for r in read_metrics(tmp_path) if r["split"] == "train"]
    assert recs[-1]["loss"] < 0.5 * recs[0]["loss"]
    assert recs[-1]["step"] == 60
    for name in ("config.yaml", "last.pt", "model.pt"):
        assert (tmp_path / name).exists()
    ckpt = load_checkpoint(tmp_path / "model.pt")
    assert ckpt["task"] == "toy" and ckpt["step"] == 60 and ckpt["task_cfg"]["dropout"] == 0.0
    assert "optimizers" not in ckpt  # the export carries no optimizer state


def test_killed_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    full = ToyTask(ToyCfg())
    Trainer(full, _cfg(), tmp_path / "full", dataset=ToyDataset(n=40)).fit()

    class Killed(Exception):
        pass

    def kill_after_8(trainer: Trainer, step: int, logs: dict) -> None:
        if step == 9:  # the last checkpoint was written at step 8; steps past it are lost
            raise Killed

    torch.manual_seed(0)
    first = ToyTask(ToyCfg())
    trainer = Trainer(first, _cfg(), tmp_path / "resumed", dataset=ToyDataset(n=40))
    trainer.add_callback("on_step_end", kill_after_8)
    with pytest.raises(Killed):
        trainer.fit()
    assert load_checkpoint(tmp_path / "resumed" / "last.pt")["step"] == 8
    second = ToyTask(ToyCfg())
    Trainer(second, _cfg(), tmp_path / "resumed", dataset=ToyDataset(n=40)).fit(resume=True)
    assert torch.allclose(_params(second), _params(full), atol=1e-6)  # epochs crossed, dropout RNG restored


def test_non_finite_loss_names_the_step(tmp_path: Path) -> None:
    task = ToyTask(ToyCfg(nan_at_step=3))
    with pytest.raises(NonFiniteLossError, match="step 3"):
        Trainer(task, _cfg(), tmp_path, dataset=ToyDataset()).fit()


def test_optimizer_groups_step_in_declared_order(tmp_path: Path) -> None:
    task = TwoGroupTask(ToyCfg())
    before = task.other.weight.detach().clone()
    Trainer(task, _cfg(max_steps=2, grad_accum=2), tmp_path, dataset=ToyDataset()).fit()
    assert task.order == ["first", "first", "second", "second"] * 2  # per step: group by group, 2 micro-batches
    assert not torch.equal(before, task.other.weight)
    rec = read_metrics(tmp_path)[-1]
    assert "first/loss" in rec and "second/loss" in rec


def test_dataset_smaller_than_batch_is_a_clear_error(tmp_path: Path) -> None:
    from semspace.errors import SemspaceError

    with pytest.raises(SemspaceError, match="fewer than train.batch_size"):
        Trainer(ToyTask(ToyCfg()), _cfg(batch_size=128), tmp_path, dataset=ToyDataset(n=10)).fit()


def test_train_threads_sets_torch_threads_for_the_run_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    task = ToyTask(ToyCfg())
    seen: list[int] = []
    forward = task.training_forward

    def spy(batch, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(torch.get_num_threads())
        return forward(batch, *args, **kwargs)

    monkeypatch.setattr(task, "training_forward", spy)
    before = torch.get_num_threads()
    wanted = 1 if before != 1 else 2
    Trainer(task, _cfg(max_steps=3, threads=wanted), tmp_path, dataset=ToyDataset()).fit()
    assert seen and set(seen) == {wanted}
    assert torch.get_num_threads() == before  # restored
    with pytest.raises(Exception, match="train.threads=-1"):
        Trainer(ToyTask(ToyCfg()), _cfg(threads=-1), tmp_path / "bad", dataset=ToyDataset()).fit()
