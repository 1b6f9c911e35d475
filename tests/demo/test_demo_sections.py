"""The demo's sections are registered (``demo/sections.py``) and ``run_demo`` assembles them (``demo/run.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semspace.demo import check_configs, demo_intro
from semspace.demo import run as demo_run
from semspace.demo.sections import DemoSection, SectionResult, SectionRun, demo_section, ordered_sections


def test_every_method_registers_its_section_and_the_main_one_runs_first() -> None:
    sections = ordered_sections()
    assert [(s.name, s.main) for s in sections] == [("tirg", True), ("chtn", False), ("ssgn", False),
                                                    ("egsc_it", False)]  # fmt: skip
    assert demo_intro() == (
        "semspace demo: trains a TIRG composer on 2D-blob scene modifications only and applies it to 3D renders it "
        "never saw modified (LTT), scores it against baselines, builds a search index and runs three example "
        "searches; then a short run of each other method on the world or packaged real data: CHTN (text <-> image "
        "with a labelled source), SSGN (sketches of unseen classes -> photos) and EGSC-IT (MNIST digits in an "
        "exemplar's colours). About 4-7 minutes on 2 cores (--quick: about 1); writes OUT/report.md and "
        "OUT/metrics.json."
    )


def test_the_demo_configs_load_from_the_package() -> None:
    assert check_configs() == [
        "configs/transfer/world_2d_to_3d.yaml", "configs/chtn/world.yaml", "configs/ssgn/world.yaml",
        "configs/egsc_it/digits_stage1.yaml", "configs/egsc_it/digits_stage2.yaml",
    ]  # fmt: skip


def test_a_section_name_is_taken_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        demo_section("chtn", order=99, blurb="again")(lambda run: SectionResult({}, ""))


def _stub(name: str, order: int, main: bool = False) -> DemoSection:
    def run(r: SectionRun) -> SectionResult:
        r.out.mkdir(parents=True, exist_ok=True)
        (r.out / f"{name}.txt").write_text(f"quick={r.quick} seed={r.seed}")
        return SectionResult({"score": order}, f"## {name}\n", table=f"table of {name}" if main else "")

    return DemoSection(name, order, f"{name.upper()} blurb", run, main=main)


def test_run_demo_runs_the_registered_sections_and_assembles_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a new method is one more registered section: it runs in order, into OUT/<name>, under metrics.json[<name>]
    stubs = [_stub("lead", 10, main=True), _stub("newer", 50), _stub("older", 20)]
    monkeypatch.setattr(demo_run, "ordered_sections", lambda: sorted(stubs, key=lambda s: (not s.main, s.order)))
    monkeypatch.setattr(demo_run, "KINDS", ("scenes",))
    monkeypatch.setattr(demo_run, "export_world", lambda *a, **k: None)
    monkeypatch.setattr(demo_run, "save_contact_sheet", lambda kind, path, n: path)
    metrics = demo_run.run_demo(tmp_path, quick=True, seed=3)
    assert metrics["table"] == "table of lead"
    assert (tmp_path / "lead.txt").read_text() == "quick=True seed=3"
    assert (tmp_path / "older" / "older.txt").is_file() and (tmp_path / "newer" / "newer.txt").is_file()
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert list(saved) == ["score", "seconds", "torch_threads", "older", "newer"] and saved["newer"] == {"score": 50}
    report = (tmp_path / "report.md").read_text()
    intro = ("semspace demo: LEAD blurb; then a short run of each other method on the world or packaged real data: "
             "OLDER blurb and NEWER blurb. About 4-7 minutes")  # fmt: skip
    assert report.startswith(f"# semspace demo report\n\n{intro}")
    assert report.index("## lead") < report.index("## The world") < report.index("## older") < report.index("## newer")
    assert "### scenes\n\n![scenes](sheets/scenes.png)\n" in report and report.endswith("## newer\n")
