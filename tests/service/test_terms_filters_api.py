"""Weighted multi-term queries (``POST /api/search/terms``) and filters (``filter`` on every search) through the API,
checked against ``Searcher`` itself."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from semspace.retrieval import Searcher
from semspace.retrieval.terms import QueryTerm
from semspace.service import ServiceSettings, create_app
from semspace.service.errors import CODES

if TYPE_CHECKING:
    from conftest import Served


@pytest.fixture(scope="module")
def client(composed: Served) -> Iterator[TestClient]:
    with TestClient(create_app(ServiceSettings(index=composed.index, max_k=50))) as c:
        yield c


def _ids(answer: dict[str, Any]) -> list[int]:
    return [h["id"] for h in answer["hits"]]


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["code"] == CODES[status][0]
    return str(body["detail"])


def test_a_negative_term_pushes_its_item_down(client: TestClient, composed: Served) -> None:
    render = {"in_domains": ["render3d"], "k": 50}  # every item of the collection
    alone = client.post("/api/search/terms", json={"terms": [{"kind": "item", "item": 0}], **render}).json()
    nearest = alone["hits"][0]["id"]  # the item most like item 0 (item 0 itself is left out)
    both = {"terms": [{"kind": "item", "item": 0}, {"kind": "item", "item": nearest, "weight": -1}], **render}
    pushed = client.post("/api/search/terms", json=both).json()
    assert pushed["query"]["kind"] == "terms" and [t["weight"] for t in pushed["query"]["terms"]] == [1.0, -1.0]
    assert _ids(pushed).index(nearest) >= len(pushed["hits"]) // 2, "the negative term's item drops to the bottom half"
    searcher = Searcher(composed.index, run_dir=composed.run)
    want = searcher.search_terms([QueryTerm("item", 0), QueryTerm("item", nearest, -1.0)], k=50,
                                 in_domains=["render3d"])  # fmt: skip
    assert _ids(pushed) == [h.id for h in want.hits]


def test_a_picture_term_and_a_text_term(client: TestClient, composed: Served) -> None:
    photo = (composed.photos / "photo_0.png").read_bytes()
    body = {"terms": [{"kind": "image", "data": base64.b64encode(photo).decode()},
                      {"kind": "text", "text": "a red cube", "weight": 0.5}], "k": 5}  # fmt: skip
    answer = client.post("/api/search/terms", json=body).json()
    assert len(answer["hits"]) == 5 and answer["query"]["terms"][0]["value"] == f"<picture of {len(photo)} bytes>"
    assert "photo_0.png" not in [h["name"] for h in answer["hits"]], "the picture's own indexed copy is left out"
    searcher = Searcher(composed.index, run_dir=composed.run)
    want = searcher.search_terms([QueryTerm("image", io.BytesIO(photo)), QueryTerm("text", "a red cube", 0.5)], k=5)
    assert _ids(answer) == [h.id for h in want.hits]


def test_filters_select_inside_every_search(client: TestClient, composed: Served) -> None:
    only_photos = ["path=*/photo_*"]
    by_item = client.post("/api/search", data={"item_id": "0", "k": "10", "filter": only_photos}).json()
    assert sorted(h["name"] for h in by_item["hits"]) == ["photo_0.png", "photo_1.png", "photo_2.png"]
    assert by_item["query"]["filter"] == only_photos
    assert any("meeting the filter" in n for n in by_item["notes"]), by_item["notes"]
    text = client.post("/api/search/text", json={"text": "a red cube", "k": 2, "filter": only_photos}).json()
    assert {h["name"] for h in text["hits"]} <= {"photo_0.png", "photo_1.png", "photo_2.png"} and len(text["hits"]) == 2
    terms = {"terms": [{"kind": "text", "text": "a cube"}], "k": 3, "filter": ["path=*/photo_1.png"]}
    assert [h["name"] for h in client.post("/api/search/terms", json=terms).json()["hits"]] == ["photo_1.png"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"terms": [{"kind": "text", "item": 3}]}, 400, "takes exactly its 'text' field"),
        ({"terms": [{"kind": "image", "data": "not base64!"}]}, 400, "not base64"),
        ({"terms": [{"kind": "image", "data": base64.b64encode(b"plain words").decode()}]}, 415, "not a picture"),
        ({"terms": [{"kind": "item", "item": 0, "weight": 0}]}, 400, "weight"),
        ({"terms": [{"kind": "item", "item": 0}], "filter": ["year>=old"]}, 400, "is not one"),
        ({"terms": []}, 422, "terms"),
    ],
)
def test_bad_terms_get_one_clear_line(client: TestClient, body: dict[str, Any], status: int, says: str) -> None:
    assert says in _error(client.post("/api/search/terms", json=body), status)
