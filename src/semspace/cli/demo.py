"""``semspace demo``: the main job on the world (train, evaluate, report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    out: Annotated[Path, typer.Option("--out", help="output folder for the world, sheets, run and report")] = Path(
        "runs/demo"
    ),
    quick: Annotated[bool, typer.Option("--quick", help="a smaller, faster run (about a minute on 2 cores)")] = False,
    seed: Annotated[int, typer.Option("--seed", help="training seed (the world's scenes stay the same)")] = 0,
) -> None:
    """Run the main job on the embedded world and write OUT/report.md and OUT/metrics.json.

    4-7 minutes on 2 idle cores (213-233 s on 2 AMD EPYC cores, 420 s on 2 Intel Xeon cores), --quick about a minute.

    Cores shared with other jobs take several times longer.

    Example: semspace demo --out runs/demo --quick
    """
    from semspace.demo import demo_intro, run_demo

    typer.echo(demo_intro())
    metrics = run_demo(out, quick=quick, seed=seed, progress=True)
    typer.echo(metrics["table"])
    typer.echo(f"report: {out / 'report.md'}  metrics: {out / 'metrics.json'}  ({metrics['seconds']} s)")
