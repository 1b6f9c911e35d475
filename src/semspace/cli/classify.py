"""``semspace classify``: zero-shot classification of a drawing among class names (an ``ssgn`` run).

SSGN's semantic head maps a sketch to the semantic space of its side information (``tasks/ssgn.py``); the given
class names are ranked by ``softmax(cos(R(h), s_c) / tau)`` (``tasks/ssgn_queries.py``). Names outside the run's
label space work where its semantics can embed them (MiniLM of names: any; a word-vector table: the names it
holds; the world's attributes: the world's categories); others are refused, named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from semspace.cli.device_option import DeviceOption
from semspace.errors import ConfigError


def classify(
    sketch: Annotated[Path, typer.Option("--sketch", help="the drawing to classify (any format, size, polarity)")],
    run_dir: Annotated[Path, typer.Option("--run-dir", help="an ssgn run folder (semspace train)")],
    classes: Annotated[
        str | None,
        typer.Option(
            "--classes",
            help="candidate class names, comma-separated (default: the run's unseen classes, else its label space)",
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("-k", "--top-k", min=0, help="print the best K classes (0, the default: all)")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document instead of a table")] = False,
    sketch_check: Annotated[
        bool, typer.Option("--sketch-check/--no-sketch-check", help="refuse blank drawings and photos")
    ] = True,
    device: DeviceOption = "auto",
) -> None:
    """Zero-shot classification of a drawing: the candidate classes ranked with their scores.

    The probability is softmax(cos / tau) over the candidates (tau: the run's query_temperature); the cosine is
    between the sketch's semantic prediction and the class's side information.

    Example: semspace classify --run-dir runs/ssgn --sketch runs/demo/ssgn/queries/sketch_0.png --classes
    cup,cat,truck,boat

    Example: semspace classify --run-dir runs/ssgn --sketch my_drawing.png --classes cat,dog --json
    """
    import torch

    from semspace.cli.search import class_list
    from semspace.data.domains import InputKind
    from semspace.retrieval.inputs import query_input
    from semspace.retrieval.runs import checkpoint_path, load_run

    task: Any = load_run(checkpoint_path(run_dir), device)[0]
    if not hasattr(task, "classify"):
        raise ConfigError(f"{run_dir} is a {task.name!r} run; semspace classify needs an ssgn run (its semantic head)")
    spec = next((s for s in task.domains().values() if s.kind is InputKind.SKETCH), None)
    assert spec is not None  # an ssgn task has a sketch domain
    x = query_input(spec, sketch).to(next(task.parameters()).device)  # (1, C, H, W)
    with torch.no_grad():
        names, prob, cos = task.classify(x, class_list(classes), check=sketch_check)
    prob, cos = prob.float().cpu(), cos.float().cpu()  # (1, Q) each
    order = torch.argsort(prob[0], descending=True).tolist()[: top or None]
    ranking: list[dict[str, Any]] = [
        {"rank": r, "class": names[i], "probability": float(prob[0, i]), "cosine": float(cos[0, i])}
        for r, i in enumerate(order, start=1)
    ]
    if as_json:
        typer.echo(json.dumps({"sketch": str(sketch), "run_dir": str(run_dir), "classes": names, "ranking": ranking}))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{sketch.name}: {len(names)} candidate classes", title_justify="left", show_edge=False)
    for col in ("rank", "class", "probability", "cosine"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for row in ranking:
        table.add_row(str(row["rank"]), row["class"], f"{row['probability']:.4f}", f"{row['cosine']:.4f}")
    Console(soft_wrap=False, width=200).print(table)
