"""Every CLI command on a table of bad inputs: exit 1 (a user error) or 2 (a usage error), exactly one non-empty
line on stderr that says what is wrong, and no traceback anywhere.

Rows run in-process (``main(argv)``); two run ``python -m semspace`` in a subprocess, so the console-script path
(logging set-up, exit codes) is covered too. Index and search rows use only inputs that do not depend on how an
index is built (a missing run or index folder, a missing query).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from semspace.cli.main import main
from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.retrieval import build_index

ROOT = Path(__file__).resolve().parents[2]
TRANSFER = str(ROOT / "configs" / "transfer" / "world_2d_to_3d.yaml")
TINY = [
    "task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn", "task_args.text_encoder=tiny_lstm_text",
    "task_args.embed_dim=16", "data.train.args.n=32", "data.train.args.size=32", "data.train.cache=false",
    "train.max_steps=2", "train.batch_size=16", "train.num_workers=0", "eval.num_workers=0",
    "eval.data.args.n=8", "eval.data.args.size=32",
]  # fmt: skip
SETS = [arg for item in TINY for arg in ("--set", item)]


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished tiny run, a killed one (last.pt only), an empty folder, a plain file and bad config files."""
    root = tmp_path_factory.mktemp("bad_inputs")
    run = root / "run"
    train(load_run_cfg(TRANSFER, TINY), run, evaluate=False)
    killed = root / "killed"
    killed.mkdir()
    (killed / "last.pt").write_bytes((run / "last.pt").read_bytes())
    corrupt = root / "corrupt"
    corrupt.mkdir()
    (corrupt / "model.pt").write_bytes(b"not a checkpoint")
    (root / "empty").mkdir()
    (root / "file.txt").write_text("a plain file\n")
    (root / "broken.yaml").write_text("task: [unclosed\n")
    (root / "list.yaml").write_text("- task: align\n")
    (root / "typo.yaml").write_text("task: align\ntrain: {lrr: 1}\n")
    build_index(run, "world_scenes:split=test,n=3,size=32", root / "index")
    Image.new("RGB", (20, 20), (200, 30, 30)).save(root / "q.png")
    (root / "junk").mkdir()
    (root / "junk" / "notes.txt").write_text("mine\n")
    return {"root": root, "run": run, "killed": killed, "corrupt": corrupt, "empty": root / "empty",
            "file": root / "file.txt", "index": root / "index", "junk": root / "junk",
            "png": root / "q.png"}  # fmt: skip


Row = tuple[str, Callable[[dict[str, Path]], list[str]], int, str]

ROWS: list[Row] = [
    # ---- the app itself ----
    ("unknown command", lambda p: ["trian"], 2, "No such command 'trian'"),
    ("unknown option", lambda p: ["version", "--bogus"], 2, "No such option: --bogus"),
    # ---- world ----
    ("world generate: no --kind", lambda p: ["world", "generate", "--out", str(p["root"] / "w")], 2, "--kind"),
    ("world generate: unknown kind", lambda p: ["world", "generate", "--kind", "scene", "--out", str(p["root"] / "w")],
     2, "did you mean 'scenes'?"),
    ("world generate: n not a number", lambda p: ["world", "generate", "--kind", "scenes", "--out",
     str(p["root"] / "w"), "--n", "many"], 2, "--n"),
    ("world generate: n = 0", lambda p: ["world", "generate", "--kind", "scenes", "--out", str(p["root"] / "w"),
     "--n", "0"], 2, "--n"),
    ("world generate: unknown split", lambda p: ["world", "generate", "--kind", "pairs", "--out",
     str(p["root"] / "w"), "--n", "2", "--split", "dev"], 1, "unknown split 'dev'"),
    ("world generate: out is a file", lambda p: ["world", "generate", "--kind", "pairs", "--out", str(p["file"]),
     "--n", "2", "--workers", "1"], 1, "file.txt"),
    ("world preview: unknown kind", lambda p: ["world", "preview", "--kind", "planets", "--out",
     str(p["root"] / "x.png")], 2, "not a world kind"),
    ("world preview: size too small", lambda p: ["world", "preview", "--kind", "scenes", "--out",
     str(p["root"] / "x.png"), "--size", "4"], 2, "--size"),
    # ---- train: files ----
    ("train: no --config", lambda p: ["train", "--run-dir", str(p["root"] / "t")], 2, "Missing option '--config'"),
    ("train: missing config", lambda p: ["train", "--config", str(p["root"] / "nope.yaml"), "--run-dir",
     str(p["root"] / "t")], 1, "nope.yaml does not exist"),
    ("train: broken YAML", lambda p: ["train", "--config", str(p["root"] / "broken.yaml"), "--run-dir",
     str(p["root"] / "t")], 1, "not valid YAML"),
    ("train: YAML not a mapping", lambda p: ["train", "--config", str(p["root"] / "list.yaml"), "--run-dir",
     str(p["root"] / "t")], 1, "expected a mapping at the top level"),
    ("train: unknown key", lambda p: ["train", "--config", str(p["root"] / "typo.yaml"), "--run-dir",
     str(p["root"] / "t")], 1, "train.lrr"),
    ("train: run dir is a file", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["file"]), *SETS],
     1, "is a file, not a folder"),
    # ---- train: names and values ----
    ("train: unknown task", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "task=transfr"], 1, "task (--set task=transfr): unknown task 'transfr'; did you mean 'transfer'?"),
    ("train: unknown composer", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "task_args.composer=tirgg"], 1, "task_args.composer (--set task_args.composer=tirgg): unknown "
     "composer 'tirgg'; did you mean 'tirg'?"),
    ("train: unknown loss", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "task_args.loss=soft_tripplet"], 1, "did you mean 'soft_triplet'?"),
    ("train: unknown dataset", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "data.train.name=world_scene"], 1, "data.train.name (--set data.train.name=world_scene)"),
    ("train: unknown protocol", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "eval.protocol=composed"], 1, "did you mean 'composed_retrieval'?"),
    ("train: unknown optimizer", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "train.optimizer=adamm"], 1, "train.optimizer (--set train.optimizer=adamm): unknown optimizer"),
    ("train: unknown scheduler", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "train.scheduler=linear"], 1, "unknown scheduler 'linear'"),
    ("train: batch size 0", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "train.batch_size=0"], 1, "train.batch_size (--set train.batch_size=0): got 0; expected an integer"),
    ("train: lr 0", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "train.lr=0"], 1, "expected a learning rate > 0"),
    ("train: max steps 0", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--max-steps", "0"], 1, "train.max_steps"),
    ("train: an impossible task value", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"),
     *SETS, "--set", "task_args.embed_dim=-1"], 1, "task 'transfer' cannot be built from its task_args"),
    ("train: several problems", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "train.lr=-1", "--set", "train.optimizer=sgdd"], 1, "2 problems in the config: (1) train.lr"),
    ("train: wrong type", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"), *SETS,
     "--set", "train.batch_size=many"], 1, "expected int"),
    ("train: a section given a value", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"),
     *SETS, "--set", "task_args=5"], 1, "task_args"),
    ("train: override without =", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"),
     "--set", "train.lr"], 1, "must look like key.sub=value"),
    ("train: bad list", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"),
     "--set", "eval.ks=[1, 5"], 1, "not a valid YAML list"),
    ("train: --max-steps not a number", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["root"] / "t"),
     "--max-steps", "ten"], 2, "--max-steps"),
    ("train: another model in the run dir", lambda p: ["train", "--config", TRANSFER, "--run-dir", str(p["run"]),
     *SETS, "--set", "task_args.embed_dim=8"], 1, "holds a run of another config (last.pt): it differs in "
     "task_args.embed_dim 16 -> 8"),
    # ---- eval ----
    ("eval: no --run-dir", lambda p: ["eval"], 2, "Missing option '--run-dir'"),
    ("eval: missing run dir", lambda p: ["eval", "--run-dir", str(p["root"] / "nope")], 1, "does not exist"),
    ("eval: a run dir with no model", lambda p: ["eval", "--run-dir", str(p["empty"])], 1, "holds no trained model"),
    ("eval: a killed run", lambda p: ["eval", "--run-dir", str(p["killed"])], 1,
     "run the same semspace train command again to resume it"),
    ("eval: a corrupt model", lambda p: ["eval", "--run-dir", str(p["corrupt"])], 1, "corrupt or truncated"),
    ("eval: unknown protocol", lambda p: ["eval", "--run-dir", str(p["run"]), "--set", "eval.protocol=paired"], 1,
     "did you mean 'paired_retrieval'?"),
    ("eval: unknown dataset", lambda p: ["eval", "--run-dir", str(p["run"]), "--data", "world_scene:n=4"], 1,
     "eval.data.name: unknown dataset 'world_scene'"),
    ("eval: bad data spec", lambda p: ["eval", "--run-dir", str(p["run"]), "--data", "world_scenes:n="], 1,
     "world_scenes n must be an integer"),
    ("eval: bad ks", lambda p: ["eval", "--run-dir", str(p["run"]), "--set", "eval.ks=[0]"], 1, "eval.ks"),
    # ---- demo, bench ----
    ("demo: seed not a number", lambda p: ["demo", "--seed", "x"], 2, "--seed"),
    ("demo: out is a file", lambda p: ["demo", "--out", str(p["file"]), "--quick"], 1, "file.txt"),
    ("bench: unknown benchmark", lambda p: ["bench", "no_such_bench", "--root", str(ROOT / "benchmarks")], 1,
     "unknown benchmark(s) ['no_such_bench']"),
    ("bench: no scripts", lambda p: ["bench", "--root", str(p["empty"])], 1, "no benchmark scripts"),
    # ---- index and search (inputs whose handling does not depend on how indexes are built) ----
    ("index build: no options", lambda p: ["index", "build"], 2, "Missing option"),
    ("index build: missing run dir", lambda p: ["index", "build", "--run-dir", str(p["root"] / "nope"), "--data",
     "world_scenes:n=2", "--out", str(p["root"] / "idx")], 1, "nope"),
    ("index info: missing index folder", lambda p: ["index", "info", "--index", str(p["root"] / "no_index")], 1,
     "no_index"),
    ("index remove: missing index folder", lambda p: ["index", "remove", "--index", str(p["root"] / "no_index"),
     "--id", "1"], 1, "no_index"),
    ("search: missing index folder", lambda p: ["search", "--index", str(p["root"] / "no_index"), "--text", "a"], 1,
     "no_index"),
    ("search: no query", lambda p: ["search", "--index", str(p["root"] / "no_index")], 1, "give exactly one query"),
    ("serve: no --index", lambda p: ["serve"], 2, "Missing option '--index'"),
    ("serve: missing index folder", lambda p: ["serve", "--index", str(p["root"] / "no_index")], 1, "no_index"),
    ("serve: not an index", lambda p: ["serve", "--index", str(p["empty"])], 1, "is not an index folder"),
    ("serve: port out of range", lambda p: ["serve", "--index", str(p["empty"]), "--port", "70000"], 2, "--port"),
    ("search: k = 0", lambda p: ["search", "--index", str(p["root"] / "no_index"), "--text", "a", "-k", "0"], 2,
     "--top-k"),
    # ---- index and search on a real index ----
    ("index build: no CUDA", lambda p: ["index", "build", "--run-dir", str(p["run"]), "--data", "world_scenes:n=2",
     "--out", str(p["root"] / "idx2"), "--device", "cuda"], 1, "CUDA is not available"),
    ("index build: bad factory", lambda p: ["index", "build", "--run-dir", str(p["run"]), "--data",
     "world_scenes:split=test,n=3,size=32", "--out", str(p["index"]), "--factory", "Nonsense7"], 1, "not valid"),
    ("index build: a folder that is not an index", lambda p: ["index", "build", "--run-dir", str(p["run"]), "--data",
     "world_scenes:split=test,n=3,size=32", "--out", str(p["junk"])], 1, "it is not overwritten"),
    ("index build: unknown domain", lambda p: ["index", "build", "--run-dir", str(p["run"]), "--data",
     "world_scenes:split=test,n=3,size=32", "--out", str(p["index"]), "--domain", "photos"], 1, "--domain 'photos'"),
    ("index build: an empty folder", lambda p: ["index", "build", "--run-dir", str(p["run"]), "--data",
     f"folder:{p['empty']}", "--out", str(p["index"])], 1, "no images"),
    ("index remove: neither source nor id", lambda p: ["index", "remove", "--index", str(p["index"])], 1,
     "give either --source SPEC or one or more --id N"),
    ("index remove: unknown source", lambda p: ["index", "remove", "--index", str(p["index"]), "--source",
     "folder:/nowhere"], 1, "holds no items of source"),
    ("index remove: unknown id", lambda p: ["index", "remove", "--index", str(p["index"]), "--id", "999"], 1,
     "no item with id [999]"),
    ("index info: not an index", lambda p: ["index", "info", "--index", str(p["junk"])], 1, "no manifest.json"),
    ("search: grid suffix", lambda p: ["search", "--index", str(p["index"]), "--text", "a", "--grid",
     str(p["root"] / "g.txt")], 1, "names no picture format"),
    ("search: modify without an image", lambda p: ["search", "--index", str(p["index"]), "--text", "a", "--modify",
     "make it red"], 1, "--modify applies to an --image query"),
    ("search: missing image", lambda p: ["search", "--index", str(p["index"]), "--image",
     str(p["root"] / "none.png")], 1, "image file not found"),
    ("search: not an image", lambda p: ["search", "--index", str(p["index"]), "--image", str(p["file"])], 1,
     "not a readable image"),
    ("search: unknown query domain", lambda p: ["search", "--index", str(p["index"]), "--image", str(p["file"]),
     "--query-domain", "photo"], 1, "query domain 'photo'"),
    ("search: unknown collection", lambda p: ["search", "--index", str(p["index"]), "--image", str(p["png"]),
     "--domain", "photo"], 1, "holds no domain ['photo']"),
    ("search: a text query, no text domain", lambda p: ["search", "--index", str(p["index"]), "--text", "a cube"], 1,
     "embeds no text domain"),
    # ---- translate (a translation run's own bad inputs: tests/cli/test_translate.py) ----
    ("search: malformed filter", lambda p: ["search", "--index", str(p["index"]), "--text", "a", "--filter",
                                            "year>=old"], 1, "'old' is not one"),  # fmt: skip
    ("classify: missing run", lambda p: ["classify", "--run-dir", str(p["root"] / "no_run"), "--sketch",
                                         str(p["png"])], 1, "no model.pt in"),  # fmt: skip
    ("classify: a run that infers no class", lambda p: ["classify", "--run-dir", str(p["run"]), "--sketch",
                                                        str(p["png"])], 1, "classif"),  # fmt: skip
    ("translate: a retrieval run", lambda p: ["translate", "--run-dir", str(p["run"]), "--content", str(p["png"]),
     "--exemplar", str(p["png"]), "--out", str(p["root"] / "t.png")], 1, "cannot translate (it can: embed, compose)"),
    ("translate: missing run", lambda p: ["translate", "--run-dir", str(p["root"] / "no_run"), "--content",
     str(p["png"]), "--exemplar", str(p["png"]), "--out", str(p["root"] / "t.png")], 1, "no_run"),
    ("translate: missing content", lambda p: ["translate", "--run-dir", str(p["run"]), "--content",
     str(p["root"] / "nope.png"), "--exemplar", str(p["png"]), "--out", str(p["root"] / "t.png")], 1,
     "--content"),
    ("translate: empty exemplar folder", lambda p: ["translate", "--run-dir", str(p["run"]), "--content",
     str(p["png"]), "--exemplar", str(p["empty"]), "--out", str(p["root"] / "t.png")], 1, "holds no pictures"),
    ("translate: bad out suffix", lambda p: ["translate", "--run-dir", str(p["run"]), "--content", str(p["png"]),
     "--exemplar", str(p["png"]), "--out", str(p["root"] / "t.txt")], 1, "t.txt"),
    ("translate: bad direction", lambda p: ["translate", "--run-dir", str(p["run"]), "--content", str(p["png"]),
     "--exemplar", str(p["png"]), "--out", str(p["root"] / "t.png"), "--direction", "a2c"], 1, "a2b or b2a"),
    ("translate: no --out", lambda p: ["translate", "--run-dir", str(p["run"]), "--content", str(p["png"]),
     "--exemplar", str(p["png"])], 2, "--out"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "argv", "code", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_is_one_line_and_no_traceback(
    name: str,
    argv: Callable[[dict[str, Path]], list[str]],
    code: int,
    expected: str,
    paths: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    got = main(argv(paths))
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err, err
    assert got == code, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]


def test_every_command_has_a_row() -> None:
    """A new command gets bad-input rows here: the table covers every command `semspace --help` lists."""
    from typer.main import get_command

    from semspace.cli.main import app

    def names(cmd: object, prefix: str = "") -> list[str]:
        subs = getattr(cmd, "commands", None)
        if not subs:
            return [prefix.strip()]
        return [n for key, sub in subs.items() for n in names(sub, f"{prefix} {key}")]

    covered = {r[0].split(":")[0] for r in ROWS}
    missing = [n for n in names(get_command(app)) if n not in covered and n != "version"]
    assert not missing, f"no bad-input row for: {missing}"


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        (["train", "--config", TRANSFER, "--run-dir", "unused", "--set", "task_args.composer=tirgg"], 1,
         "did you mean 'tirg'?"),
        (["eval"], 2, "Missing option '--run-dir'"),
    ],
)  # fmt: skip
def test_the_console_command_prints_one_line_too(tmp_path: Path, argv: list[str], code: int, expected: str) -> None:
    done = subprocess.run([sys.executable, "-m", "semspace", *argv], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == code and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], done.stderr
    assert not (tmp_path / "unused").exists()  # nothing was created before the config was checked
