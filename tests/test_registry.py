"""The Registry class, its discovery of provider modules, and the registries of the library's families."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from semspace.registry import Registry, provider_modules


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


def test_unknown_name_is_one_line_with_the_closest_name() -> None:
    from semspace.errors import ConfigError
    from semspace.registry import UnknownNameError

    reg: Registry = Registry("composer")
    for name in ("tirg", "concat", "image_only"):
        reg.add(name, object)
    with pytest.raises(UnknownNameError) as err:
        reg.get("tirgg")
    exc = err.value
    assert isinstance(exc, ConfigError) and isinstance(exc, KeyError) and (exc.name, exc.key) == ("tirgg", "")
    assert str(exc) == "unknown composer 'tirgg'; did you mean 'tirg'? available: concat, image_only, tirg"
    assert str(exc.at("task_args.composer")).startswith("task_args.composer: unknown composer 'tirgg'; did you")
    with pytest.raises(UnknownNameError, match=r"^unknown composer 'film'; available: concat, image_only, tirg$"):
        reg.get("film")  # nothing close: no suggestion
    with pytest.raises(UnknownNameError, match="did you mean 'image_only'"):
        reg.check("image", key="x")  # the only name it starts
    with pytest.raises(UnknownNameError, match=r"^k: unknown composer \['a'\]"):
        reg.check(["a"], key="k")  # not even a string (a YAML list)
    reg.check("tirg")


def test_check_args_names_the_key_and_the_closest_argument() -> None:
    from semspace.errors import ConfigError

    reg: Registry = Registry("dataset")

    @reg.register("tiny")
    def tiny(*, n: int = 1, split: str = "train") -> None: ...

    reg.check_args("tiny", {"n": 2})
    with pytest.raises(ConfigError, match=r"^data.train.args: dataset 'tiny' got unknown argument\(s\) \['splt'\]; "
                       r"did you mean 'split'\? it accepts \['n', 'split'\]$"):  # fmt: skip
        reg.check_args("tiny", {"splt": "test"}, key="data.train.args")


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


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def plugin_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway package on ``sys.path``: a registry module and providers nobody imports explicitly."""
    name = f"semspace_plugins_{tmp_path.name.replace('-', '_')}"
    root = tmp_path / name
    _write(root / "__init__.py", "")
    _write(
        root / "widgets.py",
        f"""
        from semspace.registry import Registry

        WIDGETS = Registry("widget", discover=("{name}.providers",))
        """,
    )
    _write(root / "providers" / "__init__.py", "")
    _write(
        root / "providers" / "round.py",
        f"""
        from {name}.widgets import WIDGETS


        @WIDGETS.register("round_widget")
        class RoundWidget:
            pass
        """,
    )
    _write(root / "providers" / "nested" / "__init__.py", "")
    _write(
        root / "providers" / "nested" / "square.py",  # sub-packages are walked too
        f"""
        from {name}.widgets import WIDGETS

        WIDGETS.add("square_widget", dict)
        """,
    )
    _write(
        root / "providers" / "_private.py",  # names starting with "_" are skipped
        f"""
        from {name}.widgets import WIDGETS

        WIDGETS.add("private_widget", dict)
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for mod in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[mod]


def test_discover_imports_the_providers_on_first_lookup(plugin_package: str) -> None:
    widgets = importlib.import_module(f"{plugin_package}.widgets").WIDGETS
    round_module = f"{plugin_package}.providers.round"
    assert round_module not in sys.modules  # nobody imported the provider yet
    assert widgets.list() == ["round_widget", "square_widget"]
    assert round_module in sys.modules
    assert widgets.get("round_widget").__module__ == round_module
    assert f"{plugin_package}.providers._private" not in sys.modules
    assert len(widgets) == 2  # a second lookup does not import (or register) anything again


def test_discover_runs_on_membership_and_get(plugin_package: str) -> None:
    widgets = importlib.import_module(f"{plugin_package}.widgets").WIDGETS
    assert "square_widget" in widgets
    assert widgets.create("round_widget").__class__.__name__ == "RoundWidget"


def test_entry_point_providers_are_imported_on_first_lookup(
    plugin_package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry with an entry-point group imports the modules its entry points name (here faked), as a package
    above the registry's or a user's own package declares them."""
    _write(
        tmp_path / plugin_package / "gadgets.py",
        'from semspace.registry import Registry\n\nGADGETS = Registry("gadget", entry_points="test.gadgets")\n',
    )
    _write(tmp_path / plugin_package / "more" / "__init__.py", "")
    _write(
        tmp_path / plugin_package / "more" / "lamp.py",
        f"from {plugin_package}.gadgets import GADGETS\n\nGADGETS.add('lamp', dict)\n",
    )
    ep = importlib.metadata.EntryPoint(name="more", value=f"{plugin_package}.more", group="test.gadgets")
    other = importlib.metadata.EntryPoint(name="x", value="not_imported", group="test.other")
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda **kw: importlib.metadata.EntryPoints((ep, other)).select(**kw)
    )
    gadgets = importlib.import_module(f"{plugin_package}.gadgets").GADGETS
    assert f"{plugin_package}.more.lamp" not in sys.modules
    assert gadgets.list() == ["lamp"]
    assert provider_modules("test.gadgets") == [f"{plugin_package}.more"]


def test_registry_without_discover_imports_nothing() -> None:
    reg: Registry = Registry("widget")
    assert reg.list() == [] and len(reg) == 0


FAMILIES = {  # registry "module:NAME" -> (the package it discovers, entries it must list)
    "semspace.losses.registry:LOSSES": ("semspace.losses", {"info_nce", "soft_triplet", "batch_classification"}),
    "semspace.eval.protocols.registry:PROTOCOLS": (
        "semspace.eval.protocols",
        {"paired_retrieval", "composed_retrieval"},
    ),
    "semspace.models.registry:ENCODERS": (
        "semspace.models.encoders",
        {"small_cnn", "efficientnet_lite0", "lstm_text", "minilm_text", "mlp_features"},
    ),
    "semspace.models.composition.registry:COMPOSERS": (
        "semspace.models.composition",
        {"tirg", "concat", "image_only", "text_only"},
    ),
}


def _registry(ref: str) -> Registry:
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("ref", sorted(FAMILIES))
def test_each_family_lists_its_known_entries(ref: str) -> None:
    package, known = FAMILIES[ref]
    registry = _registry(ref)
    assert known <= set(registry.list())
    for name in registry.list():  # every entry comes from a module below the package the registry discovers
        assert registry.get(name).__module__.startswith(f"{package}."), name


def test_family_registries_discover_their_providers_in_a_fresh_process() -> None:
    """Only the registry modules are imported explicitly; each family still lists every entry."""
    refs = sorted(FAMILIES)
    code = (
        "import importlib\n"
        f"for ref in {refs!r}:\n"
        "    module, attr = ref.split(':')\n"
        "    print(','.join(getattr(importlib.import_module(module), attr).list()))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == [",".join(_registry(ref).list()) for ref in refs]
