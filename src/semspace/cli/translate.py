"""``semspace translate``: the content of one picture in the style of an exemplar (EGSC-IT, arXiv:1805.11145), or a
folder of contents x a folder of exemplars drawn as one grid (rows: contents, columns: exemplars)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from semspace.errors import ConfigError, DataError


def translate(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="a trained translation run (egsc_it) holding model.pt")],
    content: Annotated[Path, typer.Option("--content", help="the picture (or a folder) whose content is kept")],
    exemplar: Annotated[Path, typer.Option("--exemplar", help="the picture (or a folder) whose style is taken")],
    out: Annotated[Path, typer.Option("--out", help="the output picture (.png, .jpg, .webp); a grid for folders")],
    direction: Annotated[str, typer.Option("--direction", help="a2b (content in A, exemplar in B) or b2a")] = "a2b",
    check_domains: Annotated[
        bool, typer.Option("--check-domains/--no-check-domains", help="refuse pictures that look like the other domain")
    ] = True,
) -> None:
    """Translate a content picture into the style of an exemplar picture (or every content of a folder with every
    exemplar of another, as a grid with the contents down the side and the exemplars along the top).

    Any size, greyscale, RGB or RGBA pictures are read (converted to the model's RGB input; transparency on the
    model's background colour).

    Pictures to try (plain digits in pairs/source/, styled ones in pairs/exemplar/):
    semspace world generate --kind pairs --split test --n 4 --out pairs

    Example: semspace translate --run-dir runs/egsc_it --content pairs/source/000000.png --exemplar
    pairs/exemplar/000001.png --out c.png

    Example: semspace translate --run-dir runs/egsc_it --content pairs/source/ --exemplar pairs/exemplar/ --out grid.png
    """
    import torch
    from rich.progress import track

    from semspace.capabilities import require
    from semspace.data.images import list_images, load_image
    from semspace.data.transforms import build_transform, to_pil
    from semspace.eval.figures import figure_format, save_figure, translation_grid
    from semspace.retrieval.runs import load_run

    figure_format(out)  # a bad suffix is refused before any work
    if direction not in ("a2b", "b2a"):
        raise ConfigError(f"--direction must be a2b or b2a, got {direction!r}")
    contents, exemplars = _pictures(content, "--content", list_images), _pictures(exemplar, "--exemplar", list_images)
    loaded, _ = load_run(run_dir)
    task: Any = require(loaded, "translate")
    names = list(task.domains())
    src, tgt = (names[0], names[1]) if direction == "a2b" else (names[1], names[0])
    pre = task.domains()[src].preprocess
    assert pre is not None  # image domains always have one
    transform = build_transform(pre)

    def read(path: Path) -> Any:
        return transform(load_image(path, background=pre.background, channels=pre.channels))[None]  # (1, C, H, W)

    xs_c = torch.cat([read(p) for p in contents])  # (Nc, C, H, W)
    xs_e = torch.cat([read(p) for p in exemplars])  # (Ne, C, H, W)
    if check_domains:
        _check(task, (xs_c, contents, src), (xs_e, exemplars, tgt), direction, names)
    single = len(contents) == 1 and len(exemplars) == 1 and content.is_file() and exemplar.is_file()
    rows = []
    with torch.no_grad():
        steps = track(range(len(contents)), description="translate", disable=single, transient=True)
        for i in steps:
            c = xs_c[i : i + 1].expand(len(exemplars), -1, -1, -1)
            rows.append(task.translate(c, xs_e, direction=direction))  # (Ne, C, H, W)
    if single:
        save_figure(to_pil(rows[0][0].float(), pre), out)
    else:
        cells = [[to_pil(x, pre) for x in row] for row in rows]
        save_figure(translation_grid([to_pil(x, pre) for x in xs_c], [to_pil(x, pre) for x in xs_e], cells), out)
    typer.echo(f"wrote {out} ({len(contents)} content x {len(exemplars)} exemplar, {src} -> {tgt})")


def _pictures(path: Path, option: str, list_images: Any) -> list[Path]:
    if not path.exists():
        raise DataError(f"{option} {path}: no such file or folder")
    if path.is_dir():
        found = list(list_images(path))
        if not found:
            raise DataError(f"{option} {path}: the folder holds no pictures (.png, .jpg, ...)")
        return found
    return [path]


Pictures = tuple[Any, list[Path], str]  # (model inputs (N, C, H, W), their paths, the domain they should be of)


def _check(task: Any, content: Pictures, exemplar: Pictures, direction: str, names: list[str]) -> None:
    """A ``DataError`` naming the first picture that looks like the other domain (by the run's training colours);
    the advice to swap ``content`` and ``exemplar`` or flip ``--direction`` is given only where every picture would
    then fit (both need the same)."""
    from semspace.retrieval.inputs import domain_mismatches

    (xs_c, paths_c, src), (xs_e, paths_e, tgt) = content, exemplar
    flipped = not any(domain_mismatches(task, xs_c, tgt)) and not any(domain_mismatches(task, xs_e, src))
    for role, xs, paths, expected in (("content", xs_c, paths_c, src), ("exemplar", xs_e, paths_e, tgt)):
        for path, got in zip(paths, domain_mismatches(task, xs, expected), strict=True):
            if got is None:
                continue
            other = "b2a" if direction == "a2b" else "a2b"
            fix = (f"swap --content and --exemplar, use --direction {other}" if flipped
                   else f"use a picture of domain {expected!r} as the {role}")  # fmt: skip
            raise DataError(
                f"{role} {path} looks like domain {got!r}, but this model translates {direction} and expects the "
                f"{role} from domain {expected!r} (domains {names}); {fix}, or pass --no-check-domains"
            )
