"""``semspace bench``: run the benchmarks in ``benchmarks/`` and write ``benchmarks/results/<name>.json/.md``."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from semspace.errors import SemspaceError


def _discover(root: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(root.glob("*.py")) if not p.stem.startswith("_")}


def bench(
    names: Annotated[list[str] | None, typer.Argument(help="benchmarks to run (default: all)")] = None,
    root: Annotated[Path, typer.Option("--root", help="folder holding the benchmark scripts")] = Path("benchmarks"),
    out: Annotated[Path, typer.Option("--out", help="results folder")] = Path("benchmarks/results"),
    quick: Annotated[bool, typer.Option("--quick", help="small sizes, for a smoke run")] = False,
) -> None:
    """Run benchmarks; each prints its paper-style table and writes JSON + Markdown.

    Example: semspace bench world_speed --quick
    """
    found = _discover(root)
    if not found:
        raise SemspaceError(f"no benchmark scripts in {root}/ (run from the project root or pass --root)")
    chosen = names or list(found)
    unknown = [n for n in chosen if n not in found]
    if unknown:
        raise SemspaceError(f"unknown benchmark(s) {unknown}; available: {', '.join(found)}")
    for name in chosen:
        spec = importlib.util.spec_from_file_location(f"semspace_bench_{name}", found[name])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # worker processes unpickle the benchmark's functions by module name
        spec.loader.exec_module(module)
        t0 = time.time()
        typer.echo(f"== benchmark {name} ==")
        md_path = module.main(out_dir=out, quick=quick)
        typer.echo(Path(md_path).read_text())
        typer.echo(f"({name}: {time.time() - t0:.1f} s)")
