"""``semspace train``: train a method from an experiment YAML with dotted overrides."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer


def train(
    config: Annotated[Path, typer.Option("--config", help="experiment YAML (configs/<method>/<name>.yaml)")],
    run_dir: Annotated[Path, typer.Option("--run-dir", help="where checkpoints, metrics.jsonl and config.yaml go")],
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="dotted override, repeatable: --set train.lr=1e-3")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="continue from run-dir/last.pt if present")
    ] = True,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="shortcut for --set train.max_steps=N")] = None,
    evaluate: Annotated[
        bool,
        typer.Option(
            "--eval/--no-eval",
            help="evaluate the trained model with the config's eval: protocol at the end (and every "
            "train.eval_every steps); --no-eval skips it and prints the last training averages",
        ),
    ] = True,
) -> None:
    """Train a task, then evaluate it with its config's eval: protocol (--no-eval skips that).

    The whole config is checked first (every name and value), before any data is rendered. A killed run
    continues from RUN_DIR/last.pt when the same command is run again; metrics.jsonl then holds one row per
    step and its clock continues. A run folder holding another model's checkpoint is refused (use another
    --run-dir, or --no-resume to start it again from scratch). The log goes to the console and RUN_DIR/train.log;
    the last line printed is one JSON object with the final metrics (under torchrun, by rank 0 only).

    Example: semspace train --config configs/align/world_2d_3d.yaml --run-dir runs/align --set train.lr=1e-3

    Example: semspace train --config configs/align/world_2d_3d.yaml --run-dir runs/quick --max-steps 20 --no-eval
    """
    from semspace.config import ConfigSource, load_run_cfg
    from semspace.engine.distributed import world_info_from_env
    from semspace.engine.logging import setup_logging
    from semspace.engine.run import train as run_train
    from semspace.engine.validate import validate_config
    from semspace.errors import ConfigError

    sets = list(overrides or [])
    if max_steps is not None:
        sets.append(f"train.max_steps={max_steps}")
    cfg = load_run_cfg(config, sets)
    source = ConfigSource(str(config), tuple(sets))
    validate_config(cfg, source)  # before the run folder and its log are created
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--run-dir {run_dir} is a file, not a folder; give a folder for the run")
    level = min(logging.INFO, logging.getLogger().getEffectiveLevel())  # --debug keeps DEBUG
    setup_logging(run_dir / "train.log", level)
    metrics = run_train(cfg, run_dir, resume=resume, progress=True, evaluate=evaluate, source=source)
    if world_info_from_env()[1] == 0:  # one final line under torchrun (the process group is closed by now)
        typer.echo(json.dumps({"run_dir": str(run_dir), **{k: round(float(v), 6) for k, v in metrics.items()}}))
