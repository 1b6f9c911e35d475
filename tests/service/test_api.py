"""The JSON API through FastAPI's test client: every endpoint, its answers checked against ``Searcher`` itself, and
every error path (one JSON ``detail`` line, the right 4xx status)."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from semspace.data.domains import InputKind
from semspace.retrieval import Searcher
from semspace.service import ServiceSettings, create_app
from semspace.service.engine import ServiceEngine
from semspace.service.errors import CODES, ServiceError

if TYPE_CHECKING:
    from conftest import Served


def _client(served: Served, searcher: Searcher | None = None, **settings: object) -> TestClient:
    return TestClient(create_app(ServiceSettings(index=served.index, **settings), searcher=searcher))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(composed: Served) -> Iterator[TestClient]:
    with _client(composed, max_upload_bytes=200_000, max_pixels=1_000_000, max_k=50) as c:
        yield c


@pytest.fixture(scope="module")
def sketch_client(sketchy: Served) -> Iterator[TestClient]:
    with _client(sketchy) as c:
        yield c


def _png(size: tuple[int, int] = (40, 40), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def _detail(response: object, status: int) -> str:
    r = response  # one JSON line saying what was wrong
    assert r.status_code == status, (r.status_code, r.text)  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    detail = body["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail, detail
    assert body == {"detail": detail, "code": CODES[status][0]}  # the machine-readable code of the status, no more
    return detail


# ---- health, info, the page ---------------------------------------------------------------------------------------
def test_health_info_and_the_page(client: TestClient, composed: Served) -> None:
    assert client.get("/api/health").json() == {"status": "ok", "version": client.get("/api/info").json()["version"],
                                                "items": 43}  # fmt: skip
    info = client.get("/api/info").json()
    assert info["task"] == "transfer" and info["capabilities"] == ["compose"] and info["modify_domains"] == ["render3d"]
    assert info["task_title"] == "composed retrieval (TIRG, transferred)"  # the header's words, not the registry name
    panels = {p["name"]: p for p in info["panels"]}
    assert [n for n, p in panels.items() if p["available"]] == ["image", "text"]
    assert "no sketch domain" in panels["sketch"]["why"] and "cannot translate" in panels["translate"]["why"]
    assert info["index"]["domains"] == {"render3d": 23, "text": 20} and info["default_domains"]["image"] == "render3d"
    assert info["limits"]["max_k"] == 50 and info["auth"] is False
    page = client.get("/")
    assert page.status_code == 200 and 'data-panel="sketch"' in page.text and "/static/app.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/app.js").status_code == 200 and client.get("/static/app.css").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert {"/api/search", "/api/search/sketch", "/api/search/text", "/api/translate",
            "/api/items/{item_id}/image"} <= set(schema["paths"])  # fmt: skip


def test_the_sketch_run_offers_sketch_but_not_compose_or_text(sketch_client: TestClient) -> None:
    info = sketch_client.get("/api/info").json()
    assert [p["name"] for p in info["panels"] if p["available"]] == ["image", "sketch"]
    assert info["capabilities"] == [] and info["modify_domains"] == []


# ---- composed search -------------------------------------------------------------------------------------------------
def test_upload_search_is_the_searchers_answer_and_leaves_the_file_itself_out(
    client: TestClient, composed: Served
) -> None:
    photo = composed.photos / "photo_1.png"
    data = photo.read_bytes()
    kept = client.post("/api/search", files={"image": ("p.png", data)}, data={"k": "5", "keep_query": "true"}).json()
    top = kept["hits"][0]
    assert top["name"] == "photo_1.png" and top["score"] == pytest.approx(1.0, abs=1e-4) and top["image"]
    assert kept["query"] == {
        "kind": "image",
        "domain": "render3d",
        "modify": None,
        "item": None,
        "terms": None,
        "filter": None,
    }
    assert [h["rank"] for h in kept["hits"]] == [1, 2, 3, 4, 5]
    plain = client.post("/api/search", files={"image": ("p.png", data)}, data={"k": "5"}).json()
    assert plain["excluded"] == [top["id"]] and "left out 1 hit(s)" in plain["notes"][0]
    ref = Searcher(composed.index).search_image(photo, k=5)
    assert [h["id"] for h in plain["hits"]] == [h.id for h in ref.hits]
    np.testing.assert_allclose([h["score"] for h in plain["hits"]], [h.score for h in ref.hits], atol=1e-5)


def test_item_search_with_a_modification_reports_unknown_words(client: TestClient, composed: Served) -> None:
    text = "make the large red cube zorblax"
    got = client.post("/api/search", data={"item_id": "3", "modify": text, "k": "7"}).json()
    ref = Searcher(composed.index).search_item(3, modify=text, k=7)
    assert got["unknown_words"] == ["zorblax"] == ref.unknown_words
    assert [h["id"] for h in got["hits"]] == [h.id for h in ref.hits] and 3 not in [h["id"] for h in got["hits"]]
    assert got["query"]["kind"] == "item" and got["query"]["item"]["id"] == 3 and got["query"]["modify"] == text
    plain = client.post("/api/search", data={"item_id": "3", "k": "7"}).json()
    assert [h["score"] for h in plain["hits"]] != [h["score"] for h in got["hits"]]
    blank = client.post("/api/search", data={"item_id": "3", "k": "7", "modify": "  "}).json()
    assert blank["hits"] == plain["hits"] and any("plain search" in n for n in blank["notes"])
    only_text = client.post("/api/search", data={"item_id": "3", "in_domain": "text", "k": "3"}).json()
    assert {h["domain"] for h in only_text["hits"]} == {"text"} and only_text["searched_domains"] == ["text"]


def test_text_search(client: TestClient, composed: Served) -> None:
    searcher = Searcher(composed.index)
    caption = next(it["caption"] for it in searcher.index.iter_items() if it["domain"] == "text")
    got = client.post("/api/search/text", json={"text": caption, "k": 4, "in_domains": ["render3d"]}).json()
    ref = searcher.search_text(caption, k=4, in_domains=["render3d"])
    assert [h["id"] for h in got["hits"]] == [h.id for h in ref.hits] and got["query"]["domain"] == "text"
    assert all(h["thumbnail"] for h in got["hits"])
    texts = client.post("/api/search/text", json={"text": caption, "k": 3, "in_domains": ["text"]}).json()
    assert all(h["thumbnail"] is None and h["caption"] for h in texts["hits"])


def test_sketch_search(sketch_client: TestClient, sketchy: Served) -> None:
    img = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(img).line([(40, 40), (200, 180), (60, 220)], fill="black", width=6)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    got = sketch_client.post("/api/search/sketch", files={"sketch": ("s.png", buf.getvalue())}, data={"k": "4"})
    answer = got.json()
    assert got.status_code == 200 and answer["query"]["kind"] == "sketch" and answer["query"]["domain"] == "blobs2d"
    ref = Searcher(sketchy.index).search_sketch(img, k=4)
    assert [h["id"] for h in answer["hits"]] == [h.id for h in ref.hits]


# ---- items --------------------------------------------------------------------------------------------------------
def test_items_thumbnails_and_source_files(client: TestClient, composed: Served) -> None:
    page = client.get("/api/items", params={"domain": "render3d", "limit": 5}).json()
    assert page["total"] == 23 and len(page["items"]) == 5 and page["offset"] == 0
    rest = client.get("/api/items", params={"domain": "render3d", "offset": 20, "limit": 5}).json()
    assert len(rest["items"]) == 3 and not {i["id"] for i in rest["items"]} & {i["id"] for i in page["items"]}
    assert client.get("/api/items").json()["total"] == 43
    first = page["items"][0]
    assert client.get(f"/api/items/{first['id']}").json() == first
    thumb = client.get(first["thumbnail"])
    assert thumb.headers["content-type"] == "image/png" and Image.open(io.BytesIO(thumb.content)).size[0] > 0
    assert client.get(first["thumbnail"], headers={"If-None-Match": thumb.headers["etag"]}).status_code == 304
    photo = next(
        i for i in client.get("/api/items", params={"limit": 100}).json()["items"] if i["name"] == "photo_2.png"
    )
    full = client.get(photo["image"])
    assert (
        full.content == (composed.photos / "photo_2.png").read_bytes() and full.headers["content-type"] == "image/png"
    )
    assert "not indexed from a file" in _detail(client.get(f"/api/items/{first['id']}/image"), 404)
    text_item = next(i for i in client.get("/api/items", params={"domain": "text"}).json()["items"])
    assert text_item["thumbnail"] is None
    assert "has no thumbnail" in _detail(client.get(f"/api/items/{text_item['id']}/thumbnail"), 404)


@pytest.mark.parametrize("path", [
    "/api/items/999/thumbnail", "/api/items/999/image", "/api/items/999",
])  # fmt: skip
def test_unknown_items_are_404(client: TestClient, path: str) -> None:
    assert "is not in the index" in _detail(client.get(path), 404)


@pytest.mark.parametrize("path", [
    "/api/items/-1/image", "/api/items/abc/thumbnail", "/api/items/..%2F..%2Fetc%2Fpasswd/image",
    "/api/items/1e3/image", "/api/items/99999999999999999999999/image",
])  # fmt: skip
def test_malformed_item_ids_never_reach_a_file(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code in (404, 422) and isinstance(r.json()["detail"], str)


# ---- bad requests -------------------------------------------------------------------------------------------------
def test_search_errors_are_one_clear_line(client: TestClient) -> None:
    png = _png()
    assert "exactly one query" in _detail(client.post("/api/search", data={"k": "3"}), 422)
    both = client.post("/api/search", files={"image": ("a.png", png)}, data={"item_id": "1"})
    assert "exactly one query" in _detail(both, 422)
    assert "item 999 is not in the index" in _detail(client.post("/api/search", data={"item_id": "999"}), 404)
    assert "item_id" in _detail(client.post("/api/search", data={"item_id": "-1"}), 422)
    assert "item_id" in _detail(client.post("/api/search", data={"item_id": "three"}), 422)
    too_many = _detail(client.post("/api/search", data={"item_id": "1", "k": "51"}), 422)
    assert too_many.startswith("invalid request: k") and "50" in too_many
    assert "k" in _detail(client.post("/api/search", data={"item_id": "1", "k": "0"}), 422)
    assert "modify" in _detail(client.post("/api/search", data={"item_id": "1", "modify": "x" * 501}), 422)
    not_a_picture = client.post("/api/search", files={"image": ("evil.png", b"<svg onload=alert(1)>")})
    assert "is not a picture" in _detail(not_a_picture, 415) and "evil.png" in _detail(not_a_picture, 415)
    assert "is empty" in _detail(client.post("/api/search", files={"image": ("e.png", b"")}), 400)
    truncated = _detail(client.post("/api/search", files={"image": ("cut.png", png[: len(png) // 2])}), 400)
    assert "cut.png" in truncated and "semspace-upload" not in truncated  # names the upload, not a temp file
    bomb = io.BytesIO()
    Image.new("L", (2000, 1000)).save(bomb, format="PNG")  # a few KB that decode to 2 megapixels
    assert "2000x1000 = 2000000 pixels; the limit is 1000000" in _detail(
        client.post("/api/search", files={"image": ("big.png", bomb.getvalue())}), 413
    )
    assert "domain 'text' is of kind text" in _detail(
        client.post("/api/search", files={"image": ("a.png", png)}, data={"domain": "text"}), 400
    )
    assert "the index holds" in _detail(client.post("/api/search", data={"item_id": "1", "in_domain": "nope"}), 400)
    text_id = client.get("/api/items", params={"domain": "text", "limit": 1}).json()["items"][0]["id"]
    assert "not of domain 'text'" in _detail(
        client.post("/api/search", data={"item_id": str(text_id), "modify": "make it red"}), 400
    )  # a text item cannot be modified by this composer


def test_bodies_over_the_limit_are_refused_before_parsing(client: TestClient) -> None:
    big = b"\x89PNG\r\n\x1a\n" + bytes(250_000)
    assert "the limit is 200000 bytes" in _detail(client.post("/api/search", files={"image": ("b.png", big)}), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while the body streams in
        for _ in range(30):
            yield bytes(10_000)

    r = client.post("/api/search/text", content=chunks(), headers={"Content-Type": "application/json"})
    assert "the limit is 200000 bytes" in _detail(r, 413)


def test_text_errors(client: TestClient) -> None:
    assert "text is blank" in _detail(client.post("/api/search/text", json={"text": "   "}), 422)
    assert "text" in _detail(client.post("/api/search/text", json={"text": ""}), 422)
    assert "text" in _detail(client.post("/api/search/text", json={"text": "a" * 501}), 422)
    assert "k" in _detail(client.post("/api/search/text", json={"text": "a", "k": 1000}), 422)
    assert "bogus" in _detail(client.post("/api/search/text", json={"text": "a", "bogus": 1}), 422)
    assert "invalid request" in _detail(client.post("/api/search/text", content=b"{not json"), 422)
    assert "domain 'render3d' is of kind image" in _detail(
        client.post("/api/search/text", json={"text": "a", "domain": "render3d"}), 400
    )


def test_what_a_run_cannot_do_is_409(client: TestClient, sketch_client: TestClient) -> None:
    png = _png()
    assert "cannot search by sketch" in _detail(
        client.post("/api/search/sketch", files={"sketch": ("s.png", png)}), 409
    )
    assert "cannot search by text" in _detail(sketch_client.post("/api/search/text", json={"text": "a cube"}), 409)
    modified = sketch_client.post("/api/search", data={"item_id": "1", "modify": "make it red"})
    assert "this run cannot compose" in _detail(modified, 409)
    for c in (client, sketch_client):
        r = c.post("/api/translate", files={"content": ("c.png", png), "exemplar": ("e.png", png)})
        assert _detail(r, 409).startswith("this run cannot translate")


def test_unknown_routes_and_methods(client: TestClient) -> None:
    assert "/api/openapi.json" in _detail(client.get("/api/nothing"), 404)
    assert "method not allowed" in _detail(client.get("/api/search"), 405)


# ---- translate ------------------------------------------------------------------------------------------------------
def _digit_png(styled: bool) -> bytes:
    """A digit-like bar: white on black (domain a of the world's pairs) or yellow on purple (domain b)."""
    a = np.zeros((24, 24, 3), np.uint8)
    a[:] = (90, 20, 120) if styled else (0, 0, 0)
    a[4:20, 10:14] = (240, 220, 30) if styled else (255, 255, 255)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def test_translate_both_directions_with_an_egsc_it_run(translator: Served) -> None:
    with _client(translator) as c:
        info = c.get("/api/info").json()
        assert "translate" in info["capabilities"] and {p["name"]: p for p in info["panels"]}["translate"]["available"]
        a, b = _digit_png(False), _digit_png(True)
        for direction, content, exemplar in (("a2b", a, b), ("b2a", b, a)):
            r = c.post("/api/translate", files={"content": ("c.png", content), "exemplar": ("e.png", exemplar)},
                       data={"direction": direction})  # fmt: skip
            assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
            assert Image.open(io.BytesIO(r.content)).size == (16, 16)  # the model's resolution
        swapped = c.post("/api/translate", files={"content": ("c.png", b), "exemplar": ("e.png", a)})  # a2b
        assert "the content looks like domain 'b'" in _detail(swapped, 422) and "direction b2a" in swapped.text
        wrong = c.post("/api/translate", files={"content": ("c.png", a), "exemplar": ("e.png", b)},
                       data={"direction": "sideways"})  # fmt: skip
        assert wrong.status_code == 422
        bad = c.post("/api/translate", files={"content": ("c.png", b"nope"), "exemplar": ("e.png", b)})
        assert "content 'c.png' is not a picture" in _detail(bad, 415)


def test_translate_reads_each_picture_as_its_own_domain(composed: Served) -> None:
    """A stand-in translator on the composed run (image domain render3d only): both pictures are read as it."""
    searcher = Searcher(composed.index)
    seen: dict[str, object] = {}

    def fake(content: torch.Tensor, exemplar: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        seen["direction"], seen["shapes"] = direction, (tuple(content.shape), tuple(exemplar.shape))
        return exemplar

    searcher.task.translate = fake  # type: ignore[attr-defined]  # the Translates protocol
    with _client(composed, searcher) as c:
        r = c.post("/api/translate", files={"content": ("c.png", _png()), "exemplar": ("e.png", _png((20, 30)))},
                   data={"direction": "b2a"})  # fmt: skip
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        out = Image.open(io.BytesIO(r.content))
        assert out.size == (32, 32) and out.convert("RGB").getpixel((16, 16))[0] > 150  # the exemplar's red
        assert seen == {"direction": "b2a", "shapes": ((1, 3, 32, 32), (1, 3, 32, 32))}


# ---- security and reliability ---------------------------------------------------------------------------------------
def test_the_token_guards_the_api_but_not_health_or_the_page(composed: Served) -> None:
    with _client(composed, api_token="s3cret") as c:
        assert c.get("/api/health").status_code == 200 and c.get("/").status_code == 200
        missing = c.get("/api/info")
        assert "no bearer token" in _detail(missing, 401) and missing.headers["www-authenticate"] == "Bearer"
        assert "a wrong token" in _detail(c.get("/api/info", headers={"Authorization": "Bearer s3creT"}), 401)
        assert "a wrong token" in _detail(c.get("/api/items/1/thumbnail", headers={"Authorization": "s3cret"}), 401)
        ok = c.get("/api/info", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json()["auth"] is True


def test_cors_is_off_unless_origins_are_given(client: TestClient, composed: Served) -> None:
    origin = {"Origin": "http://elsewhere.example"}
    assert "access-control-allow-origin" not in client.get("/api/health", headers=origin).headers
    with _client(composed, cors_origins=["http://elsewhere.example"]) as c:
        got = c.get("/api/health", headers=origin).headers
        assert got["access-control-allow-origin"] == "http://elsewhere.example"


def test_settings_come_from_semspace_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEMSPACE_INDEX", str(tmp_path))
    monkeypatch.setenv("SEMSPACE_MAX_K", "7")
    monkeypatch.setenv("SEMSPACE_API_TOKEN", "tok-XYZ-123")
    monkeypatch.setenv("SEMSPACE_CORS_ORIGINS", '["http://a.example"]')
    s = ServiceSettings()  # type: ignore[call-arg]
    assert (s.index, s.max_k, s.cors_origins) == (tmp_path, 7, ["http://a.example"])
    assert s.api_token is not None and s.api_token.get_secret_value() == "tok-XYZ-123" and "XYZ" not in repr(s)
    assert ServiceSettings(index=tmp_path, max_k=3).max_k == 3  # arguments win


def test_requests_never_write_the_index(composed: Served, client: TestClient) -> None:
    def snapshot() -> dict[str, tuple[int, int]]:
        return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in composed.index.rglob("*") if p.is_file()}

    before = snapshot()
    client.post("/api/search", files={"image": ("p.png", (composed.photos / "photo_0.png").read_bytes())})
    client.post("/api/search", data={"item_id": "2", "modify": "make the red cube blue"})
    client.post("/api/search/text", json={"text": "a red cube"})
    client.get("/api/items/2/thumbnail")
    assert snapshot() == before


def test_a_slow_query_times_out_and_a_full_queue_is_busy(composed: Served) -> None:
    engine = ServiceEngine(ServiceSettings(index=composed.index, request_timeout_s=0.05, max_pending=1))
    try:
        with pytest.raises(ServiceError) as slow:
            asyncio.run(engine.run(time.sleep, 2))  # the pool's thread finishes its sleep; the request does not wait
        assert slow.value.status == 504 and "longer than 0.05 s" in slow.value.detail
        engine.model.pending = 1  # one request already waiting
        with pytest.raises(ServiceError) as busy:
            asyncio.run(engine.run(len, "x"))
        assert busy.value.status == 503 and busy.value.headers == {"Retry-After": "1"}
        assert asyncio.run(engine.read(len, "xy")) == 2  # the read pool has its own queue: not busy
        engine.reads.pending = 1
        with pytest.raises(ServiceError) as busy_reads:
            asyncio.run(engine.read(len, "x"))
        assert busy_reads.value.status == 503 and "read worker" in busy_reads.value.detail
    finally:
        engine.model.pending = engine.reads.pending = 0
        engine.close()


def test_concurrent_model_work_and_reads_answer_as_one_at_a_time(composed: Served) -> None:
    """Model work in 4 threads without a lock, item reads on the event loop and gallery pages in the read pool, all
    at once on one generation (one shared SQLite connection): every answer is the one a lone request gets."""
    engine = ServiceEngine(ServiceSettings(index=composed.index, model_workers=4))
    view = engine.view()
    texts = [str(it["caption"]) for it in view.index.iter_items() if it["domain"] == "text"][:6]
    photo = composed.photos / "photo_2.png"
    opts = {"k": 8, "in_domains": None, "keep_query": False}

    def work() -> list[tuple[str, Any, Any]]:
        out: list[tuple[str, Any, Any]] = []
        for t in texts:
            out.append(("text", view.search, ((t,), {"kind": InputKind.TEXT, "domain": None, "modify": None, **opts})))
        for item in range(6):
            out.append(("item", view.search_item, ((item,), {"modify": "make the red cube blue", **opts})))
        image = {"kind": InputKind.IMAGE, "domain": None, "modify": None, **opts}
        out.append(("image", view.search, ((photo,), image)))
        return out

    def strip(answer: Any) -> Any:
        return {k: v for k, v in answer.items() if k != "seconds"} if isinstance(answer, dict) else answer

    serial = [strip(fn(*a, **kw)) for _, fn, (a, kw) in work()]
    reads = [view.get_item(i) for i in range(10)]
    page = view.list_items(None, 0, 20)

    async def together() -> tuple[list[Any], list[Any], list[Any]]:
        searches = [engine.run(fn, *a, **kw) for _, fn, (a, kw) in work() * 3]
        pages = [engine.read(view.list_items, None, 0, 20) for _ in range(6)]
        got = await asyncio.gather(*searches, *pages)
        items = [await engine.read_now(view.get_item, i) for i in range(10)]
        return list(got[: len(searches)]), list(got[len(searches) :]), items

    try:
        got, pages, items = asyncio.run(together())
    finally:
        engine.close()
    assert [strip(a) for a in got] == serial * 3
    assert pages == [page] * 6 and items == reads
