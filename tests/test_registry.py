import pytest

from semspace.registry import Registry


def test_register_create_list() -> None:
    reg: Registry = Registry("widget")

    @reg.register("round_widget")
    class RoundWidget:
        def __init__(self, r: int = 1) -> None:
            self.r = r

    reg.add("square_widget", lambda side=2: ("square", side))
    assert reg.list() == ["round_widget", "square_widget"]
    assert reg.list("round*") == ["round_widget"]
    assert reg.create("round_widget", r=3).r == 3
    assert reg.create("square_widget") == ("square", 2)
    obj = RoundWidget(5)
    assert reg.create(obj) is obj  # an object is used as is
    assert reg.is_registered("round_widget") and "square_widget" in reg and len(reg) == 2


def test_unknown_name_lists_choices() -> None:
    reg: Registry = Registry("loss")
    reg.add("soft_triplet", object)
    with pytest.raises(KeyError, match="unknown loss 'triplet'.*soft_triplet"):
        reg.get("triplet")


def test_duplicate_name_raises() -> None:
    reg: Registry = Registry("loss")
    reg.add("a", object)
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a", int)


def test_unknown_arguments_are_a_config_error_naming_them() -> None:
    from semspace.errors import ConfigError

    reg: Registry = Registry("dataset")

    @reg.register("tiny")
    class Tiny:
        def __init__(self, *, n: int = 1, split: str = "train") -> None:
            self.n = n

    with pytest.raises(
        ConfigError, match=r"dataset 'tiny' got unknown argument\(s\) \['bogus'\]; it accepts \['n', 'split'\]"
    ):
        reg.create("tiny", bogus=3)
    assert reg.create("tiny", n=4).n == 4
