"""``semspace --version`` / ``-V``: the versions of semspace and torch, then exit 0 without running a command."""

from __future__ import annotations

import pytest
import torch

from semspace.cli.main import main
from semspace.version import __version__


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([flag]) == 0
    assert capsys.readouterr().out.strip() == f"semspace {__version__} (torch {torch.__version__})"


def test_version_command_still_prints_the_bare_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__
