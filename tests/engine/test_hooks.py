"""Engine hooks on toy tasks: the task's sampler, several data streams, groups stepping at different rates, frozen
pretrained stages; each one also survives a kill and resume step for step."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from semspace.config import InitSpec, TrainCfg
from semspace.engine import Trainer
from semspace.engine.logging import read_metrics
from semspace.engine.optim import lr_factor
from semspace.engine.stages import load_stage
from semspace.errors import CheckpointError, ConfigError
from semspace.models.checkpoint import load_checkpoint

from .toy import (
    BalancedTask,
    FrozenStageTask,
    SlowFirstTask,
    ToyCfg,
    ToyClassDataset,
    ToyDataset,
    ToyTask,
    TwoStreamTask,
)


def _cfg(**kw: Any) -> TrainCfg:
    base = dict(max_steps=12, batch_size=8, lr=0.05, log_every=3, ckpt_every=4, seed=7, scheduler="cosine")
    base.update(kw)
    return TrainCfg(**base)


def _params(task: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in task.parameters()])


class Killed(Exception):
    pass


def _kill_at_9(trainer: Trainer, step: int, logs: dict) -> None:
    if step == 9:  # the last checkpoint was written at step 8 (ckpt_every=4); step 9 is lost
        raise Killed


def _full_and_resumed(
    make_task: Callable[[], torch.nn.Module],
    root: Path,
    cfg: TrainCfg,
    before_resume: Callable[[], None] = lambda: None,
    **trainer_kw: Any,
) -> tuple[Any, Any, Any]:
    """(uninterrupted task, killed task, resumed task), each built after ``torch.manual_seed(0)``."""
    torch.manual_seed(0)
    full = make_task()
    Trainer(full, cfg, root / "full", **trainer_kw).fit()
    torch.manual_seed(0)
    killed = make_task()
    trainer = Trainer(killed, cfg, root / "resumed", **trainer_kw)
    trainer.add_callback("on_step_end", _kill_at_9)
    with pytest.raises(Killed):
        trainer.fit()
    assert load_checkpoint(root / "resumed" / "last.pt")["step"] == 8
    before_resume()
    torch.manual_seed(1)  # a different init: every weight must come from last.pt
    resumed = make_task()
    Trainer(resumed, cfg, root / "resumed", **trainer_kw).fit(resume=True)
    return full, killed, resumed


# ---- 1. the task chooses its training sampler --------------------------------------------------------------------
def test_task_sampler_gives_p_classes_times_k_items(tmp_path: Path) -> None:
    task = BalancedTask(ToyCfg())
    data = ToyClassDataset(n=60, n_classes=6)  # 60 // 12 = 5 batches per epoch: 12 steps cross two epochs
    trainer = Trainer(task, _cfg(batch_size=8), tmp_path, dataset=data)  # train.batch_size is not used
    trainer.fit()
    assert task.sampler_args == {"stream": "train", "seed": 7, "num_replicas": 1, "rank": 0}
    assert len(task.classes_seen) == 12
    for classes in task.classes_seen:
        counts = Counter(classes)
        assert len(counts) == BalancedTask.P and set(counts.values()) == {BalancedTask.K}
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert (ckpt["epoch"], ckpt["consumed"]) == (2, 2 * 12)  # positions count items, like ShardSampler


def test_task_sampler_resumes_step_for_step(tmp_path: Path) -> None:
    full, killed, resumed = _full_and_resumed(
        lambda: BalancedTask(ToyCfg()), tmp_path, _cfg(), dataset=ToyClassDataset(n=60)
    )
    assert killed.seen[:8] + resumed.seen == full.seen  # step 8 is mid-epoch (3 of 5 batches of epoch 1)
    assert torch.allclose(_params(resumed), _params(full), atol=1e-6)


def test_a_sampler_without_resumable_set_epoch_is_a_clear_error(tmp_path: Path) -> None:
    class Plain(ToyTask):
        def train_sampler(self, dataset: Any, **kw: Any) -> Any:
            return torch.utils.data.RandomSampler(dataset)

    with pytest.raises(ConfigError, match=r"RandomSampler without set_epoch\(epoch, start\)"):
        Trainer(Plain(ToyCfg()), _cfg(), tmp_path, dataset=ToyDataset()).fit()


# ---- 2. several data streams in every step -----------------------------------------------------------------------
def _streams_kw() -> dict[str, Any]:
    return dict(dataset=ToyDataset(n=40), extra_datasets={"source": ToyClassDataset(n=30, seed=5)},
                extra_batch_sizes={"source": 5})  # fmt: skip


def test_each_step_reads_both_streams_with_their_own_positions(tmp_path: Path) -> None:
    task = TwoStreamTask(ToyCfg())
    Trainer(task, _cfg(grad_accum=2), tmp_path, **_streams_kw()).fit()
    assert set(task.shapes) == {((8, 4), (5, 4))}
    source = [i for rec in task.seen for i in rec["source"]]
    assert len(source) == 24 * 5 and sorted(source[:30]) == list(range(30))  # an epoch of the source stream
    assert task.seen[0]["source"] != task.seen[0]["train"][:5]  # its own order, not the main one's
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert (ckpt["epoch"], ckpt["consumed"]) == (4, 32)  # 24 main batches of 8 from 40 items: 4 epochs + 4
    assert ckpt["streams"] == {"source": {"epoch": 3, "consumed": 30}}  # 24 batches of 5 from 30 items
    assert "src_loss" in read_metrics(tmp_path)[-1]


def test_two_streams_resume_step_for_step(tmp_path: Path) -> None:
    full, killed, resumed = _full_and_resumed(lambda: TwoStreamTask(ToyCfg()), tmp_path, _cfg(), **_streams_kw())
    assert killed.seen[:8] + resumed.seen == full.seen  # both streams continue where they stopped
    assert torch.allclose(_params(resumed), _params(full), atol=1e-6)


def test_stream_errors_name_the_stream(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        Trainer(TwoStreamTask(ToyCfg()), _cfg(), tmp_path, dataset=ToyDataset(), extra_datasets={"train": ToyDataset()})
    from semspace.errors import SemspaceError

    small = {"dataset": ToyDataset(), "extra_datasets": {"source": ToyDataset(n=4)}}
    with pytest.raises(SemspaceError, match="data.extra.source has 4 items"):
        Trainer(TwoStreamTask(ToyCfg()), _cfg(), tmp_path, **small).fit()


# ---- 3. optimizer groups stepping at different rates -------------------------------------------------------------
def test_group_steps_every_n_trainer_steps(tmp_path: Path) -> None:
    task = SlowFirstTask(ToyCfg())
    cfg = _cfg(max_steps=12, optimizer="adam")
    trainer = Trainer(task, cfg, tmp_path, dataset=ToyDataset())
    snapshots: list[tuple[dict[str, float], torch.Tensor, int, int, float, float]] = []

    def record(tr: Trainer, step: int, logs: dict[str, float]) -> None:
        first, second = tr.schedulers["first"], tr.schedulers["second"]
        lrs = tr.optimizers["first"].param_groups[0]["lr"], tr.optimizers["second"].param_groups[0]["lr"]
        snapshots.append((dict(logs), task.other.weight.detach().clone(), first.last_epoch, second.last_epoch, *lrs))

    trainer.add_callback("on_step_end", record)
    trainer.fit()
    due = [s % 5 == 0 for s in range(12)]  # 0-based trainer steps 0, 5, 10
    expected_order = [g for d in due for g in (["first", "second"] if d else ["second"])]
    assert task.order == expected_order
    previous = torch.nn.Linear(4, 1).weight  # placeholder; replaced at step 0
    for s, (logs, weight, first_n, second_n, lr_first, lr_second) in enumerate(snapshots):
        assert ("first/loss" in logs) == due[s] and "second/loss" in logs  # only what ran is logged
        assert first_n == sum(due[: s + 1]) and second_n == s + 1  # the scheduler advances only when it steps
        assert lr_first == pytest.approx(cfg.lr * lr_factor(first_n * 5, cfg))  # read at trainer-step time
        assert lr_second == pytest.approx(cfg.lr * lr_factor(s + 1, cfg))
        if s > 0:
            assert torch.equal(weight, previous) != due[s]  # "first" weights move only on its steps
        previous = weight
    adam_steps = [st["step"] for st in trainer.optimizers["first"].state.values()]
    assert all(int(n) == 3 for n in adam_steps)


def test_group_rhythm_survives_resume(tmp_path: Path) -> None:
    def make() -> SlowFirstTask:
        task = SlowFirstTask(ToyCfg())
        task.every = 3  # steps 0, 3, 6, 9: the kill after step 9 (0-based 8) falls between them
        return task

    full, killed, resumed = _full_and_resumed(make, tmp_path, _cfg(), dataset=ToyDataset(n=40))
    n_before = sum(2 if s % 3 == 0 else 1 for s in range(8))
    assert killed.order[:n_before] + resumed.order == full.order
    assert torch.allclose(_params(resumed), _params(full), atol=1e-6)


def test_step_every_of_an_unknown_group_is_a_clear_error(tmp_path: Path) -> None:
    class Bad(SlowFirstTask):
        def step_every(self) -> dict[str, int]:
            return {"discriminator": 5}

    with pytest.raises(ConfigError, match=r"names optimizer group\(s\) \['discriminator'\].*\['first', 'second'\]"):
        Trainer(Bad(ToyCfg()), _cfg(), tmp_path, dataset=ToyDataset()).fit()


# ---- 4. a frozen stage loaded from another run -------------------------------------------------------------------
def _train_stage_a(root: Path) -> Path:
    torch.manual_seed(0)
    Trainer(ToyTask(ToyCfg()), _cfg(max_steps=6), root / "a", dataset=ToyDataset()).fit()
    return root / "a" / "model.pt"


def _a_net(path: Path) -> dict[str, torch.Tensor]:
    state = load_checkpoint(path)["state_dict"]
    return {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}


def test_frozen_stage_keeps_run_a_weights_gets_no_grad_and_stays_in_eval(tmp_path: Path) -> None:
    a = _train_stage_a(tmp_path)
    task = FrozenStageTask(ToyCfg())
    head_before = _params(task.head).clone()
    init = [InitSpec(checkpoint=str(a), module="stage", source="net")]
    trainer = Trainer(task, _cfg(), tmp_path / "b", dataset=ToyDataset(), init=init)
    trainer.fit()
    for k, v in task.stage.state_dict().items():
        assert torch.equal(v, _a_net(a)[k]), k  # loaded from A, unchanged by B's training
    assert all(p.grad is None and not p.requires_grad for p in task.stage.parameters())
    assert not any(task.stage_training) and len(task.stage_training) == 12  # dropout off in every step
    task.train()
    assert not task.stage.training and task.head.training and task.frozen_modules() == ["stage"]
    x = torch.randn(5, 4)
    assert torch.equal(task.stage(x), task.stage(x))  # still deterministic in train mode: dropout is off
    optimised = {id(p) for g in trainer.optimizers["main"].param_groups for p in g["params"]}
    assert optimised == {id(p) for p in task.head.parameters()}
    assert not torch.equal(_params(task.head), head_before)
    exported = load_checkpoint(tmp_path / "b" / "model.pt")["state_dict"]
    assert torch.equal(exported["stage.0.weight"], _a_net(a)["0.weight"])  # B's model.pt is self-contained


def test_frozen_stage_resumes_without_the_source_checkpoint(tmp_path: Path) -> None:
    a = _train_stage_a(tmp_path)
    a_net = _a_net(a)
    init = [InitSpec(checkpoint=str(a), module="stage", source="net")]
    full, _, resumed = _full_and_resumed(
        lambda: FrozenStageTask(ToyCfg()), tmp_path, _cfg(), before_resume=a.unlink, dataset=ToyDataset(), init=init
    )
    assert torch.allclose(_params(resumed), _params(full), atol=1e-6)
    assert all(torch.equal(v, a_net[k]) for k, v in resumed.stage.state_dict().items())  # from last.pt
    assert not resumed.stage.training and not any(p.requires_grad for p in resumed.stage.parameters())


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [(dict(module="stage", source="encoder"), CheckpointError, r"no weights under 'encoder'.*\['net'\]"),
     (dict(module="stag", source="net"), ConfigError, r"no submodule 'stag'.*\['stage', 'head'\]"),
     (dict(module="stage", source="net", checkpoint="missing.pt"), CheckpointError, r"init\[0\].*does not exist"),
     (dict(module="", source="net"), ConfigError, r"init\[0\]\.module is empty")],
)  # fmt: skip
def test_init_errors_name_the_checkpoint_and_what_to_do(tmp_path: Path, spec: dict, error: type, message: str) -> None:
    a = _train_stage_a(tmp_path)
    init = [InitSpec(**{"checkpoint": str(a), **spec})]
    with pytest.raises(error, match=message):
        Trainer(FrozenStageTask(ToyCfg()), _cfg(), tmp_path / "b", dataset=ToyDataset(), init=init).fit()


def test_a_stage_without_weights_on_either_side_loads_nothing_and_passes(tmp_path: Path) -> None:
    """CHTN's warm start on given features: its identity trunk has no weights in the source run nor in this one."""
    a = _train_stage_a(tmp_path)
    task = FrozenStageTask(ToyCfg())
    task.trunk = torch.nn.Identity()  # no weights here, and none under 'trunk' in the checkpoint
    assert load_stage(task, InitSpec(checkpoint=str(a), module="trunk", source="trunk")) is task.trunk
    with pytest.raises(CheckpointError, match="no weights under 'trunk'"):  # a stage with weights still needs them
        load_stage(task, InitSpec(checkpoint=str(a), module="stage", source="trunk"))


def test_init_shape_mismatch_lists_the_keys(tmp_path: Path) -> None:
    a = _train_stage_a(tmp_path)
    init = [InitSpec(checkpoint=str(a), module="stage", source="net")]
    task = FrozenStageTask(ToyCfg(), hidden=32)
    with pytest.raises(CheckpointError, match=r"shape mismatch \['0.weight: \(16, 4\) in the checkpoint, \(32, 4\)"):
        Trainer(task, _cfg(), tmp_path / "b", dataset=ToyDataset(), init=init).fit()


# ---- the run config drives all of it -----------------------------------------------------------------------------
def test_run_config_builds_extra_streams_and_passes_them_to_the_trainer(tmp_path: Path) -> None:
    from semspace.config import load_run_cfg
    from semspace.engine.run import build_task_and_datasets, train

    config = Path(__file__).resolve().parents[2] / "configs" / "align" / "world_2d_3d.yaml"
    sets = ["data.train.args.n=16", "data.train.args.size=32", "data.train.cache=false",
            "task_args.encoder_a=tiny_cnn", "task_args.encoder_b=tiny_cnn", "train.batch_size=4",
            "train.max_steps=2", "train.num_workers=0", "train.eval_every=0", "eval={}",
            "data.extra.source={name: world_scenes, args: {split: train, n: 6, size: 32}, batch_size: 3}"]  # fmt: skip
    cfg = load_run_cfg(config, sets)
    task, dataset, extra = build_task_and_datasets(cfg)
    assert list(extra) == ["source"] and len(extra["source"]) == 6
    assert getattr(extra["source"], "transform", None) is not None  # prepared like the training set
    train(cfg, tmp_path)
    assert load_checkpoint(tmp_path / "last.pt")["streams"] == {"source": {"epoch": 0, "consumed": 6}}
