"""EGSC-IT tasks (tasks/egsc_it.py): the G/D step ratio, the two-stage loading, the translate capability."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from semspace.capabilities import capabilities, require
from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.errors import ConfigError
from semspace.tasks import create_task, load_task
from semspace.tasks.egsc_it import PRESETS, EgscItTask

ROOT = Path(__file__).resolve().parents[2]
STAGE1 = str(ROOT / "configs" / "egsc_it" / "world_pairs_stage1.yaml")
STAGE2 = str(ROOT / "configs" / "egsc_it" / "world_pairs_stage2.yaml")
ARCH = {"size": 16, "channels": 4, "n_res": 1, "disc_channels": 4, "disc_layers": 2}
TINY = [f"task_args.{k}={v}" for k, v in ARCH.items()] + [
    "data.train.args.n=16", "data.train.args.size=16", "train.batch_size=4", "train.num_workers=0",
    "train.log_every=1", "train.ckpt_every=0",
]  # fmt: skip
TINY2 = [*TINY, "task_args.perceptual=random_cnn", "eval={}"]


@pytest.fixture(scope="module")
def stage1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("egsc") / "stage1"
    train(load_run_cfg(STAGE1, [*TINY, "train.max_steps=2"]), run, evaluate=False)
    return run


def test_stage_one_has_no_translate_and_stage_two_has(stage1: Path) -> None:
    task, _ = load_task(stage1 / "model.pt")
    assert capabilities(task) == []
    with pytest.raises(ConfigError, match="cannot translate"):
        require(task, "translate")
    assert all(int(ae.trained_steps) == 2 for ae in task.mask_ae.values())
    assert capabilities(create_task("egsc_it", ARCH)) == ["translate"]


def test_stage_two_loads_the_auto_encoder_frozen(stage1: Path, tmp_path: Path) -> None:
    first, _ = load_task(stage1 / "model.pt")
    init = f"init=[{{checkpoint: {stage1 / 'model.pt'}, module: mask_ae}}]"
    train(load_run_cfg(STAGE2, [*TINY2, init, "train.max_steps=3"]), tmp_path / "s2", evaluate=False)
    second, _ = load_task(tmp_path / "s2" / "model.pt")
    before = first.mask_ae.state_dict()
    for k, v in second.mask_ae.state_dict().items():
        torch.testing.assert_close(v, before[k], msg=f"mask_ae.{k} changed in stage 2")
    assert "mask_ae" in second.frozen_modules()
    assert not any(p.requires_grad for p in second.mask_ae.parameters())
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert second.translate(x, x[:1]).shape == (2, 3, 16, 16)
    assert second.translate(x, x, direction="b2a").shape == (2, 3, 16, 16)


def test_stage_two_without_stage_one_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="egsc_it_mask_ae"):
        train(load_run_cfg(STAGE2, [*TINY2, "init=[]", "train.max_steps=1"]), tmp_path / "s2", evaluate=False)


def test_five_generator_steps_per_discriminator_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = EgscItTask.training_forward

    def counting(self: EgscItTask, batch: dict, group: str = "generator") -> dict:
        calls.append(group)
        return original(self, batch, group)

    monkeypatch.setattr(EgscItTask, "training_forward", counting)
    overrides = [*TINY2, "init=[]", "task_args.use_mask=false", "task_args.adain=no_exemplar", "train.max_steps=11"]
    train(load_run_cfg(STAGE2, overrides), tmp_path / "ratio", evaluate=False)
    assert calls.count("generator") == 11
    assert calls.count("discriminator") == 3  # trainer steps 0, 5, 10
    assert [i for i, g in enumerate(calls) if g == "discriminator"] == [0, 6, 12]


def test_presets_hold_the_authors_weights() -> None:
    task = create_task("egsc_it", {**ARCH, "preset": "gta2city", "weights": {"content": 7.0}})
    assert task.cfg.weights == {**PRESETS["gta2city"], "content": 7.0}
    assert PRESETS["mnist_single"]["style"] == 1e3 and PRESETS["mnist_single"]["content"] == 1e1
    with pytest.raises(ConfigError, match="unknown loss weight"):
        create_task("egsc_it", {**ARCH, "weights": {"styel": 1.0}})
    with pytest.raises(ConfigError, match="adain"):
        create_task("egsc_it", {**ARCH, "adain": "sdt"})


def test_guess_domain_from_training_statistics() -> None:
    task = create_task("egsc_it", ARCH)
    grey = torch.rand(8, 1, 16, 16).expand(-1, 3, -1, -1) * 2 - 1  # no chroma: like domain A
    colour = torch.rand(8, 3, 16, 16) * 2 - 1
    assert task.guess_domain(grey) == [None] * 8  # no statistics yet
    task.record_stats(grey, "a")
    task.record_stats(colour, "b")
    assert task.guess_domain(grey[:2]) == ["a", "a"] and task.guess_domain(colour[:2]) == ["b", "b"]
