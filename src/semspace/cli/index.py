"""``semspace index build``: embed a dataset with a trained run into an index folder (FAISS + SQLite)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Build searchable indexes of embedded data.", no_args_is_help=True)


@app.command("build")
def build(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="a trained run folder holding model.pt")],
    data: Annotated[
        str, typer.Option("--data", help="data spec: folder:PATH, or NAME:key=value,... (e.g. world_scenes:n=200)")
    ],
    out: Annotated[Path, typer.Option("--out", help="index folder (created, or extended when it exists)")],
    factory: Annotated[
        str, typer.Option("--factory", help="faiss factory string: Flat (exact), IVF256,Flat, HNSW32, ...")
    ] = "Flat",
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help="embed every item as this domain of the task (default: the items' own, else "
            "the task's domain of the items' input kind)",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="images embedded at a time")] = 128,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto")] = "cpu",
) -> None:
    """Embed a dataset with a trained run and add it to an index; unchanged items are skipped.

    Example: semspace index build --run-dir runs/align --data world_scenes:split=test,n=500 --out runs/index

    Example (a text -> 3D run: the same gallery's scene descriptions as a second collection of the index):
    semspace index build --run-dir runs/transfer_text --data world_scenes:split=test,n=500,view=render3d
    --domain text --out runs/index
    """
    from semspace.retrieval import build_index

    s = build_index(run_dir, data, out, factory=factory, domain=domain, batch_size=batch_size, progress=True,
                    device=device)  # fmt: skip
    typer.echo(
        f"indexed {s['data']} into {s['index']} as domain {s['domain']} ({s['kind']}): added {s['added']}, skipped "
        f"{s['skipped']} unchanged, {s['total']} items in all (factory {s['factory']}) in {s['seconds']} s"
    )
