"""Where ``semspace translate`` writes: one picture per (content, exemplar), named after both, or one file.

* one content picture and one exemplar picture: ``--out FILE`` is the picture (``.png``, ``.jpg``, ``.webp``), as
  before; ``--out DIR`` (an existing folder, or a name without a suffix) writes ``DIR/<content stem>.png``;
* a folder on either side: ``--out DIR`` is a folder (created) holding one PNG per content picture, named
  ``<content stem>.png`` when there is one exemplar and ``<content stem>__<exemplar stem>.png`` for each exemplar
  when there are several; a content in a subfolder of ``--content`` keeps that subfolder under ``DIR``, an exemplar
  in a subfolder is named by its path with ``-`` between the parts (``sub-a``). ``--out grid.png`` with folders is
  refused, naming ``--grid`` (the grid is drawn only when asked for).

Two inputs that would be written to one file (``a.png`` and ``a.jpg``) are refused before any work, naming both;
so is an output folder inside an input folder (the next run would read the translations as inputs).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from semspace.errors import ConfigError, DataError

OUT_SUFFIX = ".png"  # lossless: a translation is compared pixel by pixel


def is_picture_name(path: Path) -> bool:
    """Whether ``path``'s suffix names a picture format Pillow writes (``.png``, ``.jpg``, ...)."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    return fmt is not None and fmt in Image.SAVE


def _rel(path: Path, root: Path) -> Path:
    """``path`` relative to the folder ``root`` it was listed from; a single file: its name."""
    return path.relative_to(root) if root.is_dir() else Path(path.name)


def output_paths(out: Path, content: Path, exemplar: Path, contents: list[Path],
                 exemplars: list[Path]) -> list[list[Path]]:  # fmt: skip
    """``paths[i][j]``: where the translation of ``contents[i]`` with ``exemplars[j]`` is written (module docstring).

    Raises:
        ConfigError: ``--out`` names a picture while an input is a folder, names no picture format for single
            pictures, is an existing file where a folder is needed, or lies inside an input folder.
        DataError: two inputs would be written to the same file.
    """
    single = content.is_file() and exemplar.is_file()
    if single and not out.is_dir() and out.suffix:
        if not is_picture_name(out):
            raise ConfigError(f"--out {out}: the suffix {out.suffix!r} names no picture format; use .png, .jpg or "
                              ".webp (or a folder)")  # fmt: skip
        return [[out]]
    if not single and is_picture_name(out) and not out.is_dir():
        folder = "--content" if content.is_dir() else "--exemplar"
        raise ConfigError(
            f"--out {out} names a picture, but {folder} is a folder: the translations are written one per file "
            f"into a folder (--out DIR); for the grid of them give --grid {out.name}"
        )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the translations")
    for option, root in (("--content", content), ("--exemplar", exemplar)):
        if root.is_dir() and out.resolve().is_relative_to(root.resolve()):
            raise ConfigError(f"--out {out} is inside the {option} folder {root}: the next run would read the "
                              "translations as inputs; write them elsewhere")  # fmt: skip
    several = len(exemplars) > 1
    ex_names = ["-".join(_rel(e, exemplar).with_suffix("").parts) for e in exemplars]
    paths: list[list[Path]] = []
    seen: dict[Path, tuple[Path, Path]] = {}
    for c in contents:
        rel = _rel(c, content)
        row = []
        for e, name in zip(exemplars, ex_names, strict=True):
            target = out / rel.parent / (f"{rel.stem}__{name}" if several else rel.stem)
            target = target.with_name(target.name + OUT_SUFFIX)
            if target in seen:
                a, b = seen[target]
                raise DataError(
                    f"{c} with {e} and {a} with {b} would both be written to {target} (the same names without "
                    "their suffixes); rename one of them"
                )
            seen[target] = (c, e)
            row.append(target)
        paths.append(row)
    return paths
