"""``semspace search``: query an index with an image (optionally modified by a text), a sketch or a text, or with
several weighted terms (``--term KIND[@DOMAIN]:VALUE[=WEIGHT]``, ``retrieval/terms.py``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from semspace.cli.device_option import DeviceOption
from semspace.errors import ConfigError


def search(
    index: Annotated[Path, typer.Option("--index", help="an index folder (semspace index build)")],
    image: Annotated[Path | None, typer.Option("--image", help="query image (any format, mode or size)")] = None,
    modify: Annotated[str | None, typer.Option("--modify", help="modification text applied to the image query")] = None,
    sketch: Annotated[Path | None, typer.Option("--sketch", help="query drawing (tasks with a sketch domain)")] = None,
    text: Annotated[str | None, typer.Option("--text", help="query text (tasks with a text domain)")] = None,
    terms: Annotated[
        list[str] | None,
        typer.Option(
            "--term",
            help="a weighted query term (repeatable; instead of --image, --sketch, --text): KIND:VALUE or "
            "KIND@DOMAIN:VALUE, optionally ending in =WEIGHT; KIND text, image, sketch or item (an indexed item's "
            "id); the weight (default 1; negative pushes that direction away) is read after the last '=' when it "
            "is a number, so paths and texts may hold spaces, ':' and '=' (quote the term)",
        ),
    ] = None,
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
    classes: Annotated[
        str | None,
        typer.Option(
            "--classes",
            help="a --sketch query's candidate classes, comma-separated (ssgn; default: the "
            "classes the index holds); new names work where the run's semantics can embed them",
        ),
    ] = None,
    sketch_check: Annotated[
        bool, typer.Option("--sketch-check/--no-sketch-check", help="refuse blank drawings and photos as --sketch")
    ] = True,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="keep only items meeting this condition (repeatable, all must hold): NAME=VALUE, NAME!=VALUE, "
            "NAME>=X, NAME<X, source=NAME, path=GLOB; fields come from index build --fields (docs/queries.md)",
        ),
    ] = None,
    device: DeviceOption = "auto",
) -> None:
    """Search an index by image (with an optional modification), by sketch or by text, or by weighted terms.

    Terms (--term, repeatable) are KIND:VALUE or KIND@DOMAIN:VALUE, optionally ending in =WEIGHT (KIND text, image,
    sketch or item). The weight is read after the last '=' when it is a number, so values may hold spaces, ':' and
    '=' ('text:x=1=1' is the text x=1, weight 1). Each term is embedded in its own domain (the one of its kind, or
    DOMAIN), normalised, weighted and summed, and the sum normalised: z = N(sum_i w_i N(z_i)); --modify composes
    the one image or item term first (docs/queries.md).

    The query's own item (an indexed copy of the same content) is left out of the results unless --keep-query;
    the output says when it was.

    Example: semspace search --index runs/demo/index --image runs/demo/queries/query_0.png
    --modify "make the red cube blue" -k 5 --grid out.png

    Example: semspace search --index runs/index --text "a large red cube" --domain render3d --json

    Example (filtered by fields from index build --fields): semspace search --index runs/photos_index
    --image q.png --filter 'year>=2000' --filter 'place=home' --filter 'path=*/holidays/*'

    Example: semspace search --index runs/index --term 'image:my photos/q.png' --term 'text:a red cube=0.5'
    --term 'item:42=-1' --modify "make it large" -k 5
    """
    from semspace.retrieval import Searcher

    given = [name for name, value in (("--image", image), ("--sketch", sketch), ("--text", text)) if value is not None]
    parsed = _parsed_terms(terms, given, modify, query_domain) if terms else None
    if parsed is None and len(given) != 1:
        raise ConfigError(
            "give exactly one query: --image PATH (optionally with --modify TEXT), --sketch PATH or --text TEXT, "
            "or one or more --term KIND:VALUE[=WEIGHT]"
        )
    if parsed is None and modify is not None and image is None:
        raise ConfigError(f"--modify applies to an --image query, not to {given[0]}")
    if classes is not None and sketch is None:
        raise ConfigError("--classes names the candidate classes of a --sketch query")
    if filters:
        from semspace.index.fields import parse_filter

        parse_filter(filters)  # a malformed condition is refused before the model loads
    if grid is not None:
        from semspace.eval.figures import figure_format, save_figure

        figure_format(grid)  # a bad suffix is refused before any work
    searcher = Searcher(index, run_dir=run_dir, device=device)
    where = list(domains or []) or None
    opts: dict[str, Any] = {"k": k, "query_domain": query_domain, "in_domains": where, "keep_query": keep_query,
                            "where": filters or None}  # fmt: skip
    if parsed is not None:
        result = searcher.search_terms(parsed, k=k, in_domains=where, keep_query=keep_query, where=filters or None)
    elif image is not None:
        result = searcher.search_image(image, modify=modify, **opts)
    elif sketch is not None:
        result = searcher.search_sketch(sketch, classes=class_list(classes), sketch_check=sketch_check, **opts)
    else:
        result = searcher.search_text(str(text), **opts)
    if result.unknown_words:
        typer.echo(f"warning: unknown word(s) ignored by the model: {', '.join(result.unknown_words)}", err=True)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    hits = [{"rank": r, **asdict(h)} for r, h in enumerate(result.hits, start=1)]
    query = image or sketch
    caption = modify if image is not None else text
    if parsed is not None:  # the grid shows the first picture of positive weight and every term
        query = next((Path(str(t.value)) for t in parsed if t.kind in ("image", "sketch") and t.weight > 0), None)
        caption = "; ".join(f"{t.weight:+g} {t.kind} " + (Path(str(t.value)).name if t.kind in ("image", "sketch")
                                                          else str(t.value)) for t in parsed)  # fmt: skip
    if as_json:
        doc = {"query": str(query) if query is not None else text, "modify": modify,
               "query_domain": result.query_domain, "searched_domains": result.searched_domains,
               "unknown_words": result.unknown_words, "notes": result.notes, "excluded": result.excluded,
               "hits": hits}  # fmt: skip
        if parsed is not None:
            doc["query"], doc["terms"] = None, result.terms
        typer.echo(json.dumps(doc))
    else:
        where_text = ", ".join(result.searched_domains)
        what = f"a {result.query_domain} query"
        if parsed:
            what = f"{len(parsed)} weighted term{'s' if len(parsed) > 1 else ''} ({result.query_domain})"
        _print_table(hits, f"{len(hits)} results for {what} in {where_text}")
        for i, term in enumerate(result.terms, start=1):
            typer.echo(f"term {i}: {term['kind']} in {term['domain']}, weight {term['weight']:g}: {term['value']}"
                       + (f" (modified: {term['modify']})" if term["modify"] is not None else ""))  # fmt: skip
    if grid is not None:
        from semspace.data.images import load_image

        picture = searcher.result_grid(result, load_image(query) if query is not None else None, caption=caption)
        save_figure(picture, grid)
        if not as_json:
            typer.echo(f"wrote {grid}")


def _parsed_terms(specs: list[str], given: list[str], modify: str | None, query_domain: str | None) -> list[Any]:
    """The ``--term`` strings as ``QueryTerm``s, ``--modify`` on the one image or item term; refused before any
    work when mixed with a single query or ``--query-domain``, or when ``--modify`` has no single term to apply to."""
    from dataclasses import replace

    from semspace.retrieval.terms import ITEM, parse_term

    if given:
        as_term = {"--image": "image:PATH", "--sketch": "sketch:PATH", "--text": "text:TEXT"}[given[0]]
        raise ConfigError(f"give either --term (repeatable) or {given[0]}, not both; "
                          f"write the {given[0]} query as a term too: --term '{as_term}'")  # fmt: skip
    if query_domain is not None:
        raise ConfigError("--query-domain names the domain of a single query; a term names its own: "
                          "--term 'KIND@DOMAIN:VALUE[=WEIGHT]'")  # fmt: skip
    parsed = [parse_term(spec) for spec in specs]
    if modify is not None:
        targets = [i for i, t in enumerate(parsed) if t.kind in ("image", ITEM)]
        if len(targets) != 1:
            which = f" (terms {', '.join(str(i + 1) for i in targets)})" if targets else ""
            raise ConfigError(f"--modify applies to exactly one image or item term; the terms hold {len(targets)}"
                              f"{which}")  # fmt: skip
        parsed[targets[0]] = replace(parsed[targets[0]], modify=modify)
    return parsed


def class_list(value: str | None) -> list[str] | None:
    """``--classes a,b,c`` -> ``["a", "b", "c"]`` (blank entries dropped; None when not given)."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise ConfigError("--classes is empty; give class names separated by commas, e.g. --classes cat,dog,chair")
    return names


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
