"""The data layer never imports the world (the world builds on data), yet finds the world's datasets by name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import semspace.data
from semspace.data import list_datasets
from semspace.data.registry import DATASETS, PROVIDERS


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (module level, inside functions, under TYPE_CHECKING)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_data_module_imports_the_world() -> None:
    files = sorted(Path(semspace.data.__file__).parent.rglob("*.py"))
    assert len(files) > 10
    bad = {
        str(f): sorted(m for m in _imports(f) if m == "semspace.world" or m.startswith("semspace.world."))
        for f in files
    }
    assert {f: m for f, m in bad.items() if m} == {}


def test_registry_discovers_loaders_and_world_datasets() -> None:
    assert PROVIDERS == ("semspace.data.datasets", "semspace.world", "semspace.models.frozen_features")
    names = list_datasets()
    assert "frozen_features" in names  # a dataset of the models layer, found by name
    assert {"css3d", "fashion200k", "mit_states", "folder", "features", "pairs_table", "two_domain"} <= set(names)
    assert {"world_scenes", "world_objects", "world_pairs"} <= set(names)
    assert list_datasets("world_*") == ["world_objects", "world_pairs", "world_scenes"] == DATASETS.list("world_*")


def test_a_fresh_process_finds_world_datasets_by_name() -> None:
    """Nobody imports the world's dataset modules first: the registry's discovery does."""
    code = (
        "import sys\n"
        "from semspace.data import create_dataset\n"
        "assert 'semspace.world.pairs.dataset' not in sys.modules, 'imported before the lookup'\n"
        "ds = create_dataset('world_pairs', n=3, size=16)\n"
        "print(type(ds).__name__, len(ds))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "PairDataset 3"
