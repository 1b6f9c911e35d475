"""The data layer never imports the world (the world builds on data), nor names a package above it, yet finds the
datasets of the packages above it: they are entry points of the group ``semspace.datasets``."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import semspace.data
from semspace.data import list_datasets
from semspace.data.registry import DATASETS, ENTRY_POINT_GROUP
from semspace.registry import provider_modules

UPPER = re.compile(r"^semspace\.(world|models|losses|eval|index|tasks|engine|retrieval|demo|service|cli)(\.\w+)*$")


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


def _data_files() -> list[Path]:
    files = sorted(Path(semspace.data.__file__).parent.rglob("*.py"))
    assert len(files) > 10
    return files


def test_no_data_module_imports_the_world() -> None:
    bad = {
        str(f): sorted(m for m in _imports(f) if m == "semspace.world" or m.startswith("semspace.world."))
        for f in _data_files()
    }
    assert {f: m for f, m in bad.items() if m} == {}


def test_no_data_module_names_a_package_above_data() -> None:
    """Not even as a string for a run-time import: the providers above data are entry points."""
    bad = {
        str(f): sorted(
            n.value
            for n in ast.walk(ast.parse(f.read_text(encoding="utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and UPPER.match(n.value)
        )
        for f in _data_files()
    }
    assert {f: s for f, s in bad.items() if s} == {}


def test_registry_discovers_loaders_and_world_datasets() -> None:
    assert {"semspace.world", "semspace.models.frozen_features"} <= set(provider_modules(ENTRY_POINT_GROUP))
    names = list_datasets()
    assert "frozen_features" in names  # a dataset of the models layer, found through its entry point
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
