"""``semspace search``: query an index with an image (optionally modified by a text), a sketch or a text."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from semspace.errors import ConfigError


def search(
    index: Annotated[Path, typer.Option("--index", help="an index folder (semspace index build)")],
    image: Annotated[Path | None, typer.Option("--image", help="query image (any format, mode or size)")] = None,
    modify: Annotated[str | None, typer.Option("--modify", help="modification text applied to the image query")] = None,
    sketch: Annotated[Path | None, typer.Option("--sketch", help="query drawing (tasks with a sketch domain)")] = None,
    text: Annotated[str | None, typer.Option("--text", help="query text (tasks with a text domain)")] = None,
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="number of results")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document instead of a table")] = False,
    grid: Annotated[
        Path | None,
        typer.Option("--grid", help="also draw the query and its results to this picture (.png, .jpg, .webp)"),
    ] = None,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="the run that built the index (default: as recorded in it)")
    ] = None,
    query_domain: Annotated[
        str | None, typer.Option("--query-domain", help="the task's domain of the query (default: by its kind)")
    ] = None,
    domains: Annotated[
        list[str] | None, typer.Option("--domain", help="search only this collection of the index (repeatable)")
    ] = None,
    keep_query: Annotated[
        bool, typer.Option("--keep-query", help="keep the query's own item (same content) among the results")
    ] = False,
) -> None:
    """Search an index by image (with an optional modification), by sketch or by text.

    The query's own item (an indexed copy of the same content) is left out of the results unless --keep-query;
    the output says when it was.

    Example: semspace search --index runs/demo/index --image runs/demo/queries/query_0.png
    --modify "make the red cube blue" -k 5 --grid out.png

    Example: semspace search --index runs/index --text "a large red cube" --domain render3d --json
    """
    from semspace.retrieval import Searcher

    given = [name for name, value in (("--image", image), ("--sketch", sketch), ("--text", text)) if value is not None]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one query: --image PATH (optionally with --modify TEXT), --sketch PATH or --text TEXT"
        )
    if modify is not None and image is None:
        raise ConfigError(f"--modify applies to an --image query, not to {given[0]}")
    if grid is not None:
        from semspace.eval.figures import figure_format, save_figure

        figure_format(grid)  # a bad suffix is refused before any work
    searcher = Searcher(index, run_dir=run_dir)
    where = list(domains or []) or None
    opts: dict[str, Any] = {"k": k, "query_domain": query_domain, "in_domains": where, "keep_query": keep_query}
    if image is not None:
        result = searcher.search_image(image, modify=modify, **opts)
    elif sketch is not None:
        result = searcher.search_sketch(sketch, **opts)
    else:
        result = searcher.search_text(str(text), **opts)
    if result.unknown_words:
        typer.echo(f"warning: unknown word(s) ignored by the model: {', '.join(result.unknown_words)}", err=True)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    hits = [{"rank": r, **asdict(h)} for r, h in enumerate(result.hits, start=1)]
    query = image or sketch
    if as_json:
        doc = {"query": str(query) if query is not None else text, "modify": modify,
               "query_domain": result.query_domain, "searched_domains": result.searched_domains,
               "unknown_words": result.unknown_words, "notes": result.notes, "excluded": result.excluded,
               "hits": hits}  # fmt: skip
        typer.echo(json.dumps(doc))
    else:
        where_text = ", ".join(result.searched_domains)
        _print_table(hits, f"{len(hits)} results for a {result.query_domain} query in {where_text}")
    if grid is not None:
        from semspace.data.images import load_image

        picture = searcher.result_grid(result, load_image(query) if query is not None else None,
                                       caption=modify if image is not None else text)  # fmt: skip
        save_figure(picture, grid)
        if not as_json:
            typer.echo(f"wrote {grid}")


def _print_table(hits: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for col, justify in (("rank", "right"), ("id", "right"), ("score", "right"), ("domain", "left"),
                         ("label", "left"), ("uri", "left")):  # fmt: skip
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for h in hits:
        table.add_row(str(h["rank"]), str(h["id"]), f"{h['score']:.4f}", h["domain"], str(h["label"]), str(h["uri"]))
    if not hits:
        table.add_row("", "", "", "", "(no results)", "")
    Console(soft_wrap=False, width=200).print(table)
