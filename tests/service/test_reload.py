"""A running service follows its index: a rebuild is served within 2 s (a real ``semspace serve`` and a separate
``semspace index build``), in-flight requests keep the old generation and its thumbnails, ``POST /api/reload``
(behind the token), a failed reopen keeps the old generation serving, and the once-a-second throttle."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from semspace.retrieval import build_index
from semspace.service import ServiceSettings, create_app
from semspace.service.engine import ServiceEngine
from semspace.service.index_follower import MAX_BACKOFF_S, IndexFollower

if TYPE_CHECKING:
    from conftest import Served

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _photos(folder: Path, n: int = 6) -> Path:
    """``n`` PNGs of distinct content (``photo_0.png`` ...)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (36, 36, 3), dtype=np.uint8)).save(folder / f"photo_{i}.png")
    return folder


def _sync(run: Path, photos: Path, index: Path) -> None:
    build_index(run, f"folder:{photos}", index, domain="render3d")
    gc.collect()  # nothing of the build's own objects leases a generation afterwards


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in items}


# ---- (a) the Done-when test: a real `semspace serve`, rebuilt by a separate `semspace index build` ---------------
def _start_serve(index: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "semspace", "serve", "--index", str(index), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log.open("w"), text=True, env=env)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    line = proc.stdout.readline() if ready else ""
    found = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
    if found is None:
        proc.kill()
        raise AssertionError(f"semspace serve did not start: {line!r}; {log.read_text()[-2000:]}")
    return proc, found.group(1)


def _index_build(run: Path, photos: Path, index: Path) -> None:
    cmd = [sys.executable, "-m", "semspace", "index", "build", "--run-dir", str(run), "--data", f"folder:{photos}",
           "--out", str(index), "--domain", "render3d"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-2000:]


def _shown(http: httpx.Client, query_id: int) -> tuple[set[str], set[int]]:
    """The names ``/api/items`` lists and the ids a search (an item query, k beyond the index) returns."""
    items = http.get("/api/items", params={"limit": 200}).json()["items"]
    hits = http.post("/api/search", data={"item_id": str(query_id), "k": "50"}).json()["hits"]
    return {i["name"] for i in items}, {h["id"] for h in hits}


@pytest.mark.slow
def test_a_running_service_stops_returning_a_removed_file_within_2_s(composed: Served, tmp_path: Path) -> None:
    photos, index = _photos(tmp_path / "photos"), tmp_path / "index"
    _sync(composed.run, photos, index)
    proc, url = _start_serve(index, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            first = http.get("/api/info").json()["index"]["generation"]
            items = _by_name(http.get("/api/items", params={"limit": 200}).json()["items"])
            gone, query = items["photo_1.png"], items["photo_0.png"]
            names, hit_ids = _shown(http, query["id"])
            assert "photo_1.png" in names and gone["id"] in hit_ids  # served before the rebuild
            (photos / "photo_1.png").unlink()
            _index_build(composed.run, photos, index)
            finished = time.monotonic()
            while True:  # poll every 0.1 s, up to 2 s after the rebuild finished
                names, hit_ids = _shown(http, query["id"])
                if "photo_1.png" not in names and gone["id"] not in hit_ids:
                    break
                assert time.monotonic() - finished < 2.0, "the service still returns the removed file after 2 s"
                time.sleep(0.1)
            second = http.get("/api/info").json()["index"]["generation"]
            assert second != first and (index / first).is_dir()  # the old one was still leased at the save
            assert http.get(f"/api/items/{gone['id']}").status_code == 404
            assert http.get(f"/api/items/{query['id']}/thumbnail").status_code == 200
            # the service let go of the first generation: the next save deletes it, keeping the one served
            (photos / "photo_2.png").unlink()
            _index_build(composed.run, photos, index)
            assert not (index / first).exists() and (index / second).is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# ---- (b) in-flight requests keep the old generation and its thumbnails --------------------------------------------
def test_an_old_generation_keeps_its_thumbnails_while_a_request_uses_it(composed: Served, tmp_path: Path) -> None:
    photos, index = _photos(tmp_path / "photos"), tmp_path / "index"
    _sync(composed.run, photos, index)
    engine = ServiceEngine(ServiceSettings(index=index))
    try:
        old = engine.view()  # a request that started on the first generation and has not finished
        gone = _by_name(old.list_items(None, 0, 100)["items"])["photo_1.png"]
        thumb = old.index.thumbnail_path(gone["id"])
        assert thumb is not None and thumb.is_file()
        (photos / "photo_1.png").unlink()
        _sync(composed.run, photos, index)
        before, after = asyncio.run(engine.follower.reload())
        assert before == old.generation != after == engine.follower.current.generation
        now = engine.follower.current
        assert "photo_1.png" not in _by_name(now.list_items(None, 0, 100)["items"])
        (photos / "photo_2.png").unlink()
        _sync(composed.run, photos, index)  # a later save: its clean-up deletes what no reader uses
        data, etag = old.thumbnail(gone["id"])  # the request still reads its generation, thumbnails included
        assert data.startswith(PNG_MAGIC) and etag == str(old.index.get_item(gone["id"])["content_hash"])
        assert (index / old.generation).is_dir() and thumb.is_file()
        first = old.generation
        del old, now  # the request ends; the engine moves on to the newest generation
        asyncio.run(engine.follower.reload())
        gc.collect()
        (photos / "photo_3.png").unlink()
        _sync(composed.run, photos, index)
        assert not (index / first).exists() and not thumb.exists()  # let go of, then cleaned up
    finally:
        engine.close()


# ---- (c) POST /api/reload -------------------------------------------------------------------------------------------
def test_reload_answers_the_generations_and_needs_the_token(composed: Served, tmp_path: Path) -> None:
    photos, index = _photos(tmp_path / "photos"), tmp_path / "index"
    _sync(composed.run, photos, index)
    with TestClient(create_app(ServiceSettings(index=index, api_token="s3cret"))) as c:  # type: ignore[arg-type]
        auth = {"Authorization": "Bearer s3cret"}
        assert c.post("/api/reload").status_code == 401
        assert c.post("/api/reload", headers={"Authorization": "Bearer nope"}).status_code == 401
        first = c.get("/api/info", headers=auth).json()["index"]["generation"]
        same = c.post("/api/reload", headers=auth).json()
        assert same == {"before": first, "after": first, "changed": False, "items": 6}
        (photos / "photo_4.png").unlink()
        _sync(composed.run, photos, index)
        moved = c.post("/api/reload", headers=auth).json()
        assert moved["before"] == first and moved["after"] != first and moved["changed"] and moved["items"] == 5
        info = c.get("/api/info", headers=auth).json()["index"]
        assert info["generation"] == moved["after"] and info["reload_error"] is None and info["items"] == 5
        was = _by_name(c.get("/api/items", headers=auth).json()["items"])["photo_0.png"]
        etag = c.get(was["thumbnail"], headers=auth).headers["etag"]
        Image.new("RGB", (36, 36), (10, 200, 90)).save(photos / "photo_0.png")  # re-embedded in place: same id
        _sync(composed.run, photos, index)
        assert c.post("/api/reload", headers=auth).json()["changed"]
        now = _by_name(c.get("/api/items", headers=auth).json()["items"])["photo_0.png"]
        assert now["id"] == was["id"] and now["thumbnail"] != was["thumbnail"]  # no stale picture from a cache
        assert c.get(now["thumbnail"], headers=auth).headers["etag"] != etag
        schema = c.get("/api/openapi.json", headers=auth).json()
        answer = schema["paths"]["/api/reload"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert (
            answer == {"$ref": "#/components/schemas/Reload"}
            and "409" in schema["paths"]["/api/reload"]["post"]["responses"]
        )
    with TestClient(create_app(ServiceSettings(index=index))) as c:  # no token configured: open like the rest
        assert c.post("/api/reload").json()["changed"] is False


# ---- (d) a failed reopen keeps the old generation serving -----------------------------------------------------------
def test_a_failed_reopen_keeps_the_old_generation_serving(
    composed: Served, sketchy: Served, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="semspace.service.index_follower")
    photos, index = _photos(tmp_path / "photos"), tmp_path / "index"
    _sync(composed.run, photos, index)
    with TestClient(create_app(ServiceSettings(index=index))) as c:
        first = c.get("/api/info").json()["index"]["generation"]
        manifest = index / "manifest.json"
        manifest.rename(tmp_path / "manifest.json")  # half-removed
        for _ in range(2):
            r = c.post("/api/reload")
            assert r.status_code == 409 and "is not an index folder" in r.json()["detail"], r.text
            assert f"still serving {first}" in r.json()["detail"]
        info = c.get("/api/info").json()["index"]
        assert info["generation"] == first and "is not an index folder" in info["reload_error"]
        assert c.get("/api/items").json()["total"] == 6
        assert len(c.post("/api/search", data={"item_id": "0", "k": "3"}).json()["hits"]) == 3
        assert len([r for r in caplog.records if "cannot be served" in r.getMessage()]) == 1  # one warning
        (tmp_path / "manifest.json").rename(manifest)  # put back: what is on disk is what is served again
        back = c.post("/api/reload").json()
        assert back == {"before": first, "after": first, "changed": False, "items": 6}
        assert c.get("/api/info").json()["index"]["reload_error"] is None

        shutil.rmtree(index)  # rebuilt from scratch with another model: noticed by the requests' own looks
        _sync(sketchy.run, photos, index)
        deadline = time.monotonic() + 10
        while (error := c.get("/api/info").json()["index"]["reload_error"]) is None:
            assert time.monotonic() < deadline, "the failed reopen was never reported"
            time.sleep(0.1)
        assert "was built with checkpoint" in error and "differ in weights" in error
        assert c.get("/api/info").json()["index"]["generation"] == first
        assert len(c.post("/api/search", data={"item_id": "1", "k": "3"}).json()["hits"]) == 3
        assert "still serving" in _detail(c.post("/api/reload"), 409)


def _detail(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    return str(r.json()["detail"])


# ---- the throttle and the back-off ----------------------------------------------------------------------------------
class _StubIndex:
    root = Path("idx")

    def __init__(self, looks: list[int], newest: bool) -> None:
        self.looks, self.newest = looks, newest

    def __len__(self) -> int:
        return 0

    def changed_on_disk(self) -> bool:
        self.looks.append(1)
        return not self.newest


class _Stub:
    """A stand-in ``GenerationView``: counts the looks at the folder; ``reopened`` fails while ``broken``."""

    def __init__(self, looks: list[int], broken: list[bool], generation: str = "gen-000001") -> None:
        self.looks, self.broken, self.generation = looks, broken, generation
        self.index = _StubIndex(looks, newest=generation == "gen-000002")

    def reopened(self) -> _Stub:
        if self.broken[0]:
            raise RuntimeError("damaged")
        return _Stub(self.looks, self.broken, "gen-000002")


def test_the_folder_is_looked_at_at_most_once_a_second_and_less_after_failures() -> None:
    now, looks, broken = [0.0], [], [True]
    follower = IndexFollower(_Stub(looks, broken), every_s=1.0, clock=lambda: now[0])  # type: ignore[arg-type]
    try:
        for t in (0.0, 0.5, 0.99):
            now[0] = t
            follower.poll()
        assert looks == []  # not yet a second
        now[0] = 1.0
        follower.poll()
        follower.poll()
        assert follower._reopening is not None
        follower._reopening.result(timeout=10)
        assert len(looks) == 2 and follower.error == "damaged"  # the poll's stat, then the reopen's own
        assert follower.current.generation == "gen-000001"
        looks.clear()
        now[0] = 2.5  # after a failure the next try waits 2 s, not 1
        follower.poll()
        assert looks == []
        broken[0] = False
        now[0] = 3.01
        follower.poll()
        assert follower._reopening is not None
        follower._reopening.result(timeout=10)
        assert follower.current.generation == "gen-000002" and follower.error is None
        assert MAX_BACKOFF_S >= 2
    finally:
        follower.close()
