"""Scene specs: the ground truth of the world's *scenes* kind (CSS/CLEVR-like scenes, DESIGN §3).

A scene is 1-5 objects on a 3x3 grid, each with a shape, one of the eight CSS colours
(``data/palette.py``, the palette of TIRG's CSS dataset), a size and one grid cell. At most one object
occupies a cell. The objects are kept sorted by cell, so ``==`` on two :class:`SceneSpec` is the same as
equality of their canonical :meth:`SceneSpec.key` strings, which define the retrieval ground truth of
the CSS-style composed retrieval of LTT (Vo et al., arXiv:1903.00793) and TIRG (arXiv:1812.07119).

Where an object lands inside its cell, the camera and the light are *view* variation chosen by the
renderers; they are never part of the spec or its key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from semspace.data.palette import COLOR_NAMES
from semspace.errors import DataError

SHAPES: tuple[str, ...] = ("cube", "sphere", "cylinder")  # 3D names; blobs2d draws square, circle, triangle
SHAPES_2D: dict[str, str] = {"cube": "square", "sphere": "circle", "cylinder": "triangle"}
COLORS: tuple[str, ...] = COLOR_NAMES
SIZES: tuple[str, ...] = ("small", "large")
CELLS: tuple[str, ...] = (
    "top left", "top", "top right",
    "left", "center", "right",
    "bottom left", "bottom", "bottom right",
)  # fmt: skip  # cell i sits at row i // 3 (0 = top = far), column i % 3 (0 = left)
GRID = 3
MAX_OBJECTS = len(CELLS)


def _check(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise DataError(f"unknown object {what} {value!r}; expected one of {list(choices)}")


@dataclass(frozen=True)
class ObjectSpec:
    """One object of a scene.

    Args:
        shape: one of ``SHAPES``.
        color: one of the eight CSS colour names (``COLORS``).
        size: ``"small"`` or ``"large"``.
        cell: grid cell index 0-8 (row-major, 0 = top left); see ``CELLS`` for the names.
    """

    shape: str
    color: str
    size: str
    cell: int

    def __post_init__(self) -> None:
        _check(self.shape, SHAPES, "shape")
        _check(self.color, COLORS, "color")
        _check(self.size, SIZES, "size")
        if not isinstance(self.cell, int | np.integer) or not 0 <= int(self.cell) < MAX_OBJECTS:
            raise DataError(f"object cell must be an int in [0, {MAX_OBJECTS - 1}], got {self.cell!r}")
        object.__setattr__(self, "cell", int(self.cell))

    @property
    def position(self) -> str:
        """The cell's name ("top left", "center", ...)."""
        return CELLS[self.cell]

    @property
    def row_col(self) -> tuple[int, int]:
        """(row, column) of the cell; row 0 is the top (far) row."""
        return divmod(self.cell, GRID)

    @property
    def noun_phrase(self) -> str:
        """``"large red cube"``: size, colour and shape, without position."""
        return f"{self.size} {self.color} {self.shape}"

    def key(self) -> str:
        """Canonical key of the object: ``"top left:large red cube"``."""
        return f"{self.position}:{self.noun_phrase}"

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable fields (``cell`` as index, plus its ``position`` name for readers)."""
        return {
            "shape": self.shape,
            "color": self.color,
            "size": self.size,
            "cell": self.cell,
            "position": self.position,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ObjectSpec:
        """Inverse of :meth:`to_json` (the ``position`` field is ignored when ``cell`` is present)."""
        try:
            cell = d["cell"] if "cell" in d else CELLS.index(d["position"])
            return cls(shape=d["shape"], color=d["color"], size=d["size"], cell=int(cell))
        except (KeyError, ValueError) as e:
            raise DataError(f"object spec {d!r} needs shape, color, size and cell (or a valid position): {e}") from None


@dataclass(frozen=True)
class SceneSpec:
    """A scene: objects in distinct cells, stored sorted by cell (the canonical order).

    Args:
        objects: the objects, in any order; they are sorted by cell on construction.
    """

    objects: tuple[ObjectSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        objs = tuple(sorted(self.objects, key=lambda o: o.cell))
        cells = [o.cell for o in objs]
        if len(set(cells)) != len(cells):
            raise DataError(f"two objects share a cell in scene {[o.key() for o in objs]}; one object per cell")
        object.__setattr__(self, "objects", objs)

    def __len__(self) -> int:
        return len(self.objects)

    def key(self) -> str:
        """Canonical key: the object keys in cell order joined by ``"; "`` (equal keys = equal scenes)."""
        return "; ".join(o.key() for o in self.objects)

    @property
    def free_cells(self) -> tuple[int, ...]:
        """Cells with no object, ascending."""
        used = {o.cell for o in self.objects}
        return tuple(c for c in range(MAX_OBJECTS) if c not in used)

    def at(self, cell: int) -> ObjectSpec | None:
        """The object in ``cell``, or None."""
        return next((o for o in self.objects if o.cell == cell), None)

    def add(self, obj: ObjectSpec) -> SceneSpec:
        """A new scene with ``obj`` added (its cell must be free)."""
        return SceneSpec((*self.objects, obj))

    def remove(self, cell: int) -> SceneSpec:
        """A new scene without the object in ``cell``."""
        if self.at(cell) is None:
            raise DataError(f"no object in cell {cell} of scene {self.key()!r}")
        return SceneSpec(tuple(o for o in self.objects if o.cell != cell))

    def change(self, cell: int, **attrs: Any) -> SceneSpec:
        """A new scene where the object in ``cell`` has ``attrs`` (shape/color/size) replaced."""
        old = self.at(cell)
        if old is None:
            raise DataError(f"no object in cell {cell} of scene {self.key()!r}")
        return SceneSpec(tuple(replace(o, **attrs) if o.cell == cell else o for o in self.objects))

    def to_json(self) -> list[dict[str, Any]]:
        """The objects as a JSON list, in canonical order."""
        return [o.to_json() for o in self.objects]

    @classmethod
    def from_json(cls, objs: list[dict[str, Any]]) -> SceneSpec:
        """Inverse of :meth:`to_json`."""
        return cls(tuple(ObjectSpec.from_json(d) for d in objs))


def sample_object(rng: np.random.Generator, cell: int) -> ObjectSpec:
    """A uniformly random object (shape, colour, size) in ``cell``."""
    return ObjectSpec(
        shape=SHAPES[rng.integers(len(SHAPES))],
        color=COLORS[rng.integers(len(COLORS))],
        size=SIZES[rng.integers(len(SIZES))],
        cell=cell,
    )


def sample_scene(rng: np.random.Generator, min_objects: int = 1, max_objects: int = 5) -> SceneSpec:
    """A random scene: uniform object count in [min_objects, max_objects], distinct uniform cells.

    Args:
        rng: the generator to draw from (the caller makes it a pure function of the item).
        min_objects: fewest objects (>= 0).
        max_objects: most objects (<= 9, the number of cells).
    """
    if not 0 <= min_objects <= max_objects <= MAX_OBJECTS:
        raise DataError(f"need 0 <= min_objects <= max_objects <= {MAX_OBJECTS}, got {min_objects}, {max_objects}")
    n = int(rng.integers(min_objects, max_objects + 1))
    cells = rng.choice(MAX_OBJECTS, size=n, replace=False)
    return SceneSpec(tuple(sample_object(rng, int(c)) for c in cells))
