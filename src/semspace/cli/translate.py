"""``semspace translate``: the content of one picture in the style of an exemplar (EGSC-IT, arXiv:1805.11145), or
every content of a folder with every exemplar of another: one picture per pair in ``--out DIR`` (named after both:
``translate_files.py``), and on request (``--grid FILE``) one grid (rows: contents, columns: exemplars)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from semspace.cli.device_option import DeviceOption
from semspace.errors import ConfigError, DataError


def translate(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="a trained translation run (egsc_it) holding model.pt")],
    content: Annotated[Path, typer.Option("--content", help="the picture (or a folder) whose content is kept")],
    exemplar: Annotated[Path, typer.Option("--exemplar", help="the picture (or a folder) whose style is taken")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="the output picture (.png, .jpg, .webp); for folders, a folder: one picture per "
            "content (per exemplar when several: <content>__<exemplar>.png)",
        ),
    ] = None,
    grid: Annotated[
        Path | None, typer.Option("--grid", help="also draw every translation as one grid picture (.png, ...)")
    ] = None,
    direction: Annotated[str, typer.Option("--direction", help="a2b (content in A, exemplar in B) or b2a")] = "a2b",
    check_domains: Annotated[
        bool, typer.Option("--check-domains/--no-check-domains", help="refuse pictures that look like the other domain")
    ] = True,
    device: DeviceOption = "auto",
) -> None:
    """Translate a content picture into the style of an exemplar picture, or every content of a folder with every
    exemplar of another: one picture per content in the --out folder (per exemplar when several, named
    <content stem>__<exemplar stem>.png), and with --grid a grid, the contents down the side and the exemplars
    along the top.

    Any size, greyscale, RGB or RGBA pictures are read (converted to the model's RGB input; transparency on the
    model's background colour).

    Pictures to try (plain digits in pairs/source/, styled ones in pairs/exemplar/):
    semspace world generate --kind pairs --split test --n 4 --out pairs

    Example: semspace translate --run-dir runs/egsc_it --content pairs/source/000000.png --exemplar
    pairs/exemplar/000001.png --out c.png

    Example: semspace translate --run-dir runs/egsc_it --content pairs/source/ --exemplar pairs/exemplar/ --out
    translated/ --grid grid.png
    """
    import torch
    from rich.progress import track

    from semspace.capabilities import require
    from semspace.cli.translate_files import output_paths
    from semspace.data.images import list_images, load_image
    from semspace.data.transforms import build_transform, to_pil
    from semspace.eval.figures import figure_format, save_figure, translation_grid
    from semspace.retrieval.runs import load_run

    if out is None and grid is None:
        raise typer.BadParameter("give --out (a picture, or a folder for folders) or --grid FILE", param_hint="--out")
    if grid is not None:
        figure_format(grid)  # a bad suffix is refused before any work
    if direction not in ("a2b", "b2a"):
        raise ConfigError(f"--direction must be a2b or b2a, got {direction!r}")
    contents, exemplars = _pictures(content, "--content", list_images), _pictures(exemplar, "--exemplar", list_images)
    targets = output_paths(out, content, exemplar, contents, exemplars) if out is not None else None
    loaded, _ = load_run(run_dir, device)
    task: Any = require(loaded, "translate")
    names = list(task.domains())
    src, tgt = (names[0], names[1]) if direction == "a2b" else (names[1], names[0])
    pre = task.domains()[src].preprocess
    assert pre is not None  # image domains always have one
    transform = build_transform(pre)
    dev = next(task.parameters()).device

    def read(paths: list[Path]) -> Any:  # (N, C, H, W) model inputs, on the model's device
        return torch.cat([transform(load_image(p, background=pre.background, channels=pre.channels))[None]
                          for p in paths]).to(dev)  # fmt: skip

    xs_e = read(exemplars)  # (Ne, C, H, W)
    per = max(1, _PAIRS_PER_BATCH // len(exemplars))  # contents per batch: about _PAIRS_PER_BATCH pairs
    chunks = [contents[i : i + per] for i in range(0, len(contents), per)]
    single = len(contents) == 1 and len(exemplars) == 1 and content.is_file() and exemplar.is_file()
    if check_domains:  # every picture is checked before anything is written
        guess_c = [g for chunk in chunks for g in _guesses(task, read(chunk))]
        _check(task, (guess_c, contents, src), (_guesses(task, xs_e), exemplars, tgt), direction, names)
    cells: list[list[Any]] = []  # the grid's translations, and its first column (the contents)
    firsts: list[Any] = []
    written = 0
    with torch.no_grad():
        bar = track(chunks, total=len(chunks), description="translate", disable=single, transient=True)
        for k, chunk in enumerate(bar):
            xs_c = read(chunk)  # (B, C, H, W)
            c = xs_c.repeat_interleave(len(exemplars), dim=0)  # (B * Ne, C, H, W): content i with every exemplar
            e = xs_e.repeat(len(chunk), 1, 1, 1)  # (B * Ne, C, H, W)
            ys = task.translate(c, e, direction=direction).cpu().float()  # (B * Ne, C, H, W)
            ys = ys.view(len(chunk), len(exemplars), *ys.shape[1:])  # (B, Ne, C, H, W)
            for b, row in enumerate(ys):
                pictures = [to_pil(y, pre) for y in row]
                if targets is not None:
                    for picture, path in zip(pictures, targets[k * per + b], strict=True):
                        path.parent.mkdir(parents=True, exist_ok=True)
                        save_figure(picture, path)  # atomic: temp + rename
                    written += len(pictures)
                if grid is not None:
                    cells.append(pictures)
                    firsts.append(to_pil(xs_c[b].cpu(), pre))
    what = f"{len(contents)} content x {len(exemplars)} exemplar, {src} -> {tgt}"
    if targets is not None:
        typer.echo(f"wrote {targets[0][0] if single else f'{written} pictures to {out}'} ({what})")
    if grid is not None:
        save_figure(translation_grid(firsts, [to_pil(x, pre) for x in xs_e.cpu()], cells), grid)
        typer.echo(f"wrote the grid {grid} ({what})")


_PAIRS_PER_BATCH = 64  # (content, exemplar) pairs translated at once


def _pictures(path: Path, option: str, list_images: Any) -> list[Path]:
    if not path.exists():
        raise DataError(f"{option} {path}: no such file or folder")
    if path.is_dir():
        found = list(list_images(path))
        if not found:
            raise DataError(f"{option} {path}: the folder holds no pictures (.png, .jpg, ...)")
        return found
    return [path]


Guesses = tuple[list[str | None], list[Path], str]  # (the domain each picture looks like, its path, the expected)


def _guesses(task: Any, xs: Any) -> list[str | None]:
    """The domain each picture of ``xs (N, C, H, W)`` (model inputs) looks like, by the run's training colours
    (``guess_domain``); None where it cannot tell, or the task keeps no colour statistics."""
    guess = getattr(task, "guess_domain", None)
    return [None] * len(xs) if guess is None else list(guess(xs))


def _check(task: Any, content: Guesses, exemplar: Guesses, direction: str, names: list[str]) -> None:
    """A ``DataError`` naming the first picture that looks like the other domain (by the run's training colours);
    the advice to swap ``content`` and ``exemplar`` or flip ``--direction`` is given only where every picture would
    then fit (both need the same)."""
    (guess_c, paths_c, src), (guess_e, paths_e, tgt) = content, exemplar

    def fits(guesses: list[str | None], expected: str) -> bool:
        return all(g is None or g == expected for g in guesses)

    flipped = fits(guess_c, tgt) and fits(guess_e, src)
    for role, guesses, paths, expected in (("content", guess_c, paths_c, src), ("exemplar", guess_e, paths_e, tgt)):
        for path, got in zip(paths, guesses, strict=True):
            if got is None or got == expected:
                continue
            other = "b2a" if direction == "a2b" else "a2b"
            fix = (f"swap --content and --exemplar, use --direction {other}" if flipped
                   else f"use a picture of domain {expected!r} as the {role}")  # fmt: skip
            raise DataError(
                f"{role} {path} looks like domain {got!r}, but this model translates {direction} and expects the "
                f"{role} from domain {expected!r} (domains {names}); {fix}, or pass --no-check-domains"
            )
