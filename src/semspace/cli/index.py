"""``semspace index build|remove|info``: sync an index folder (FAISS + SQLite) with a source, remove items, show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from semspace.cli.device_option import DeviceOption
from semspace.errors import ConfigError, DataError

app = typer.Typer(help="Build (sync), inspect and prune searchable indexes of embedded data.", no_args_is_help=True)

MAX_LISTED = 10  # unreadable files named in the summary (all of them with --json)
NO_WAIT_HELP = "if another build or removal is writing the index, exit 2 at once instead of waiting for it"


def _say(line: str) -> None:
    typer.echo(line, err=True)


@app.command("build")
def build(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="a trained run folder holding model.pt")],
    data: Annotated[
        str, typer.Option("--data", help="data spec: folder:PATH, or NAME:key=value,... (e.g. world_scenes:n=200)")
    ],
    out: Annotated[Path, typer.Option("--out", help="index folder (created, or synced when it exists)")],
    factory: Annotated[
        str | None,
        typer.Option(
            "--factory",
            help="faiss factory string: Flat (exact), IVF256,Flat, HNSW32, ..., or auto (chosen from the gallery's "
            "size and a quarter of the memory; index info says what and why). Default: Flat for a new index, "
            "the index's own otherwise; another one rebuilds the vectors without embedding again",
        ),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help="embed every item as this domain of the task (default: the items' own, else "
            "the task's domain of the items' input kind)",
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="stop at the first unreadable file")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="items embedded at a time")] = 128,
    device: DeviceOption = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON document")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help=NO_WAIT_HELP)] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="embed on Ray with N actors (one model each; reading and decoding in Ray tasks); needs "
            "semspace[distributed]. Default: in this process, without Ray",
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="with --workers: an existing Ray cluster (auto, or HOST:PORT) whose nodes see the run and the data "
            "at the same paths; default: a local Ray started for this build",
        ),
    ] = None,
    fields: Annotated[
        Path | None,
        typer.Option(
            "--fields",
            help="a sidecar file of item fields for filtered searches: .csv/.tsv with a 'path' column, or .jsonl "
            "objects with a 'path' key; paths relative to the source folder (docs/queries.md)",
        ),
    ] = None,
) -> None:
    """Sync an index with a source: new files are added, changed ones re-embedded in place, deleted ones removed.

    A file whose size and modification time did not change is not read; a copy or a rename takes the stored
    embedding; unreadable files are skipped and listed. A killed build leaves the index as it was, and running
    the same command again resumes it without embedding again what was finished. One build or removal writes an
    index at a time: another one waits for it (saying whose it is), or exits 2 with --no-wait; searches and a
    running service are never blocked.

    Example: semspace index build --run-dir runs/demo/run --data folder:runs/photos/ --out runs/photos_index

    Example (embedding on a local Ray with 2 actors; the same command on a cluster adds --ray-address auto):
    semspace index build --run-dir runs/demo/run --data folder:runs/photos/ --out runs/photos_index --workers 2

    Example (fields for filtered searches, e.g. semspace search ... --filter 'year>=2000'):
    semspace index build --run-dir runs/demo/run --data folder:runs/photos/ --out runs/photos_index
    --fields runs/photos/fields.csv

    Example (a text -> 3D run: the same gallery's scene descriptions as a second collection of the index):
    semspace index build --run-dir runs/transfer_text --data world_scenes:split=test,n=500,view=render3d
    --domain text --out runs/text_index
    """
    from semspace.retrieval import build_index

    if ray_address is not None and workers is None:
        raise ConfigError("--ray-address needs --workers N (the embedding actors to run on that cluster)")
    s = build_index(run_dir, data, out, factory=factory, domain=domain, batch_size=batch_size, progress=True,
                    device=device, strict=strict, wait=not no_wait, on_wait=_say, workers=workers,
                    ray_address=ray_address, fields=fields)  # fmt: skip
    if as_json:
        typer.echo(json.dumps(s))
        return
    for line in build_summary(s):
        typer.echo(line)


def build_summary(s: dict[str, Any]) -> list[str]:
    """The lines ``index build`` prints for the stats of ``build_index``."""
    reuse = [f"{s[k]} {what}" for k, what in (("reused", "stored embeddings reused"),
                                               ("resumed", "taken from an unfinished build")) if s[k]]  # fmt: skip
    tail = "; nothing changed, nothing written" if not s["saved"] else ""
    lines = [
        f"synced {s['source']} into {s['index']} as domain {s['domain']} ({s['kind']}; {s['domain_reason']}): "
        f"{s['added']} added, {s['updated']} updated, {s['removed']} removed, {s['unchanged']} unchanged, "
        f"{s['unreadable']} unreadable; {', '.join([str(s['embedded']) + ' embedded', *reuse])}; "
        f"{s['total']} items in all (factory {s['factory']}), {s['seconds']} s{tail}"
    ]
    if "fields_file" in s:
        lines.append(f"fields from {s['fields_file']}: {s['fields_changed']} items' fields changed; "
                     f"{s['fields_unmatched']} listed paths are no item of this source")  # fmt: skip
    if s.get("rebuilt_from"):
        lines.append(f"rebuilt the vectors with factory {s['factory']} (was {s['rebuilt_from']}) from the stored "
                     "embeddings")  # fmt: skip
    bad = s.get("unreadable_items") or []
    for uri, reason in bad[:MAX_LISTED]:
        lines.append(f"  unreadable: {uri}: {reason}")
    if len(bad) > MAX_LISTED:
        lines.append(f"  ... and {len(bad) - MAX_LISTED} more (--json lists them all)")
    return lines


@app.command("remove")
def remove(
    index: Annotated[Path, typer.Option("--index", help="an index folder")],
    source: Annotated[
        str | None, typer.Option("--source", help="remove every item synced from this data spec (as given to build)")
    ] = None,
    ids: Annotated[list[int] | None, typer.Option("--id", help="remove the item with this id (repeatable)")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help=NO_WAIT_HELP)] = False,
) -> None:
    """Remove items from an index, by source or by id; the index is rewritten atomically.

    An item removed by id from a synced source comes back with the next `index build` of that source (the
    source still holds it); remove the file, or the whole source, to keep it out.

    Example: semspace index remove --index runs/photos_index --source folder:runs/photos/

    Example: semspace index remove --index runs/photos_index --id 3 --id 17
    """
    from semspace.index import EmbeddingIndex
    from semspace.retrieval.indexing import normalise_source

    if (source is None) == (not ids):
        raise ConfigError("give either --source SPEC or one or more --id N")
    with EmbeddingIndex.writer(index, wait=not no_wait, on_wait=_say, what="removal"):
        idx = EmbeddingIndex.open(index)
        if source is not None:
            removed = idx.remove_source(normalise_source(source))
        else:
            chosen = sorted(set(ids or []))
            missing = [i for i in chosen if idx.get_item(i) is None]
            if missing:
                raise ConfigError(f"index {index} has no item with id {missing}; `semspace search --json` shows ids")
            removed = idx.remove(chosen)
        idx.save()
    typer.echo(f"removed {removed} item(s) from {index}; {len(idx)} left")


@app.command("info")
def info(
    index: Annotated[Path, typer.Option("--index", help="an index folder")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Show what an index holds: domains, counts, model, factory, sources, size on disk.

    Example: semspace index info --index runs/demo/index
    """
    if not index.is_dir():  # one error line before the index library (and torch) is imported
        raise DataError(f"index folder {index} does not exist; build one with semspace index build ... --out {index}")
    from semspace.index import EmbeddingIndex

    i = EmbeddingIndex.open(index).info()
    if as_json:
        typer.echo(json.dumps(i))
        return
    model = i.get("model", {})
    choice = i.get("factory_choice", {})
    why = choice.get("reason") if choice.get("factory") == i["factory"] else ""
    lines = [
        f"index {i['root']}: {i['ntotal']} items, {i['dim']}-d, backend {i['backend']}, factory {i['factory']}, "
        f"{_size(i['bytes_on_disk'])} on disk, {i.get('generation', 'flat layout')}, updated {i.get('updated', '?')}",
        *([f"factory chosen by --factory auto: {why}"] if why else []),
        f"model: task {model.get('task')}, checkpoint {model.get('checkpoint')} "
        f"(sha256 {str(model.get('checkpoint_sha256', ''))[:12]})",
        "domains:",
    ]
    for name, n in i["domains"].items():
        lines.append(f"  {name} ({i['collections'].get(name, {}).get('kind', '?')}): {n} items")
    for name in sorted(set(i["collections"]) - set(i["domains"])):
        lines.append(f"  {name} ({i['collections'][name].get('kind', '?')}): 0 items")
    lines.append("sources:")
    for s in i["source_items"]:
        lines.append(f"  {s['source'] or '(added without a source)'} -> {s['domain']}: {s['items']} items")
    if i["unfinished_build"]:
        lines.append("an unfinished build left finished embeddings here: run the same build again to resume it")
    for line in lines:
        typer.echo(line)


def _size(n: int) -> str:
    """``n`` bytes in B, KiB, MiB or GiB."""
    size, unit = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
