"""The CHTN warm-start recipe of docs/chtn.md (and the README) on feature files, end to end through the CLI.

The recipe's two ``semspace train`` commands are read from the page's ```bash block (the README must hold the same
commands), with the page's config replaced by a config written as the page's "Feature files" paragraph says
(``wikipedia_xmodal`` pairs in the Wikipedia layout, ``identity_features`` on both sides, a labelled source feature
file as ``data.extra.source``), tiny widths and steps; then ``semspace eval`` on the warm-started run. The
source-only run trains the source branch; the second run's ``init:`` stages copy it (the ``trunk`` stage of an
identity trunk loads nothing and passes, ``engine/stages.py``), which a copy of the second run at lr 1e-30 checks.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from wikipedia_layout import source_features, wikipedia_folder

from semspace.cli.main import main
from semspace.tasks.chtn import SOURCE_ONLY_WEIGHTS, WARM_START

ROOT = Path(__file__).resolve().parents[2]
PAGE_CONFIG = "configs/chtn/world.yaml"  # the config the pages' recipe trains, replaced here by the feature config
SOURCE_RUN, WARM_RUN = "runs/chtn_source", "runs/chtn_warm"


def _fences() -> Any:
    """tests/docs/fences.py (how the page tests read a ```bash block), loaded by path: tests/cli is no package."""
    name = "semspace_doc_fences"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "docs" / "fences.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


def recipe(page: str) -> list[list[str]]:
    """The warm-start recipe's two commands of ``page`` (the source-only run, the warm-started run) as argv."""
    fences = _fences()
    blocks = [b for b in fences.fenced_blocks(ROOT / page, page) if b.info == fences.COMMAND_INFO]
    texts = [c.text for b in blocks for c in fences.commands(b)]
    found = [next((t for t in texts if f"--run-dir {run} " in t), None) for run in (SOURCE_RUN, WARM_RUN)]
    assert all(found), f"{page}: no warm-start recipe (train commands into {SOURCE_RUN} and {WARM_RUN})"
    return [shlex.split(str(t)) for t in found]


def feature_config(tmp_path: Path) -> Path:
    """The run config of docs/chtn.md's "Feature files" paragraph on the fixture, with tiny widths and steps (the
    page's widths are 512; the world config's solver otherwise)."""
    root = wikipedia_folder(tmp_path / "wikipedia", n_train=8)
    src = source_features(tmp_path / "source.npz")
    world = yaml.safe_load((ROOT / PAGE_CONFIG).read_text())
    cfg = {
        "task": "chtn",
        "task_args": {"image_trunk": "identity_features", "text_encoder": "identity_features",
                      "image_key": "features.img", "text_key": "features.txt", "image_kind": "features",
                      "image_input_norm": True, "widths": [16, 16], "shared_widths": [16, 16],
                      "source_key": "features", "num_source_classes": 6},  # fmt: skip
        "data": {
            "train": {"name": "wikipedia_xmodal", "args": {"root": str(root), "split": "train"}},
            "extra": {"source": {"name": "features", "args": {"path": str(src), "split": "train", "modality": "img"}}},
        },
        "train": {**world["train"], "max_steps": 6, "batch_size": 16, "log_every": 2},
        "eval": {"protocol": "cross_modal_map", "data": {"name": "wikipedia_xmodal",
                                                         "args": {"root": str(root), "split": "test"}}},
    }  # fmt: skip
    path = tmp_path / "wikipedia_chtn.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _train(argv: list[str], config: Path, *extra: str) -> None:
    assert argv[:2] == ["semspace", "train"] and PAGE_CONFIG in argv, argv
    args = [str(config) if a == PAGE_CONFIG else a for a in argv[1:]]
    assert main([*args, *extra]) == 0, args


def _weights(run: str, prefix: str) -> dict[str, torch.Tensor]:
    """The learned parameters (no BatchNorm running statistics) under ``prefix`` of a run's model.pt."""
    state = torch.load(Path(run) / "model.pt", map_location="cpu", weights_only=False)["state_dict"]
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix) and not k.endswith(buffers)}


def test_the_readme_and_the_page_give_the_same_recipe() -> None:
    assert recipe("README.md") == recipe("docs/chtn.md")


@pytest.mark.slow
def test_warm_start_recipe_on_wikipedia_feature_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = feature_config(tmp_path)
    monkeypatch.chdir(tmp_path)  # the recipe's run folders are relative: runs/chtn_source, runs/chtn_warm
    source_cmd, warm_cmd = recipe("docs/chtn.md")
    assert {f"task_args.{k}={v:g}" for k, v in SOURCE_ONLY_WEIGHTS.items()} <= set(source_cmd)  # the documented run
    _train(source_cmd, config)
    _train(warm_cmd, config)
    saved = yaml.safe_load((tmp_path / WARM_RUN / "config.yaml").read_text())
    assert [(i["module"], i.get("source") or i["module"]) for i in saved["init"]] == list(WARM_START)

    # it trained and evaluated: a finite loss in its log, CHTN's MAP on the test pairs, and `semspace eval` agrees
    logged = [json.loads(line) for line in (tmp_path / WARM_RUN / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in logged if "loss" in r]
    assert losses and all(torch.isfinite(torch.tensor(losses)))
    assert main(["eval", "--run-dir", WARM_RUN, "--out", "warm_eval.json"]) == 0
    metrics = json.loads((tmp_path / "warm_eval.json").read_text())
    assert 0.0 < metrics["mean_mAP@all"] <= 1.0, metrics

    # the init stages copied the source run's weights: at lr 1e-30 (0 is refused) no step moves a float32 weight,
    # so the warm run's modules are the source run's, bit for bit
    _train(warm_cmd, config, "--run-dir", "runs/chtn_warm_lr0", "--set", "train.lr=1e-30")
    for module, source in WARM_START:
        got, want = _weights("runs/chtn_warm_lr0", module + "."), _weights(SOURCE_RUN, source + ".")
        assert got.keys() == want.keys(), (module, source)
        assert all(torch.equal(got[k], want[k]) for k in got), f"{module} does not start from {source}"
    assert _weights(SOURCE_RUN, "trunk.") == {}  # the identity trunk: nothing to load, the stage passes
