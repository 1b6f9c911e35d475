"""``validate_config``: every registry name and value checked before anything is built, each problem located."""

from __future__ import annotations

from pathlib import Path

import pytest

from semspace.config import ConfigSource, load_run_cfg
from semspace.engine import run as engine_run
from semspace.engine.validate import config_problems, validate_config
from semspace.errors import ConfigError
from semspace.registry import UnknownNameError

ROOT = Path(__file__).resolve().parents[2]
ALIGN = ROOT / "configs" / "align" / "world_2d_3d.yaml"
TRANSFER = ROOT / "configs" / "transfer" / "world_2d_to_3d.yaml"


def test_the_shipped_configs_are_valid() -> None:
    """Every shipped config is valid, except that a second stage's ``init:`` checkpoint is the first stage's run,
    which a fresh checkout has not trained yet (that problem is checked, and reported, when the run starts)."""
    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        problems = config_problems(load_run_cfg(path))
        later = [p for p in problems if p.key.startswith("init[") and p.message.endswith("train that run first")]
        assert [p for p in problems if p not in later] == [], path


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ("task=algin", "task", "unknown task 'algin'; did you mean 'align'? available: "),
        ("data.train.name=world_scene", "data.train.name", "did you mean 'world_scenes'?"),
        ("data.train.args.nn=3", "data.train.args", "got unknown argument(s) ['nn'];"),
        ("eval.protocol=paired", "eval.protocol", "did you mean 'paired_retrieval'?"),
        ("eval.data.name=world_scene", "eval.data.name", "unknown dataset 'world_scene'"),
        ("eval.ks=[0, 5]", "eval.ks", "expected a list of integers >= 1"),
        ("train.optimizer=adamm", "train.optimizer", "unknown optimizer 'adamm'; did you mean 'adam'?"),
        ("train.scheduler=cosin", "train.scheduler", "did you mean 'cosine'? available: constant, cosine, poly, step"),
        ("train.precision=fp8", "train.precision", "unknown precision 'fp8'"),
        ("train.channels_last=maybe", "train.channels_last", "expected auto, true or false"),
        ("train.fused_optimizer=sometimes", "train.fused_optimizer", "expected auto, true or false"),
        ("train.batch_size=0", "train.batch_size", "got 0; expected an integer >= 1"),
        ("train.max_steps=-5", "train.max_steps", "got -5; expected an integer >= 1"),
        ("train.lr=0", "train.lr", "got 0.0; expected a learning rate > 0"),
        ("train.lr=-1e-3", "train.lr", "expected a learning rate > 0"),
        ("train.grad_accum=0", "train.grad_accum", "expected an integer >= 1"),
        ("train.num_workers=-1", "train.num_workers", "expected an integer >= 0"),
        ("train.ema_decay=1.5", "train.ema_decay", "expected 0 (off) or a decay in (0, 1)"),
        ("train.device=gpu", "train.device", "expected auto, cpu, cuda or cuda:N"),
        ("data.train.batch_size=4", "data.train.batch_size", "a per-stream batch size is for data.extra"),
        ("task_args.embed_dimm=4", "task_args", "unknown config key(s) ['task_args.embed_dimm']"),
        ("init=[{checkpoint: nowhere/model.pt, module: a}]", "init[0].checkpoint", "does not exist"),
    ],
)
def test_each_problem_is_one_line_with_its_key_and_origin(override: str, key: str, expected: str) -> None:
    cfg = load_run_cfg(ALIGN, [override])
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, ConfigSource(str(ALIGN), (override,)))
    msg = str(err.value)
    assert msg.startswith(f"{key} (--set {override}): ") and expected in msg and "\n" not in msg


def test_an_unknown_name_is_a_config_error_and_a_key_error_located_at_its_key() -> None:
    with pytest.raises(UnknownNameError) as err:
        validate_config(load_run_cfg(ALIGN, ["train.optimizer=adamm"]))
    assert (
        isinstance(err.value, KeyError) and err.value.name == "adamm" and err.value.choices == ["adam", "adamw", "sgd"]
    )
    assert str(err.value).startswith("train.optimizer (default): unknown optimizer 'adamm'")


def test_several_problems_are_all_named_in_one_line() -> None:
    cfg = load_run_cfg(ALIGN, ["train.batch_size=0", "train.optimizer=adamm", "train.lr=0"])
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, ConfigSource(str(ALIGN), ()))
    msg = str(err.value)
    assert msg.startswith("3 problems in the config: (1) train.batch_size (in ") and "\n" not in msg
    assert "(2) train.lr (in " in msg and "(3) train.optimizer (default; not set in " in msg


def test_a_missing_task_and_dataset_are_named() -> None:
    keys = [p.key for p in config_problems(load_run_cfg(None, []))]
    assert keys == ["task", "data.train.name"]


def test_train_reports_a_bad_value_before_any_data_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("data was built before the config was validated")

    monkeypatch.setattr(engine_run, "build_task_and_datasets", must_not_run)
    with pytest.raises(ConfigError, match="train.optimizer"):
        engine_run.train(load_run_cfg(ALIGN, ["train.optimizer=adamm"]), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_registry_name_inside_task_args_is_located_with_its_override(tmp_path: Path) -> None:
    sets = ["task_args.composer=tirgg", "task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn",
            "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=8", "data.train.args.n=8",
            "data.train.cache=false"]  # fmt: skip
    with pytest.raises(UnknownNameError) as err:
        engine_run.train(
            load_run_cfg(TRANSFER, sets), tmp_path / "run", source=ConfigSource(str(TRANSFER), tuple(sets))
        )
    msg = str(err.value)
    assert msg.startswith("task_args.composer (--set task_args.composer=tirgg): unknown composer 'tirgg'")
    assert "did you mean 'tirg'?" in msg


def test_config_source_names_the_last_override_or_the_file() -> None:
    src = ConfigSource(str(ALIGN), ("train.lr=1", "train={lr: 2}"))
    assert src.describe("train.lr") == "train.lr (--set train={lr: 2})"
    assert src.describe("train.batch_size") == "train.batch_size (--set train={lr: 2})"
    assert ConfigSource(str(ALIGN)).describe("train.batch_size") == f"train.batch_size (in {ALIGN})"
    assert ConfigSource(str(ALIGN)).describe("train.optimizer") == f"train.optimizer (default; not set in {ALIGN})"
    assert ConfigSource().describe("init[0].module") == "init[0].module (default)"
