"""``semspace demo`` from an installed wheel: the configs it loads are package data (``semspace/configs/``).

The wheel is built from a copy of the checkout (``pip wheel --no-build-isolation``, about 2 s) and unpacked; the demo's
config lookup then runs from the unpacked wheel in a folder outside the checkout, so a config missing from
``[tool.setuptools.package-data]`` fails here. The full check is by hand: ``pip install .`` into a fresh venv, then
``semspace demo --quick`` in an empty folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from semspace.demo import demo_run_cfg

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_ships_the_demo_configs(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path)]
    subprocess.run([*build, str(tree)], check=True, capture_output=True, timeout=120)
    (wheel,) = tmp_path.glob("semspace-*.whl")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path / "unpacked")
        shipped = {n for n in z.namelist() if n.startswith("semspace/configs/")}
    configs = (ROOT / "src" / "semspace" / "configs").rglob("*.yaml")
    assert {p.relative_to(ROOT / "src").as_posix() for p in configs} == shipped

    code = (
        "import json, semspace; from semspace.demo import check_configs, demo_run_cfg; "
        "print(json.dumps([semspace.__file__, check_configs(), demo_run_cfg(True).train.max_steps]))"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "unpacked")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    module, configs, steps = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(module).is_relative_to(tmp_path / "unpacked")  # not the checkout's package
    quick_steps = demo_run_cfg(True).train.max_steps  # the checkout's: the wheel's config must be the same
    assert len(configs) == 5 and "configs/transfer/world_2d_to_3d.yaml" in configs and steps == quick_steps
