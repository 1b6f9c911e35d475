"""The one thread knob of every command (issue 22): ``semspace --threads N`` / ``SEMSPACE_THREADS``, its ``auto``
default (torch's, capped by the usable cores), invalid values refused in one line, and the OpenMP wait policy set
before torch loads."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import torch

from semspace.cli.main import main
from semspace.utils import threads


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    before = torch.get_num_threads()
    monkeypatch.delenv(threads.ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    yield
    torch.set_num_threads(before)


def test_option_sets_torch_threads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--threads", "1", "version"]) == 0
    assert torch.get_num_threads() == 1
    assert capsys.readouterr().out.strip()


def test_environment_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.set_num_threads(2)
    monkeypatch.setenv(threads.ENV, "1")
    assert main(["version"]) == 0
    assert torch.get_num_threads() == 1


def test_option_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.ENV, "2")
    assert main(["--threads", "1", "version"]) == 0
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("argv, env", [(["--threads", "0"], None), (["--threads", "many"], None), ([], "-3")])
def test_invalid_values_are_one_line(
    argv: list[str], env: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if env is not None:
        monkeypatch.setenv(threads.ENV, env)
    assert main([*argv, "version"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "'auto'" in err, err


def test_auto_is_capped_by_the_usable_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_TORCH_DEFAULT", 8)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)  # e.g. a container's CPU quota on a bigger host
    assert threads.auto_threads() == 2
    monkeypatch.setattr(threads, "usable_cores", lambda: 16)
    assert threads.auto_threads() == 8
    assert main(["version"]) == 0 and torch.get_num_threads() == 8


def test_omp_num_threads_leaves_torch_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.apply_threads(None) == 1  # torch read OMP_NUM_THREADS itself at start-up
    assert threads.apply_threads("2") == 2  # the knob still wins


def test_parse() -> None:
    assert threads.parse_threads(" AUTO ") is None and threads.parse_threads("4") == 4
    with pytest.raises(ValueError, match="'auto'"):
        threads.parse_threads("1.5")


@pytest.mark.parametrize("env, expected", [({}, "PASSIVE"), ({"OMP_WAIT_POLICY": "active"}, "active")])
def test_wait_policy_is_set_before_torch_loads(env: dict[str, str], expected: str) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = "import os, semspace, torch; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected
