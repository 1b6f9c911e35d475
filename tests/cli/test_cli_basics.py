"""CLI: help texts with examples, clean one-line errors, world commands and train end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from semspace.cli.main import main


def test_help_lists_commands_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("world", "train", "eval", "demo", "bench"):
        assert cmd in out
    for sub in (
        ["world", "generate", "--help"],
        ["world", "preview", "--help"],
        ["train", "--help"],
        ["demo", "--help"],
        ["eval", "--help"],
    ):
        assert main(sub) == 0
        assert "Example:" in capsys.readouterr().out


def test_user_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--config", str(tmp_path / "nope.yaml"), "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code != 0 and "nope.yaml does not exist" in err and "Traceback" not in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: align\ntrain: {lrr: 1}\n")
    assert main(["train", "--config", str(bad), "--run-dir", str(tmp_path / "run")]) != 0
    assert "train.lrr" in capsys.readouterr().err
    assert main(["world", "preview", "--kind", "planets", "--out", str(tmp_path / "x.png")]) != 0
    assert "not a world kind" in capsys.readouterr().err


def test_world_generate_and_preview(tmp_path: Path) -> None:
    out = tmp_path / "pairs"
    assert main(["world", "generate", "--kind", "pairs", "--out", str(out), "--n", "5", "--workers", "1"]) == 0
    lines = (out / "annotations.jsonl").read_text().splitlines()
    assert len(lines) == 5
    rec = json.loads(lines[3])
    assert rec["index"] == 3 and rec["split"] == "train"
    for rel in rec["images"].values():
        assert Image.open(out / rel).size == (64, 64)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "pairs" and manifest["n"] == 5
    # a killed run resumes: a removed PNG is re-rendered identically, others are kept
    png = out / rec["images"]["target"]
    before = png.read_bytes()
    png.unlink()
    assert main(["world", "generate", "--kind", "pairs", "--out", str(out), "--n", "5", "--workers", "1"]) == 0
    assert png.read_bytes() == before
    sheet = tmp_path / "sheet.png"
    assert main(["world", "preview", "--kind", "pairs", "--out", str(sheet), "--n", "3"]) == 0
    w, h = Image.open(sheet).size
    assert w > 6 * 64 and h > 3 * 64


TRANSFER = str(Path(__file__).resolve().parents[2] / "configs" / "transfer" / "world_2d_to_3d.yaml")
TINY = [
    "task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn", "task_args.text_encoder=tiny_lstm_text",
    "task_args.embed_dim=16", "data.train.args.n=32", "data.train.args.size=32", "data.train.cache=false",
    "train.batch_size=16", "train.num_workers=0", "train.log_every=1", "train.ckpt_every=1", "eval.num_workers=0",
    "eval.data.args.n=8", "eval.data.args.size=32",
]  # fmt: skip
SETS = [arg for item in TINY for arg in ("--set", item)]


def test_train_logs_to_train_log_resumes_once_and_evaluates_unless_told_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["train", "--help"]) == 0
    assert "--no-eval" in capsys.readouterr().out
    assert main(["train", "--config", TRANSFER, "--run-dir", str(run), *SETS, "--max-steps", "2", "--no-eval"]) == 0
    out, err = capsys.readouterr()
    final = json.loads(out.strip().splitlines()[-1])
    assert "loss" in final and not any(k.endswith("R@1") for k in final)  # --no-eval: the training averages
    assert [r["split"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())] == ["train"] * 2
    assert main(["train", "--config", TRANSFER, "--run-dir", str(run), *SETS, "--max-steps", "3"]) == 0
    out, err = capsys.readouterr()
    assert err.count("resumed from") == 1 and "at step 2" in err  # one console line, not two
    assert "3d_to_3d_R@1" in json.loads(out.strip().splitlines()[-1])
    log = (run / "train.log").read_text()
    for text in ("training task 'transfer'", "step 1/2: ", "step 2/2: ", "resumed from", "step 3/3: ",
                 "evaluating the final model", "evaluation at step 3: 3d_to_3d_R@1"):  # fmt: skip
        assert text in log, text
    assert log.count("resumed from") == 1
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["split"]) for r in rows] == [(1, "train"), (2, "train"), (3, "train"), (3, "eval")]
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)  # the clock continued over the resume
    (run / "model.pt").unlink()  # as if killed before the export: eval says to re-run train
    assert main(["eval", "--run-dir", str(run)]) == 1
    assert "run the same semspace train command again to resume it" in capsys.readouterr().err


@pytest.mark.parametrize(("rank", "lines"), [("0", 1), ("1", 0)])
def test_train_prints_its_final_json_line_on_rank_0_only(
    rank: str, lines: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under torchrun every rank runs the command; the one final JSON line comes from rank 0."""
    from semspace.engine import run as engine_run

    monkeypatch.setattr(engine_run, "train", lambda *args, **kwargs: {"loss": 0.5})
    monkeypatch.setenv("RANK", rank)
    assert main(["train", "--config", TRANSFER, "--run-dir", str(tmp_path / "run"), *SETS, "--no-eval"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line) for line in out] == [{"run_dir": str(tmp_path / "run"), "loss": 0.5}] * lines
