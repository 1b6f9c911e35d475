"""``semspace eval`` on a tiny transfer run: the run's own protocol, ``--data SPEC``, errors, and the reuse of the run's
final evaluation (``evaluation.json``) while ``model.pt`` and the ``eval:`` section are the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from semspace.cli.main import main
from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.eval.record import RECORD
from semspace.retrieval import evaluation
from semspace.utils.hashing import file_sha256

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn", "task_args.text_encoder=tiny_lstm_text",
    "task_args.embed_dim=16", "data.train.args.n=32", "data.train.args.size=32", "data.train.cache=false",
    "train.max_steps=2", "train.batch_size=16", "train.num_workers=0", "eval.num_workers=0",
    "eval.data.args.n=8", "eval.data.args.size=32",
]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    out = tmp_path_factory.mktemp("transfer_run")
    metrics = train(load_run_cfg(ROOT / "configs" / "transfer" / "world_2d_to_3d.yaml", TINY), out)
    return out, metrics


@pytest.fixture()
def run_dir(trained: tuple[Path, dict[str, float]], tmp_path: Path) -> Path:
    """A copy of the trained run: each test's evaluations record into its own folder."""
    return Path(shutil.copytree(trained[0], tmp_path / "run"))


def test_eval_uses_the_runs_protocol_and_writes_json(run_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "eval.json"
    assert main(["eval", "--run-dir", str(run_dir), "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {f"{e}_R@{k}" for e in ("3d_to_3d", "2d_to_3d") for k in (1, 5, 10, 50)}
    assert json.loads(out.read_text()) == printed


def test_eval_data_spec_replaces_the_dataset(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = "world_scenes:split=test,n=6,size=32,view=render3d,mods_per_scene=3"
    assert main(["eval", "--run-dir", str(run_dir), "--data", spec, "--json"]) == 0
    small = json.loads(capsys.readouterr().out)
    # 6 queries over a gallery of 2 sources + 6 targets: every target is within the top 7
    assert small["3d_to_3d_R@50"] == 1.0
    assert main(["eval", "--run-dir", str(run_dir), "--data", "world_scenes:n=", "--json"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0].lower()


@pytest.fixture()
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The checkpoints the evaluation loads (one per evaluation actually run)."""
    calls: list[Path] = []
    real = evaluation.load_task

    def counting(path: Path, *args: object, **kwargs: object) -> object:
        calls.append(path)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluation, "load_task", counting)
    return calls


def _eval(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, float], str]:
    assert main(["eval", "--json", *args]) == 0
    cap = capsys.readouterr()
    return json.loads(cap.out), cap.err


def test_train_records_its_final_evaluation(trained: tuple[Path, dict[str, float]]) -> None:
    run, metrics = trained
    record = json.loads((run / RECORD).read_text())
    assert record["checkpoint"] == "model.pt" and record["checkpoint_sha256"] == file_sha256(run / "model.pt")
    assert record["metrics"] == pytest.approx(metrics) and record["eval"]["protocol"] == "composed_retrieval"


def test_eval_after_train_reuses_the_fresh_result(
    trained: tuple[Path, dict[str, float]], run_dir: Path, loads: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    printed, err = _eval(["--run-dir", str(run_dir)], capsys)
    assert loads == [] and printed == pytest.approx(trained[1])
    assert "reused the evaluation of model.pt" in err and "--recompute" in err


def test_recompute_and_a_changed_config_or_checkpoint_evaluate_again(
    run_dir: Path, loads: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, err = _eval(["--run-dir", str(run_dir), "--recompute"], capsys)
    assert len(loads) == 1 and "evaluated model.pt: asked to recompute" in err
    _, err = _eval(["--run-dir", str(run_dir), "--set", "eval.data.args.n=6"], capsys)
    assert len(loads) == 2 and "eval: section" in err and "differs" in err
    _, err = _eval(["--run-dir", str(run_dir), "--set", "eval.data.args.n=6"], capsys)
    assert len(loads) == 2 and "reused" in err  # the last evaluation is recorded: the same one is reused
    record = json.loads((run_dir / RECORD).read_text())
    (run_dir / RECORD).write_text(json.dumps({**record, "checkpoint_sha256": "0" * 64}))  # another model.pt
    _, err = _eval(["--run-dir", str(run_dir), "--set", "eval.data.args.n=6"], capsys)
    assert len(loads) == 3 and "model.pt changed" in err
    (run_dir / RECORD).unlink()
    _, err = _eval(["--run-dir", str(run_dir)], capsys)
    assert len(loads) == 4 and "no earlier evaluation" in err
