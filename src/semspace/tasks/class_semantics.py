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
the decoder the same input range whichever is used). A class without a vector is a ``DataError`` naming it.

The ``ssgn`` task (``tasks/ssgn.py``) resolves its ``semantics`` here; the module sits in the tasks layer because
its sources span the world (attributes, descriptions) and the models (MiniLM).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from semspace.data.datasets.sbir_benchmarks import letters
from semspace.errors import ConfigError, DataError

SOURCES = ("attributes", "minilm_names", "minilm_descriptions", "npz:PATH")


def _world_names(names: Sequence[str], source: str) -> None:
    from semspace.world.objects.catalog import CATEGORIES

    unknown = [n for n in names if n not in CATEGORIES]
    if unknown:
        raise DataError(
            f"class semantics {source!r} exist only for the world's categories; no side information for "
            f"{unknown[:10]}; use minilm_names or npz:PATH for these classes"
        )


def _minilm(texts: list[str]) -> np.ndarray:
    from semspace.models.encoders.pretrained import load_minilm

    return np.asarray(load_minilm("cpu").encode(texts, normalize_embeddings=True, batch_size=128), np.float32)


def read_npz_semantics(path: str | Path, names: Sequence[str]) -> np.ndarray:
    """Rows of ``names`` from a ``class_names`` + ``vectors`` ``.npz`` (matched by letters only).

    Raises:
        DataError: the file is missing or malformed, or some classes have no vector (they are named).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"class semantics file {p} does not exist (expected an .npz with class_names and vectors)")
    with np.load(p, allow_pickle=False) as z:
        if "class_names" not in z or "vectors" not in z:
            raise DataError(f"{p}: expected arrays 'class_names' (C,) and 'vectors' (C, S), found {sorted(z.files)}")
        table_names, vectors = [str(n) for n in z["class_names"]], np.asarray(z["vectors"], np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(table_names):
        raise DataError(f"{p}: vectors {vectors.shape} do not match {len(table_names)} class_names")
    rows = {letters(n): vectors[i] for i, n in enumerate(table_names)}
    missing = [n for n in names if letters(n) not in rows]
    if missing:
        raise DataError(
            f"{p} has no side information for {len(missing)} class(es): {missing[:10]} (names are matched by "
            "letters only); add their vectors or drop the classes from the split"
        )
    return np.stack([rows[letters(n)] for n in names])


def class_semantics(source: str, names: Sequence[str]) -> np.ndarray:
    """``(C, S)`` float32 unit rows of ``names`` from ``source`` (module docstring).

    Raises:
        ConfigError: an unknown source.
        DataError: a class without side information in that source.
    """
    names = [str(n) for n in names]
    if source == "attributes":
        _world_names(names, source)
        from semspace.world.objects.attributes import attributes

        table = np.stack([attributes(n) for n in names]).astype(np.float32)
    elif source == "minilm_names":
        table = _minilm([n.replace("_", " ").replace("-", " ") for n in names])
    elif source == "minilm_descriptions":
        _world_names(names, source)
        from semspace.world.objects.attributes import describe

        table = _minilm([describe(n) for n in names])
    elif source.startswith("npz:"):
        table = read_npz_semantics(source[4:], names)
    else:
        raise ConfigError(f"ssgn: semantics {source!r}; expected one of {SOURCES}")
    norms = np.linalg.norm(table, axis=1, keepdims=True)
    if (norms == 0).any():
        zero = [n for n, z in zip(names, norms[:, 0] == 0, strict=True) if z]
        raise DataError(f"class semantics {source!r}: the vector of {zero[:10]} is all zeros")
    return (table / norms).astype(np.float32)
