"""``semspace search``: query an index with an image (optionally modified by a text) or a text."""

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
    text: Annotated[str | None, typer.Option("--text", help="query text (tasks that embed text)")] = None,
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="number of results")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document instead of a table")] = False,
    grid: Annotated[Path | None, typer.Option("--grid", help="also draw the query and its results to this PNG")] = None,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="the run that built the index (default: as recorded in it)")
    ] = None,
    query_domain: Annotated[
        str | None, typer.Option("--query-domain", help="domain of the query image (default: the index's)")
    ] = None,
) -> None:
    """Search an index by image (with an optional modification) or by text.

    Example: semspace search --index runs/index --image scene.png --modify "make the red cube blue" -k 5
    """
    from semspace.engine.search import Searcher

    if (image is None) == (text is None):
        raise ConfigError("give exactly one query: --image PATH (optionally with --modify TEXT) or --text TEXT")
    if text is not None and modify is not None:
        raise ConfigError("--modify applies to an --image query, not to --text")
    searcher = Searcher(index, run_dir=run_dir)
    if image is not None:
        result = searcher.search_image(image, modify=modify, k=k, query_domain=query_domain)
    else:
        result = searcher.search_text(str(text), k=k)
    if result.unknown_words:
        typer.echo(f"warning: unknown word(s) ignored by the model: {', '.join(result.unknown_words)}", err=True)
    hits = [{"rank": r, **asdict(h)} for r, h in enumerate(result.hits, start=1)]
    if as_json:
        doc = {"query": str(image) if image is not None else text, "modify": modify,
               "query_domain": result.query_domain, "unknown_words": result.unknown_words, "hits": hits}  # fmt: skip
        typer.echo(json.dumps(doc))
    else:
        typer.echo(_table(hits))
    if grid is not None:
        _write_grid(searcher, grid, image, text, modify, result.hits)
        if not as_json:
            typer.echo(f"wrote {grid}")


def _table(hits: list[dict[str, Any]]) -> str:
    cols = ("rank", "id", "score", "label", "uri")
    rows = [[str(h["rank"]), str(h["id"]), f"{h['score']:.4f}", str(h["label"]), str(h["uri"])] for h in hits]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines if rows else [*lines, "(no results)"])


def _write_grid(searcher: Any, out: Path, image: Path | None, text: str | None, modify: str | None,
                hits: list[Any]) -> None:  # fmt: skip
    from PIL import Image

    from semspace.data.images import load_image
    from semspace.eval.figures import retrieval_grid, save_figure

    query = load_image(image) if image is not None else Image.new("RGB", (64, 64), (255, 255, 255))
    blank = Image.new("RGB", (64, 64), (200, 200, 200))
    thumbs = [searcher.index.thumbnail(h.id) or blank for h in hits]
    caption = modify if image is not None else text
    picture = retrieval_grid([query], [thumbs], [[None] * len(hits)], scores=[[h.score for h in hits]],
                             captions=[caption] if caption else None)  # fmt: skip
    save_figure(picture, out)
