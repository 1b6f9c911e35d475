"""``WORLD_KINDS``: every kind registers itself by decorator; ``create_world`` / ``KINDS`` are built from it."""

from __future__ import annotations

import subprocess
import sys

import pytest

import semspace.world as world_pkg
from semspace.errors import ConfigError
from semspace.world import KINDS, WORLD_KINDS, WorldKind, create_world, list_world_kinds
from semspace.world.objects.world import ObjectWorld
from semspace.world.pairs.world import PairWorld
from semspace.world.scenes.world import SceneWorld


def test_kinds_come_from_the_registry() -> None:
    assert list_world_kinds() == ["objects", "pairs", "scenes"] == list(KINDS) == list(world_pkg.KINDS)
    assert WORLD_KINDS.get("scenes") is SceneWorld and WORLD_KINDS.get("objects") is ObjectWorld
    assert WORLD_KINDS.get("pairs") is PairWorld
    assert list_world_kinds("p*") == ["pairs"]


@pytest.mark.parametrize("kind", ["scenes", "objects", "pairs"])
def test_create_world_builds_each_kind(kind: str) -> None:
    w = create_world(kind, seed=3, size=16)
    assert isinstance(w, WorldKind) and w.name == kind and w.seed == 3 and w.size == 16
    assert type(w) is WORLD_KINDS.get(kind)


def test_create_world_errors_are_config_errors_naming_the_choices() -> None:
    with pytest.raises(
        ConfigError, match=r"^unknown world kind 'scene'; did you mean 'scenes'\? available: objects, pairs, scenes$"
    ):
        create_world("scene")
    with pytest.raises(ConfigError, match=r"world kind 'pairs' got unknown argument\(s\) \['colour'\]"):
        create_world("pairs", colour=True)


def test_kinds_are_discovered_without_importing_them_first() -> None:
    """A fresh process that imports only ``semspace.world`` finds every kind (the registry imports them)."""
    code = (
        "import sys\n"
        "import semspace.world as w\n"
        "assert 'semspace.world.scenes.world' not in sys.modules\n"
        "print(','.join(w.KINDS), type(w.create_world('scenes', size=16)).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "objects,pairs,scenes SceneWorld"
