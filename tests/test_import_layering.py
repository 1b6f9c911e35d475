"""Imports point down the layers of docs/architecture.md (STYLE A.1).

Two checks: the import-linter contract of ``pyproject.toml`` (``[tool.importlinter]``, also run by ``make lint``)
on the static import graph, and a fresh interpreter importing every library module with the applications
(cli, service) blocked, which also catches imports the static graph cannot see.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import semspace

APP_PACKAGES = ("semspace.cli", "semspace.service")
REPO_ROOT = Path(__file__).resolve().parents[1]


def _library_modules() -> list[str]:
    mods = []
    for info in pkgutil.walk_packages(semspace.__path__, "semspace."):
        if info.name.startswith(APP_PACKAGES) or info.name == "semspace.__main__":
            continue
        mods.append(info.name)
    return sorted(mods)


def test_library_never_imports_the_applications() -> None:
    mods = _library_modules()
    assert "semspace.engine.trainer" in mods and "semspace.eval.metrics" in mods
    code = (
        "import sys, importlib\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.startswith({APP_PACKAGES!r}):\n"
        "            raise ImportError('library module imported ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_import_linter_contract_is_kept() -> None:
    """``lint-imports`` on pyproject.toml's contract; a broken contract fails with the linter's report."""
    pytest.importorskip("importlinter", reason="import-linter is in the dev extra (make setup installs it)")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    cmd = [str(lint_imports)] if lint_imports.exists() else [sys.executable, "-m", "importlinter.cli"]
    proc = subprocess.run([*cmd, "--no-cache", "--no-logo"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)
    report = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"import-linter contract broken:\n{report[-6000:]}", pytrace=False)
    assert "Contracts: 1 kept, 0 broken." in report, report[-2000:]
