"""A user's own package registers datasets through an entry point of the group ``semspace.datasets``."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from semspace.data.registry import ENTRY_POINT_GROUP
from semspace.registry import provider_modules

PLUGIN = """
from semspace.data.registry import DATASETS


@DATASETS.register("my_numbers")
class MyNumbers:
    def __init__(self, n: int = 3) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n
"""


def test_a_dataset_of_an_installed_entry_point_provider_registers(tmp_path: Path) -> None:
    """A package with its metadata (a ``.dist-info`` with ``entry_points.txt``, as pip installs it) on the path."""
    (tmp_path / "my_plugin").mkdir()
    (tmp_path / "my_plugin" / "__init__.py").write_text("")
    (tmp_path / "my_plugin" / "datasets.py").write_text(textwrap.dedent(PLUGIN))
    dist = tmp_path / "my_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nmy_numbers = my_plugin.datasets\n")
    code = (
        "import sys\n"
        "from semspace.data import create_dataset, list_datasets\n"
        "assert 'my_plugin.datasets' not in sys.modules, 'imported before the lookup'\n"
        "print(len(create_dataset('my_numbers', n=4)), 'world_pairs' in list_datasets())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["4", "True"]  # the plugin's dataset, and the built-in providers still found


def test_the_checkout_declares_semspaces_own_providers_when_the_metadata_is_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An editable install made before the entry points were added has none: the checkout's pyproject has them."""
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: importlib.metadata.EntryPoints(()))
    assert {"semspace.world", "semspace.models.frozen_features"} <= set(provider_modules(ENTRY_POINT_GROUP))
