"""Runs and indexes written by semspace 0.1.0 open through numbered migrations (``tests/fixtures/v0_1_0``).

The fixture was written by the 0.1.0 code (``make_fixture.py`` beside it, run on that release): a tiny 2D->3D
transfer run (checkpoint format 1, no domain records) and an index of 9 renders (manifest format 1, database
schema 3, one preprocessing in the model record). Only the recorded checkpoint path was made relative.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from semspace.data.domains import InputKind
from semspace.index import EmbeddingIndex
from semspace.index.layout import LOCK
from semspace.index.migrations import MIGRATIONS
from semspace.models.checkpoint import CKPT_FORMAT
from semspace.retrieval import Searcher, build_index
from semspace.tasks import load_task

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1_0"


def test_a_format_1_checkpoint_loads_and_describes_its_domains() -> None:
    raw = torch.load(FIXTURE / "run" / "model.pt", map_location="cpu", weights_only=False)
    assert raw["format"] == 1 and "domains" not in raw  # really the old layout
    task, ckpt = load_task(FIXTURE / "run" / "model.pt")
    assert ckpt["format"] == CKPT_FORMAT and ckpt["domains"] is None  # migrated in memory
    assert {n: s.kind for n, s in task.domains().items()} == {"blobs2d": InputKind.IMAGE, "render3d": InputKind.IMAGE}
    assert task.domain("render3d").preprocess.to_dict() == raw["preprocess_cfg"]  # type: ignore[union-attr]


def test_a_0_1_0_index_opens_searches_and_grows(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(FIXTURE / "index", index_dir)
    run = FIXTURE / "run"
    assert json.loads((index_dir / "manifest.json").read_text())["format"] == 1
    index = EmbeddingIndex.open(index_dir)
    assert index._store.schema_version() == len(MIGRATIONS) and len(index) == 9
    task, _ = load_task(run / "model.pt")
    assert index.domains() == {"render3d": task.domain("render3d")}  # migration 4, from the model record
    searcher = Searcher(index_dir, run_dir=run)  # the model check passes on the migrated records
    item = index.get_item(4)
    assert item is not None
    hit = searcher.search_image(index.thumbnail(4), k=1, keep_query=True).hits[0]  # type: ignore[arg-type]
    assert hit.id == 4 and hit.domain == "render3d"
    more = build_index(run, "world_scenes:split=test,n=12,size=32,view=render3d,mods_per_scene=2", index_dir)
    # n=12 lists other scenes at positions 0-8: those items are taken over by uri and updated, and the 9 old
    # contents, now at other positions, take their stored embeddings (read back from the 0.1.0 faiss file)
    assert more["listed"] == more["total"] and more["updated"] + more["unchanged"] == 9
    assert more["reused"] >= 9 - more["unchanged"] and more["embedded"] == more["listed"] - 9
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["format"] == 3 and manifest["collections"]["render3d"]["kind"] == "image"
    assert sorted(p.name for p in index_dir.iterdir()) == [manifest["generation"], "manifest.json", LOCK, "thumbs"]
    grown = EmbeddingIndex.open(index_dir)
    assert grown._store.schema_version() == len(MIGRATIONS)
    paths = [grown.thumbnail_path(int(it["id"])) for it in grown.iter_items()]
    assert all(p is not None for p in paths)  # every item shows: the unchanged ones by their 0.1.0 thumbs/<id>.png
    assert sorted(p.name for p in (index_dir / "thumbs").glob("*.png")) == sorted(
        p.name for p in paths if p is not None and p.parent.name == "thumbs"
    )  # the updated items' old thumbnails are gone
    assert len([p for p in paths if p is not None and p.parent.name == "thumbs"]) == more["unchanged"]
    assert {s["source"] for s in grown.sources()} == {more["source"]}  # the old items joined the source
