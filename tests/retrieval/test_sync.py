"""``index build`` as a sync: the folder trial of issue 8 (change, delete, copy, corrupt, kill and re-run)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from semspace.cli.main import main
from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.errors import DataError
from semspace.index import EmbeddingIndex
from semspace.index.journal import JOURNAL_NAME, BuildJournal
from semspace.index.layout import LOCK
from semspace.retrieval import Searcher, build_index, inputs
from semspace.retrieval.indexing import normalise_source

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.train.args.n=32", "data.train.args.size=32", "train.max_steps=3", "train.batch_size=16",
        "train.num_workers=0", "train.eval_every=0", "train.log_every=5", "eval={}", "task_args.encoder_a=tiny_cnn",
        "task_args.encoder_b=tiny_cnn", "task_args.embed_dim=32"]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("sync") / "run"
    train(load_run_cfg(ROOT / "configs" / "align" / "world_2d_3d.yaml", TINY), run_dir)
    return run_dir


def _picture(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (24 + seed % 7, 30, 3), dtype=np.uint8)).save(path)


def _photos(folder: Path, n: int = 6) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"p{i}.png" for i in range(n)]
    for i, p in enumerate(paths):
        _picture(p, i)
    return paths


def _state(index_dir: Path) -> dict[str, str]:
    """``{uri: content hash}`` of the index, asserting one item per uri."""
    items = list(EmbeddingIndex.open(index_dir).iter_items())
    uris = [it["uri"] for it in items]
    assert len(uris) == len(set(uris)), "an uri is stored twice"
    return {it["uri"]: it["content_hash"] for it in items}


def _no_orphans(index_dir: Path) -> None:
    index = EmbeddingIndex.open(index_dir)
    names = sorted(p.name for p in index_dir.iterdir())
    assert names == [index.generation, "manifest.json", LOCK, "thumbs"], names  # one generation, no journal
    hashes = {it["content_hash"] for it in index.iter_items()}
    thumbs = [p for p in (index_dir / "thumbs").rglob("*") if p.is_file()]
    assert {p.stem for p in thumbs} == hashes  # exactly one thumbnail per content, no temp files
    assert not list(index_dir.rglob("*.tmp.*"))


def _hash_of(path: Path) -> str:
    from semspace.utils.hashing import file_sha256

    return file_sha256(path)


def test_the_folder_trial_ends_with_one_item_per_existing_path(run: Path, tmp_path: Path) -> None:
    photos, out = tmp_path / "photos", tmp_path / "idx"
    paths = _photos(photos)
    first = build_index(run, f"folder:{photos}", out, batch_size=2)
    assert (first["added"], first["embedded"], first["total"]) == (6, 6, 6)
    first_ids = {it["uri"]: it["id"] for it in EmbeddingIndex.open(out).iter_items()}
    same = build_index(run, f"folder:{photos}/", out)  # a trailing slash: the same source, nothing to do
    assert (same["unchanged"], same["embedded"], same["saved"]) == (6, 0, False)

    _picture(paths[0], 100)  # changed in place
    paths[1].unlink()  # deleted
    shutil.copy(paths[2], photos / "copy-of-p2.png")  # copied under a new name
    (photos / "broken.png").write_bytes(b"not a png at all")  # unreadable
    stats = build_index(run, f"folder:{photos}", out)
    assert (stats["added"], stats["updated"], stats["removed"], stats["unreadable"]) == (1, 1, 1, 1)
    assert (stats["embedded"], stats["reused"], stats["unchanged"]) == (1, 1, 4)  # the copy takes p2's embedding
    assert stats["unreadable_items"][0][0] == str((photos / "broken.png").resolve())
    assert stats["unreadable_items"][0][1].startswith("not a readable image")  # the reason, not the name again
    existing = sorted(p for p in photos.iterdir() if p.name != "broken.png")
    assert _state(out) == {str(p.resolve()): _hash_of(p) for p in existing}  # the new content, one item per path
    _no_orphans(out)
    searcher = Searcher(out)
    hit = searcher.search_image(paths[0], k=1, keep_query=True).hits[0]
    assert hit.uri == str(paths[0].resolve()) and hit.score == pytest.approx(1.0, abs=1e-4)
    ids = {it["uri"]: it["id"] for it in searcher.index.iter_items()}
    assert ids[str(paths[0].resolve())] == first_ids[str(paths[0].resolve())]  # updated in place: the same id


def test_a_killed_build_leaves_the_index_as_it_was_and_resumes(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos, out = tmp_path / "photos", tmp_path / "idx"
    paths = _photos(photos, 8)
    build_index(run, f"folder:{photos}", out)
    before = _state(out)
    for i, p in enumerate(paths[:5]):
        _picture(p, 200 + i)
    calls = {"n": 0}
    record = BuildJournal.record

    def killed_after_two(self: BuildJournal, entries: list[Any]) -> None:
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt("killed")
        record(self, entries)

    monkeypatch.setattr(BuildJournal, "record", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        build_index(run, f"folder:{photos}", out, batch_size=1)
    monkeypatch.undo()
    assert _state(out) == before  # the previous generation is untouched
    assert (out / JOURNAL_NAME).is_file()
    info = EmbeddingIndex.open(out).info()
    assert info["unfinished_build"] is True
    again = build_index(run, f"folder:{photos}", out, batch_size=1)
    assert (again["resumed"], again["embedded"], again["updated"]) == (2, 3, 5)  # nothing finished is redone
    assert _state(out) == {str(p.resolve()): _hash_of(p) for p in paths}
    _no_orphans(out)


def test_a_kill_after_embedding_everything_resumes_without_embedding(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos, out = tmp_path / "photos", tmp_path / "idx"
    paths = _photos(photos, 4)
    build_index(run, f"folder:{photos}", out)
    _picture(paths[3], 300)
    (photos / "new.png").write_bytes(paths[0].read_bytes()[:0] or b"")  # an empty file: unreadable
    _picture(photos / "extra.png", 301)

    def killed(self: EmbeddingIndex) -> None:  # thumbnails are written, the switch never happens
        raise KeyboardInterrupt("killed before the switch")

    monkeypatch.setattr(EmbeddingIndex, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        build_index(run, f"folder:{photos}", out)
    monkeypatch.undo()
    thumbnails_made: list[int] = []
    real_thumbnail_png = inputs.thumbnail_png
    monkeypatch.setattr(inputs, "thumbnail_png", lambda img: thumbnails_made.append(1) or real_thumbnail_png(img))
    again = build_index(run, f"folder:{photos}", out)
    assert thumbnails_made == [], "a resumed item's thumbnail is on disk: its file is not read again for it"
    assert (again["embedded"], again["resumed"], again["added"], again["updated"], again["unreadable"]) == (
        0,
        2,
        1,
        1,
        1,
    )
    _no_orphans(out)  # the killed build's thumbnails are either used now or gone


def test_strict_stops_at_the_first_unreadable_file_and_leaves_nothing(run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    _photos(photos, 2)
    (photos / "a-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DataError, match=r"a-broken\.png.*without --strict"):
        build_index(run, f"folder:{photos}", tmp_path / "idx", strict=True)
    assert not (tmp_path / "idx").exists()


def test_a_new_factory_rebuilds_without_embedding(run: Path, tmp_path: Path) -> None:
    photos, out = tmp_path / "photos", tmp_path / "idx"
    _photos(photos, 5)
    build_index(run, f"folder:{photos}", out)
    stats = build_index(run, f"folder:{photos}", out, factory="HNSW32")
    assert (stats["rebuilt_from"], stats["factory"], stats["embedded"], stats["saved"]) == ("Flat", "HNSW32", 0, True)
    assert EmbeddingIndex.open(out).factory == "HNSW32" and len(_state(out)) == 5
    kept = build_index(run, f"folder:{photos}", out)  # no --factory: the index keeps its own
    assert (kept["rebuilt_from"], kept["factory"], kept["saved"]) == (None, "HNSW32", False)


def test_sources_are_normalised(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    here = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert normalise_source("folder:x") == normalise_source(f"folder:{tmp_path}/x/") == f"folder:{tmp_path / 'x'}"
    finally:
        os.chdir(here)
    assert normalise_source("world_scenes:split=test,n=2") == normalise_source("world_scenes:n=2,split=test")


def test_cli_remove_and_info(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos, other, out = tmp_path / "photos", tmp_path / "other", tmp_path / "idx"
    _photos(photos, 3)
    _photos(other, 2)
    for src in (photos, other):
        assert main(["index", "build", "--run-dir", str(run), "--data", f"folder:{src}", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["index", "info", "--index", str(out)]) == 0
    text = capsys.readouterr().out
    assert (
        "5 items" in text and f"folder:{photos.resolve()} -> render3d: 3 items" in text and "render3d (image)" in text
    )
    assert main(["index", "remove", "--index", str(out), "--source", f"folder:{other}/"]) == 0
    assert "removed 2 item(s)" in capsys.readouterr().out and len(_state(out)) == 3
    assert main(["index", "remove", "--index", str(out), "--id", "0"]) == 0
    assert len(_state(out)) == 2
    assert main(["index", "remove", "--index", str(out), "--id", "0"]) == 1
    assert "no item with id [0]" in capsys.readouterr().err
    assert main(["index", "remove", "--index", str(out), "--source", "folder:/nowhere"]) == 1
    assert "holds no items of source" in capsys.readouterr().err
    _no_orphans(out)


@pytest.mark.timeout(120)  # opening the FIFO would hang the build: fail instead
def test_fifos_sockets_and_broken_links_are_skipped_and_listed(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    photos = tmp_path / "photos"
    paths = _photos(photos, 3)
    os.mkfifo(photos / "pipe.png")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(photos / "sock.png"))
    os.symlink(photos / "nowhere.png", photos / "dangling.png")
    try:
        stats = build_index(run, f"folder:{photos}", tmp_path / "idx")
        assert main(["index", "build", "--run-dir", str(run), "--data", f"folder:{photos}", "--out",
                     str(tmp_path / "idx2")]) == 0  # fmt: skip
    finally:
        sock.close()
    assert stats["added"] == 3 and stats["unreadable"] == 3
    reasons = {Path(uri).name: reason for uri, reason in stats["unreadable_items"]}
    assert set(reasons) == {"pipe.png", "sock.png", "dangling.png"}
    assert "a FIFO" in reasons["pipe.png"] and "a socket" in reasons["sock.png"]
    assert "broken link" in reasons["dangling.png"]
    assert set(_state(tmp_path / "idx")) == {str(p.resolve()) for p in paths}
    out = capsys.readouterr().out
    assert "3 unreadable" in out and "unreadable: " in out and "pipe.png: a FIFO, not a regular file" in out


def test_an_index_inside_its_own_source_is_never_read_as_part_of_it(run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    paths = _photos(photos, 4)
    inside = photos / "ix"
    first = build_index(run, f"folder:{photos}", inside)
    again = build_index(run, f"folder:{photos}", inside)  # its thumbnails are now under the source folder
    assert (first["added"], first["total"]) == (4, 4)
    assert (again["added"], again["listed"], again["total"], again["saved"]) == (0, 4, 4, False)
    assert set(_state(inside)) == {str(p.resolve()) for p in paths}
    # another index folder of an older layout (a manifest beside its database) is left out too
    old = photos / "old_index"
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    (old / "items.sqlite").write_bytes(b"")
    _picture(old / "thumb.png", 9)
    assert build_index(run, f"folder:{photos}", inside)["listed"] == 4


def test_copies_within_one_build_are_reused_not_reported_as_resumed(run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    paths = _photos(photos, 3)
    shutil.copy(paths[0], photos / "copy-of-p0.png")
    stats = build_index(run, f"folder:{photos}", tmp_path / "idx")  # no build was ever killed here
    assert (stats["added"], stats["embedded"], stats["reused"], stats["resumed"]) == (4, 3, 1, 0)


def test_factory_auto_chooses_by_size_says_why_and_moves_on_when_the_gallery_outgrows_it(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from semspace.cli.main import main
    from semspace.index import factory_choice

    photos, out = tmp_path / "photos", tmp_path / "idx"
    _photos(photos, 6)
    small = build_index(run, f"folder:{photos}", out, factory="auto")
    assert (small["factory"], small["added"]) == ("Flat", 6)
    assert main(["index", "info", "--index", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "factory chosen by --factory auto: 6 x 32-d: under 50,000 items exact search (Flat)" in printed
    monkeypatch.setattr(factory_choice, "EXACT_BELOW", 8)  # as if the gallery grew past exact search
    _photos(photos, 9)
    grown = build_index(run, f"folder:{photos}", out, factory="auto")
    index = EmbeddingIndex.open(out)
    assert (grown["rebuilt_from"], grown["factory"], grown["added"], grown["embedded"]) == ("Flat", "IVF1,Flat", 3, 3)
    assert index.factory == "IVF1,Flat" and len(index) == 9 and "9 x 32-d" in index.info()["factory_choice"]["reason"]
    assert [h.uri for h in index.search(index.stored_vectors("render3d", [_hash_of(photos / "p7.png")]).popitem()[1],
                                        k=1)[0]] == [str((photos / "p7.png").resolve())]  # fmt: skip
    again = build_index(run, f"folder:{photos}", out, factory="auto")  # the same choice: nothing to do
    assert (again["rebuilt_from"], again["saved"]) == (None, False)


def test_a_sidecar_file_attaches_fields_that_a_filter_selects_by(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos, out = tmp_path / "photos", tmp_path / "idx"
    paths = _photos(photos, 4)
    (photos / "fields.csv").write_text("path,year,place\np0.png,1999,home\np1.png,2005,\np2.png,2010,away\nx.png,1,\n")
    stats = build_index(run, f"folder:{photos}", out, fields=photos / "fields.csv")
    assert (stats["fields_changed"], stats["fields_unmatched"], stats["saved"]) == (3, 1, True)
    index = EmbeddingIndex.open(out)
    uris = {int(i): index.get_item(int(i))["uri"] for i in index.ids_matching(["year>=2005"])}  # type: ignore[index]
    assert sorted(Path(u).name for u in uris.values()) == ["p1.png", "p2.png"]
    assert [Path(h.uri).name for h in index.search(index.reconstruct(0)[None], k=4, where=["place=away"])[0]] == [
        "p2.png"
    ]
    assert main(["search", "--index", str(out), "--image", str(paths[0]), "--filter", "year>=2000", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert sorted(Path(h["uri"]).name for h in found["hits"]) == ["p1.png", "p2.png"]  # p0 is 1999, p3 has no year
    again = build_index(run, f"folder:{photos}", out, fields=photos / "fields.csv")
    assert (again["fields_changed"], again["saved"]) == (0, False), "the same sidecar again changes nothing"
    (photos / "fields.jsonl").write_text(f'{{"path": "{paths[3]}", "year": 2020}}\n')  # absolute paths too
    assert build_index(run, f"folder:{photos}", out, fields=photos / "fields.jsonl")["fields_changed"] == 1
    (photos / "bad.csv").write_text("file,year\np0.png,1\n")
    with pytest.raises(DataError, match=r"bad\.csv: the header has no 'path' column"):
        build_index(run, f"folder:{photos}", out, fields=photos / "bad.csv")
