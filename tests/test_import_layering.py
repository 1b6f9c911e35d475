"""Library modules import without the applications (STYLE A.1): cli/service are blocked while importing."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import semspace

APP_PACKAGES = ("semspace.cli", "semspace.service")


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
