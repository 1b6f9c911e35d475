"""``semspace world``: generate the world to disk, or draw contact sheets of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Generate or preview the procedural multi-domain world.", no_args_is_help=True)

KindOpt = Annotated[
    str,
    typer.Option(
        "--kind",
        help="which world kind, e.g. scenes, objects or pairs (an unknown one is refused with the list of kinds)",
    ),
]  # not WORLD_KINDS' list: finding the kinds imports the world and torch, and --help starts without them


def _check_kind(kind: str) -> str:
    from semspace.world import KINDS

    if kind not in KINDS:
        from semspace.registry import did_you_mean

        raise typer.BadParameter(
            f"{kind!r} is not a world kind;{did_you_mean(kind, KINDS)} expected one of {', '.join(KINDS)}",
            param_hint="--kind",
        )
    return kind


@app.command("generate")
def generate(
    kind: KindOpt,
    out: Annotated[Path, typer.Option("--out", help="output folder (PNG per view + annotations.jsonl)")],
    n: Annotated[int, typer.Option("--n", min=1, help="number of items")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="world seed")] = 0,
    size: Annotated[int, typer.Option("--size", min=16, help="image side in pixels")] = 64,
    split: Annotated[str, typer.Option("--split", help="train, val or test")] = "train",
    workers: Annotated[int, typer.Option("--workers", min=1, help="render processes")] = 2,
) -> None:
    """Write N items of a world kind as PNG + JSONL (a killed run resumes: existing PNGs are kept).

    Example: semspace world generate --kind scenes --out data/scenes --n 1000 --seed 0
    """
    from semspace.world.base import check_split
    from semspace.world.export import export_world

    check_split(split, f"{_check_kind(kind)} world")  # before the progress bar starts
    jsonl = export_world(_check_kind(kind), out, n=n, seed=seed, size=size, split=split, workers=workers, progress=True)
    typer.echo(f"wrote {n} {kind} items to {out} (annotations: {jsonl})")


@app.command("preview")
def preview(
    kind: KindOpt,
    out: Annotated[Path, typer.Option("--out", help="PNG file to write")],
    n: Annotated[int, typer.Option("--n", min=1, help="rows (items)")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="world seed")] = 0,
    size: Annotated[int, typer.Option("--size", min=16, help="render size in pixels")] = 64,
    split: Annotated[str, typer.Option("--split", help="train, val or test")] = "train",
) -> None:
    """Write a contact sheet: the same items in every view (rows = items, columns = views).

    Example: semspace world preview --kind objects --out objects.png --n 12
    """
    from semspace.world.preview import save_contact_sheet

    path = save_contact_sheet(_check_kind(kind), out, n=n, seed=seed, size=size, split=split)
    typer.echo(f"wrote {path}")
