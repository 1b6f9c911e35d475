"""CLI start-up: the whole-process wall time of commands that need no model, before vs after (issue 20, item 1).

Each command is one `python -m semspace ...` process, timed from start to exit: `--help`, `--version`, `version`
and a one-line error (`index info` on a missing folder). "Before" is the last commit (a `git worktree` of
``BASE``, default HEAD, made in this benchmark's temporary folder and removed after), "after" the working tree;
both run with the same interpreter, `PYTHONPATH=<tree>/src`, from the same empty folder, their runs interleaved
(before, after, before, ...) so that a change in the machine's load hits both. The median of ``RUNS`` runs is
reported, with the load average before and after, and whether each tree's process imported torch (one extra run
under `python -X importtime`). Target: after < 0.5 s for every command.

Run: `semspace bench cli_start` or `python benchmarks/cli_start.py [--quick] [--base REV]`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from semspace.eval.report import markdown_table, write_benchmark

ROOT = Path(__file__).resolve().parents[1]
BASE = "HEAD"  # the "before" tree: python benchmarks/cli_start.py --base REV measures against another commit
TARGET_S = 0.5
RUNS, QUICK_RUNS = 9, 5
COMMANDS = {  # name -> (arguments, expected exit code); {missing} is a folder that does not exist
    "semspace --help": (["--help"], 0),
    "semspace --version": (["--version"], 0),
    "semspace version": (["version"], 0),
    "semspace index info (missing folder)": (["index", "info", "--index", "{missing}"], 1),
}


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _env(src: Path) -> dict[str, str]:
    drop = ("PYTHONPATH", "SEMSPACE_THREADS", "PYTHONPROFILEIMPORTTIME")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "PYTHONPATH": str(src)}


def _run(args: list[str], src: Path, cwd: Path, code: int, flags: tuple[str, ...] = ()) -> tuple[float, str]:
    """Runs `python [flags] -m semspace ARGS` from ``cwd`` with ``src`` first on the path; (seconds, stderr)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, *flags, "-m", "semspace", *args], env=_env(src), cwd=cwd,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    seconds = time.perf_counter() - t0
    if done.returncode != code:
        raise RuntimeError(f"semspace {' '.join(args)} ({src}) exited {done.returncode}, expected {code}:\n"
                           f"{done.stderr[-2000:]}")  # fmt: skip
    return seconds, done.stderr


def _check_tree(src: Path, cwd: Path) -> None:
    """The interpreter imports semspace from ``src`` (PYTHONPATH before the editable install), not another tree."""
    code = "import semspace, sys; sys.stdout.write(semspace.__file__)"
    done = subprocess.run([sys.executable, "-c", code], env=_env(src), cwd=cwd, capture_output=True, text=True)
    got = Path(done.stdout).resolve()
    if done.returncode or not got.is_relative_to(src.resolve()):
        raise RuntimeError(f"python with PYTHONPATH={src} imports semspace from {got or done.stderr}, not from {src}")


def _imports_torch(args: list[str], src: Path, cwd: Path, code: int) -> bool:
    _, err = _run(args, src, cwd, code, flags=("-X", "importtime"))
    return any(line.startswith("import time:") and line.split("|")[-1].strip() == "torch" for line in err.splitlines())


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False, base: str = BASE) -> Path:
    t_all = time.perf_counter()
    runs = QUICK_RUNS if quick else RUNS
    base_sha = _git("rev-parse", "--verify", f"{base}^{{commit}}")
    load_before = os.getloadavg()
    times: dict[str, dict[str, list[float]]] = {name: {"before": [], "after": []} for name in COMMANDS}
    torch_loaded: dict[str, dict[str, bool]] = {name: {} for name in COMMANDS}
    with tempfile.TemporaryDirectory(prefix="cli_start_") as tmp_name:
        tmp = Path(tmp_name)
        worktree, cwd = tmp / "cli_start_base", tmp / "cwd"
        cwd.mkdir()
        _git("worktree", "add", "--detach", str(worktree), base_sha)
        try:
            trees = {"before": worktree / "src", "after": ROOT / "src"}
            for src in trees.values():
                _check_tree(src, cwd)
            for name, (template, code) in COMMANDS.items():
                args = [a.format(missing=tmp / "no_index") for a in template]
                for tree, src in trees.items():
                    _run(args, src, cwd, code)  # warm the file cache and the bytecode of this tree
                    torch_loaded[name][tree] = _imports_torch(args, src, cwd, code)
                for _ in range(runs):
                    for tree, src in trees.items():
                        times[name][tree].append(_run(args, src, cwd, code)[0])
                before, after = (statistics.median(times[name][t]) for t in ("before", "after"))
                print(f"{name:40s} before {before:6.3f} s  after {after:6.3f} s", flush=True)
        finally:
            _git("worktree", "remove", "--force", str(worktree))
            _git("worktree", "prune")
    load_after = os.getloadavg()
    rows = []
    for name in COMMANDS:
        before, after = (statistics.median(times[name][t]) for t in ("before", "after"))
        rows.append({"command": name, "before (s)": f"{before:.3f}", "after (s)": f"{after:.3f}",
                     "speed-up": f"{before / after:.1f}x", "after min-max (s)":
                     f"{min(times[name]['after']):.3f}-{max(times[name]['after']):.3f}",
                     "torch imported (before / after)":
                     f"{'yes' if torch_loaded[name]['before'] else 'no'} / "
                     f"{'yes' if torch_loaded[name]['after'] else 'no'}",
                     "target": f"< {TARGET_S:g} s", "met": "yes" if after < TARGET_S else "no"})  # fmt: skip
    seconds = time.perf_counter() - t_all
    columns = list(rows[0])
    print(markdown_table(rows, columns))
    loads = ", ".join(f"{x:.2f}" for x in load_before), ", ".join(f"{x:.2f}" for x in load_after)
    _, md = write_benchmark(
        "cli_start" + ("_quick" if quick else ""),
        rows=rows,
        columns=columns,
        seed=0,
        config={
            "quick": quick,
            "runs": runs,
            "base": base,
            "base_commit": base_sha,
            "load_before": load_before,
            "load_after": load_after,
            "times_s": times,
        },  # fmt: skip
        seconds=seconds,
        title="CLI start-up: whole-process wall time of commands that need no model, before vs after (issue 20)",
        notes=(
            f"Median of {runs} runs of each `python -m semspace` process, start to exit; before = commit "
            f"{base_sha[:10]} ({base}) in a git worktree, after = the working tree; the same interpreter, "
            f"`PYTHONPATH=<tree>/src`, runs interleaved. Load average (1, 5, 15 min) before: {loads[0]}; after: "
            f"{loads[1]} (2 cores shared with other jobs). Before, every command imported torch through "
            "`semspace/__init__.py` and `cli/main.py`; after, `semspace` resolves its entry points on first use "
            "and each command imports its libraries when it runs (`cli/startup.py`). Produced by "
            f"`python benchmarks/cli_start.py{' --quick' if quick else ''}`."
        ),
        out_dir=out_dir,
    )
    return md


if __name__ == "__main__":
    argv = sys.argv[1:]
    main(quick="--quick" in argv, base=argv[argv.index("--base") + 1] if "--base" in argv else BASE)
