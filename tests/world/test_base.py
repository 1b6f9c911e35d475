"""``world.base``: one split check for every kind and every world dataset, raising the same clear ConfigError."""

from __future__ import annotations

import re

import pytest

from semspace.data import create_dataset
from semspace.errors import ConfigError
from semspace.world import create_world
from semspace.world.base import SPLIT_KEYS, check_split

VALID = re.escape("available: ['train', 'val', 'test']")


def test_check_split_returns_stream_keys_and_names_everything_on_error() -> None:
    assert [check_split(s, "x") for s in ("train", "val", "test")] == [0, 1, 2] == list(SPLIT_KEYS.values())
    with pytest.raises(ConfigError, match=rf"^world_scenes: unknown split 'dev'; {VALID}$"):
        check_split("dev", "world_scenes")


@pytest.mark.parametrize("name", ["world_scenes", "world_objects", "world_pairs"])
def test_every_world_dataset_rejects_a_bad_split_by_name(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{name}: unknown split 'training'; {VALID}$"):
        create_dataset(name, split="training", n=2, size=16)
    assert len(create_dataset(name, split="val", n=2, size=16)) == 2


@pytest.mark.parametrize("kind", ["scenes", "objects", "pairs"])
def test_every_world_kind_rejects_a_bad_split_by_name(kind: str) -> None:
    world = create_world(kind, seed=0, size=16)
    with pytest.raises(ConfigError, match=rf"^{kind} world: unknown split 'dev'; {VALID}$"):
        world.render_item(0, "dev")
    with pytest.raises(ConfigError, match=rf"^{kind} world: unknown split 'dev'; {VALID}$"):
        world.annotation(0, "dev")
