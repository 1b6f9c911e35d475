"""``semspace eval``: score a trained run with its paper protocol and print the table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from semspace.cli.device_option import DeviceOption


def evaluate(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="a run folder holding model.pt")],
    out: Annotated[Path | None, typer.Option("--out", help="also write the metrics to this JSON file")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="dotted override of the run's eval section, repeatable")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document instead of a table")] = False,
    data: Annotated[
        str | None, typer.Option("--data", help="evaluate on this dataset instead of the run's (NAME:key=value,...)")
    ] = None,
    recompute: Annotated[
        bool, typer.Option("--recompute", help="evaluate again even when RUN_DIR/evaluation.json is fresh")
    ] = False,
    device: DeviceOption = "auto",
) -> None:
    """Evaluate a trained run with the protocol of its config.

    The result of the last evaluation of model.pt (semspace train's final one, or an earlier eval) is kept in
    RUN_DIR/evaluation.json; it is reused when model.pt (sha256) and the eval: section are the same, and a line on
    stderr says whether it was reused or why it is recomputed (--recompute: always evaluate).

    Example: semspace eval --run-dir runs/transfer --out runs/transfer/eval.json

    Example: semspace eval --run-dir runs/transfer --data world_scenes:split=test,n=4000,view=render3d,mods_per_scene=4

    Example: semspace eval --run-dir runs/align --set eval.data.args.n=2000 --json

    Example (on the second GPU; the default, auto, takes CUDA when there is one): semspace eval --run-dir
    runs/transfer --device cuda:1
    """
    from semspace.data.spec import parse_data_spec
    from semspace.eval.report import markdown_table
    from semspace.retrieval import evaluate as run_evaluate
    from semspace.utils.io import atomic_write_text

    metrics = run_evaluate(run_dir, overrides=list(overrides or []),
                           data=parse_data_spec(data) if data is not None else None, reuse=not recompute,
                           note=lambda line: typer.echo(line, err=True), progress=True, device=device)  # fmt: skip
    if out is not None:
        atomic_write_text(out, json.dumps(metrics, indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps(metrics))
    else:
        typer.echo(markdown_table([{"metric": k, "value": v} for k, v in metrics.items()], ["metric", "value"]))
