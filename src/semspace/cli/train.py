"""``semspace train``: train a method from an experiment YAML with dotted overrides."""

from __future__ import annotations

import json
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
) -> None:
    """Train a task; a killed run continues from its last checkpoint.

    Example: semspace train --config configs/align/world_2d_3d.yaml --run-dir runs/align --set train.lr=1e-3
    """
    from semspace.config import load_run_cfg
    from semspace.engine.logging import setup_logging
    from semspace.engine.run import train as run_train

    sets = list(overrides or [])
    if max_steps is not None:
        sets.append(f"train.max_steps={max_steps}")
    cfg = load_run_cfg(config, sets)
    setup_logging(run_dir / "train.log")
    metrics = run_train(cfg, run_dir, resume=resume, progress=True)
    typer.echo(json.dumps({"run_dir": str(run_dir), **{k: round(float(v), 6) for k, v in metrics.items()}}))
