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
