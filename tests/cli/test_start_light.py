"""The CLI starts without torch (issue 20): importing ``semspace`` or ``semspace.cli.main``, ``--help``,
``--version``, ``version``, ``index info`` on a missing folder and usage errors leave torch, faiss, PIL, fastapi and
ray unimported; a command that runs still gets its logging and threads; the lazy ``semspace.<name>`` still resolve.

Each case runs in a fresh interpreter, which reports the heavy modules left in ``sys.modules`` after the command.
The timing target (< 0.5 s a process) is ``benchmarks/cli_start.py``'s, not a test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import semspace

HEAVY = ("torch", "faiss", "PIL", "fastapi", "ray")

PROBE = """
import json, logging, sys
out, argv = sys.argv[1], json.loads(sys.argv[2])
code = None
if argv is None:
    import semspace, semspace.cli.main
else:
    from semspace.cli.main import main
    code = main(argv)
torch = sys.modules.get("torch")
doc = {
    "code": code,
    "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[3]))),
    "threads": torch.get_num_threads() if torch is not None else None,
    "semspace_logging": any(getattr(h, "_semspace", False) for h in logging.getLogger().handlers),
}
with open(out, "w") as f:
    json.dump(doc, f)
"""


def _probe(tmp_path: Path, argv: list[str] | None, env: dict[str, str] | None = None) -> dict[str, object]:
    """Runs ``main(argv)`` (None: only the imports) in a fresh interpreter; its exit code and heavy modules."""
    out = tmp_path / "probe.json"
    base = {k: v for k, v in os.environ.items() if k not in ("SEMSPACE_THREADS", "OMP_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", PROBE, str(out), json.dumps(argv), json.dumps(HEAVY)],
                          env={**base, **(env or {})}, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    result: dict[str, object] = json.loads(out.read_text())
    return result


def test_importing_semspace_and_the_cli_leaves_the_libraries_out(tmp_path: Path) -> None:
    assert _probe(tmp_path, None)["loaded"] == []


CASES = [
    (["--help"], 0),
    (["--version"], 0),
    (["version"], 0),
    (["index", "info", "--index", "no_index"], 1),
    (["index", "info"], 2),  # a missing option
    (["trian"], 2),  # an unknown command
    (["version", "--bogus"], 2),  # an unknown option
    (["--threads", "many", "version"], 2),  # a bad --threads
    (["world", "generate", "--help"], 0),
    (["index", "build", "--help"], 0),
    (["search", "--help"], 0),
    (["serve", "--help"], 0),
    (["eval"], 2),
    (["world", "preview", "--kind", "scenes", "--out", "x.png", "--size", "4"], 2),  # --size below its minimum
]


@pytest.mark.parametrize(("argv", "code"), CASES, ids=[" ".join(argv) for argv, _ in CASES])
def test_start_help_and_one_line_errors_import_no_library(tmp_path: Path, argv: list[str], code: int) -> None:
    got = _probe(tmp_path, argv)
    assert got["code"] == code, got
    assert got["loaded"] == [], got


def test_the_threads_variable_is_checked_without_torch(tmp_path: Path) -> None:
    assert _probe(tmp_path, ["index", "--help"], env={"SEMSPACE_THREADS": "2"})["loaded"] == []
    got = _probe(tmp_path, ["version"], env={"SEMSPACE_THREADS": "-3"})
    assert got["code"] == 2 and got["loaded"] == [], got


def test_a_command_that_runs_gets_its_threads_and_logging(tmp_path: Path) -> None:
    """The set-up moved from start-up to the command (cli/startup.py): it still happens, and the probe sees torch."""
    argv = ["--threads", "1", "world", "preview", "--kind", "pairs", "--out", "sheet.png", "--n", "1", "--size", "16"]
    got = _probe(tmp_path, argv)
    assert got["code"] == 0 and (tmp_path / "sheet.png").is_file(), got
    assert "torch" in got["loaded"] and got["threads"] == 1 and got["semspace_logging"] is True, got


def test_lazy_public_names_resolve_to_their_family_objects() -> None:
    import importlib

    lazy = [name for name in semspace.__all__ if name != "__version__"]
    assert lazy, semspace.__all__
    for name in lazy:
        family = importlib.import_module(semspace._LAZY[name])
        assert getattr(semspace, name) is getattr(family, name), name
    assert set(semspace.__all__) <= set(dir(semspace))
    assert semspace.models is importlib.import_module("semspace.models")  # a family package, reached as before
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = semspace.no_such_name  # type: ignore[attr-defined]
