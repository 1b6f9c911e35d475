"""Class semantics, SSGN's side information: one vector per class name, from one of four sources.

* ``attributes``: the world's 123-d part/attribute vectors (``world.objects.attributes``; world classes only);
* ``minilm_names``: all-MiniLM-L6-v2 (offline, 384-d) of the class name (``teddy_bear`` -> ``"teddy bear"``);
* ``minilm_descriptions``: MiniLM of the class's part description (``world.objects.attributes.describe``, e.g.
  ``"a cup: a tapered body with a handle and a saucer"``; world classes only);
* ``npz:PATH``: a user's table, ``class_names`` (str) and ``vectors`` (C, S) in one ``.npz``, e.g. the word2vec
  class vectors of ``sbir_class_semantics/`` for Sketchy and TU-Berlin. Names are matched **by letters only**
  (``re.sub('[^a-z]', '', name.lower())``, that README's rule: ``teddy-bear``, ``teddy_bear`` and
  ``teddy bear`` are one class).

Every row is L2-normalised (a design choice: the sources differ in scale by orders of magnitude; unit rows give
the decoder the same input range whichever is used). A class without a vector is a ``DataError`` naming it and
what to do. ``aliases`` (``task_args.class_aliases``, ``{class name: name in the source}``) look a class up under
another name, e.g. ``{sofa: couch}`` for a word-vector table that spells it so, or ``{mug: cup}`` to give a user's
class the world's attributes of a similar one; ``missing_semantics`` says which names a source cannot embed
without raising (``semspace classify`` and sketch search use it for class names given at query time).

The ``ssgn`` task (``tasks/ssgn.py``) resolves its ``semantics`` here; the module sits in the tasks layer because
its sources span the world (attributes, descriptions) and the models (MiniLM).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from semspace.data.datasets.sbir_benchmarks import letters
from semspace.errors import ConfigError, DataError

SOURCES = ("attributes", "minilm_names", "minilm_descriptions", "npz:PATH")


ALIAS_HINT = "task_args.class_aliases (e.g. {sofa: couch})"


def _looked_up(names: Sequence[str], aliases: Mapping[str, str] | None) -> list[str]:
    """The name each class is looked up under: its alias (matched by letters only) or itself."""
    table = {letters(k): str(v) for k, v in (aliases or {}).items()}
    return [table.get(letters(n), n) for n in names]


def _world_names(names: Sequence[str], source: str, asked: Sequence[str] | None = None) -> None:
    from semspace.world.objects.catalog import CATEGORIES

    unknown = [a for a, n in zip(asked or names, names, strict=True) if n not in CATEGORIES]
    if unknown:
        raise DataError(
            f"class semantics {source!r} exist only for the world's 68 categories; no side information for "
            f"{unknown[:10]}; train with semantics minilm_names or npz:PATH (word vectors) for these classes, or map "
            f"each to a world category with {ALIAS_HINT}"
        )


def _minilm(texts: list[str]) -> np.ndarray:
    from semspace.models.encoders.pretrained import load_minilm

    return np.asarray(load_minilm("cpu").encode(texts, normalize_embeddings=True, batch_size=128), np.float32)


def _npz_rows(path: str | Path) -> dict[str, tuple[str, np.ndarray]]:
    """``{letters of a name: (name, (S,) vector)}`` of a ``class_names`` + ``vectors`` ``.npz``."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"class semantics file {p} does not exist (expected an .npz with class_names and vectors)")
    with np.load(p, allow_pickle=False) as z:
        if "class_names" not in z or "vectors" not in z:
            raise DataError(f"{p}: expected arrays 'class_names' (C,) and 'vectors' (C, S), found {sorted(z.files)}")
        table_names, vectors = [str(n) for n in z["class_names"]], np.asarray(z["vectors"], np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(table_names):
        raise DataError(f"{p}: vectors {vectors.shape} do not match {len(table_names)} class_names")
    return {letters(n): (n, vectors[i]) for i, n in enumerate(table_names)}


def read_npz_semantics(path: str | Path, names: Sequence[str], asked: Sequence[str] | None = None) -> np.ndarray:
    """Rows of ``names`` from a ``class_names`` + ``vectors`` ``.npz`` (matched by letters only); ``asked`` are the
    names as the user gave them (before aliases), for the message.

    Raises:
        DataError: the file is missing or malformed, or some classes have no vector (they are named, with the
            table's closest names and how to alias them).
    """
    rows = _npz_rows(path)
    missing = [(a, n) for a, n in zip(asked or names, names, strict=True) if letters(n) not in rows]
    if missing:
        close = []
        for a, n in missing[:5]:
            near = difflib.get_close_matches(letters(n), list(rows), n=2, cutoff=0.6)
            if near:
                close.append(f"{a} -> {' or '.join(rows[k][0] for k in near)}?")
        raise DataError(
            f"{path} has no side information (no word vector) for {len(missing)} class(es): "
            f"{[a for a, _ in missing][:10]} (names are matched by letters only); add their vectors to the table, "
            f"or map each to a name the table has with {ALIAS_HINT}"
            + (f"; close names in the table: {', '.join(close)}" if close else "")
        )
    return np.stack([rows[letters(n)][1] for n in names])


def missing_semantics(source: str, names: Sequence[str], aliases: Mapping[str, str] | None = None) -> list[str]:
    """The names of ``names`` that ``source`` has no side information for (MiniLM of names embeds any name).

    Raises:
        ConfigError: an unknown source.
        DataError: an ``npz:`` file that is missing or malformed.
    """
    looked = _looked_up([str(n) for n in names], aliases)
    if source == "minilm_names":
        return []
    if source in ("attributes", "minilm_descriptions"):
        from semspace.world.objects.catalog import CATEGORIES

        return [a for a, n in zip(names, looked, strict=True) if n not in CATEGORIES]
    if source.startswith("npz:"):
        rows = _npz_rows(source[4:])
        return [a for a, n in zip(names, looked, strict=True) if letters(n) not in rows]
    raise ConfigError(f"ssgn: semantics {source!r}; expected one of {SOURCES}")


def class_semantics(source: str, names: Sequence[str], aliases: Mapping[str, str] | None = None) -> np.ndarray:
    """``(C, S)`` float32 unit rows of ``names`` from ``source``, each looked up under its alias if it has one
    (module docstring).

    Raises:
        ConfigError: an unknown source.
        DataError: a class without side information in that source (named, with what to do).
    """
    asked = [str(n) for n in names]
    names = _looked_up(asked, aliases)
    if source == "attributes":
        _world_names(names, source, asked)
        from semspace.world.objects.attributes import attributes

        table = np.stack([attributes(n) for n in names]).astype(np.float32)
    elif source == "minilm_names":
        table = _minilm([n.replace("_", " ").replace("-", " ") for n in names])
    elif source == "minilm_descriptions":
        _world_names(names, source, asked)
        from semspace.world.objects.attributes import describe

        table = _minilm([describe(n) for n in names])
    elif source.startswith("npz:"):
        table = read_npz_semantics(source[4:], names, asked)
    else:
        raise ConfigError(f"ssgn: semantics {source!r}; expected one of {SOURCES}")
    norms = np.linalg.norm(table, axis=1, keepdims=True)
    if (norms == 0).any():
        zero = [n for n, z in zip(asked, norms[:, 0] == 0, strict=True) if z]
        raise DataError(f"class semantics {source!r}: the vector of {zero[:10]} is all zeros")
    return (table / norms).astype(np.float32)
