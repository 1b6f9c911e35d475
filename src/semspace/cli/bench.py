"""``semspace bench``: run the benchmarks in ``benchmarks/`` and write ``benchmarks/results/<name>.json/.md``.

Every benchmark module has ``main(out_dir, quick)``. A module that runs on the user's data declares the data roles it
reads (``DATA_ROLES = {role: what}``) and takes ``data: {role: DataSpec}`` in ``main``; ``--data [ROLE=]SPEC``
(repeatable; the role defaults to ``data``) fills it, and its results go to ``runs/bench/results`` unless ``--out``
is given (the committed tables in ``benchmarks/results`` stay the world's). A module whose ``main`` takes ``seeds``
runs that many training seeds and reports mean and standard deviation per row (``--seeds N``). A benchmark that
does not take ``--data`` or ``--seeds`` says so and names those that do.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from semspace.errors import SemspaceError


def _discover(root: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(root.glob("*.py")) if not p.stem.startswith("_")}


_ROLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.+)$")


def parse_role_specs(items: list[str]) -> dict[str, Any]:
    """``["SPEC", "source=SPEC"]`` -> ``{"data": DataSpec, "source": DataSpec}``: a ``ROLE=`` prefix names the role
    (text before the first ``=`` with no ``:`` in it), else the role is ``data``; a role given twice is an error."""
    from semspace.data.spec import parse_data_spec

    out: dict[str, Any] = {}
    for item in items:
        head = item.split(":", 1)[0]
        m = _ROLE.match(item) if "=" in head else None
        role, spec = (m[1], m[2]) if m else ("data", item)
        if role in out:
            raise SemspaceError(f"--data: role {role!r} given twice ({item!r}); give each role once")
        out[role] = parse_data_spec(spec)
    return out


def _supporting(found: dict[str, Path], marker: str) -> list[str]:
    """Benchmarks whose source mentions ``marker`` (``DATA_ROLES`` or ``seeds``), without importing them."""
    return [n for n, p in found.items() if marker in p.read_text(encoding="utf-8")]


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"semspace_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # worker processes unpickle the benchmark's functions by module name
    spec.loader.exec_module(module)
    return module


def bench(
    names: Annotated[list[str] | None, typer.Argument(help="benchmarks to run (default: all)")] = None,
    root: Annotated[Path, typer.Option("--root", help="folder holding the benchmark scripts")] = Path("benchmarks"),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="results folder (default: benchmarks/results; with --data: runs/bench/results)"),
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="small sizes, for a smoke run")] = False,
    data: Annotated[
        list[str] | None,
        typer.Option("--data", help="[ROLE=]SPEC: run on this data spec (repeatable; e.g. source=SPEC for CHTN)"),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="training seeds per row: mean and sd")] = 1,
) -> None:
    """Run benchmarks; each prints its paper-style table and writes JSON + Markdown.

    Example: semspace bench world_speed --quick

    Example: semspace bench chtn --data wikipedia_xmodal:root=data/wikipedia --seeds 3

    Example: semspace bench chtn --data pascal_sentences:root=data/pascal,split=test,fold=1/5
    """
    found = _discover(root)
    if not found:
        raise SemspaceError(f"no benchmark scripts in {root}/ (run from the project root or pass --root)")
    chosen = names or list(found)
    unknown = [n for n in chosen if n not in found]
    if unknown:
        raise SemspaceError(f"unknown benchmark(s) {unknown}; available: {', '.join(found)}")
    specs = parse_role_specs(list(data)) if data else None
    if specs is not None and names is None:
        raise SemspaceError(f"--data needs the benchmark named (e.g. semspace bench chtn --data ...); benchmarks "
                            f"that take --data: {_supporting(found, 'DATA_ROLES') or 'none'}")  # fmt: skip
    modules = {name: _load(name, found[name]) for name in chosen}
    for name, module in modules.items():
        params = inspect.signature(module.main).parameters
        roles = getattr(module, "DATA_ROLES", None)
        if specs is not None and (roles is None or "data" not in params):
            raise SemspaceError(f"benchmark {name!r} does not take --data (it runs on its own configs); benchmarks "
                                f"that do: {_supporting(found, 'DATA_ROLES') or 'none'}")  # fmt: skip
        if specs is not None and roles is not None and set(specs) - set(roles):
            raise SemspaceError(f"benchmark {name!r}: unknown --data role(s) {sorted(set(specs) - set(roles))}; "
                                f"its roles: {roles}")  # fmt: skip
        if seeds != 1 and "seeds" not in params:
            with_seeds = _supporting(found, "seeds: int")
            raise SemspaceError(f"benchmark {name!r} does not take --seeds; benchmarks that do: {with_seeds}")
    for name, module in modules.items():
        t0 = time.time()
        typer.echo(f"== benchmark {name} ==")
        kwargs: dict[str, Any] = {"seeds": seeds} if seeds != 1 else {}
        if specs is not None:
            kwargs["data"] = specs
        out_dir = out if out is not None else Path("runs/bench/results" if specs is not None else "benchmarks/results")
        md_path = module.main(out_dir=out_dir, quick=quick, **kwargs)
        typer.echo(Path(md_path).read_text())
        typer.echo(f"({name}: {time.time() - t0:.1f} s)")
