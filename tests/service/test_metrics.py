"""``/metrics`` scraped: Prometheus's text format, requests and latency per route template and status, the pools,
the index's items per domain and generation; 401 without the token when one is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from semspace.service import ServiceSettings, create_app

if TYPE_CHECKING:
    from conftest import Served


def _scrape(client: TestClient, **headers: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def _value(samples: list[tuple[dict[str, str], float]], **labels: str) -> float:
    return sum(v for lab, v in samples if all(lab.get(k) == x for k, x in labels.items()))


def test_metrics_count_requests_by_route_template_and_show_the_pools_and_the_index(composed: Served) -> None:
    with TestClient(create_app(ServiceSettings(index=composed.index, max_upload_bytes=2048, model_workers=3))) as c:
        for item in (0, 1, 2):
            assert c.get(f"/api/items/{item}").status_code == 200
        assert c.get("/api/items/999999").status_code == 404
        assert c.get("/api/items/1/thumbnail").status_code == 200
        assert c.post("/api/search/text", json={"text": "a red cube", "k": 3}).status_code == 200
        assert c.post("/api/search", files={"image": ("big.png", b"\x89PNG" + b"0" * 4096)}).status_code == 413
        assert c.get("/no/such/page").status_code == 404
        m = _scrape(c)
        engine = c.app.state.engine  # type: ignore[attr-defined]
        view = engine.follower.current

    requests = m["semspace_http_requests_total"]
    assert _value(requests, route="/api/items/{item_id}", status="200", method="GET") == 3
    assert _value(requests, route="/api/items/{item_id}", status="404") == 1
    assert _value(requests, route="/api/items/{item_id}/thumbnail", status="200") == 1
    assert _value(requests, route="/api/search/text", status="200", method="POST") == 1
    assert _value(requests, route="/api/search", status="413") == 1  # refused before routing, still by template
    assert _value(requests, route="unmatched", status="404") == 1
    assert not any("999999" in lab["route"] or lab["route"] == "/no/such/page" for lab, _ in requests)  # no raw paths
    counts = m["semspace_http_request_duration_seconds_count"]
    assert _value(counts, route="/api/items/{item_id}", status="200") == 3
    assert _value(m["semspace_http_request_duration_seconds_sum"], route="/api/search/text") > 0

    assert _value(m["semspace_pool_workers"], pool="model") == 3
    assert _value(m["semspace_pool_workers"], pool="read") == 4
    assert _value(m["semspace_pool_busy"], pool="model") == 0 and _value(m["semspace_pool_waiting"], pool="model") == 0
    items = m["semspace_index_items"]
    expected = view.index.domain_counts()
    assert expected and {lab["domain"]: v for lab, v in items} == expected
    assert {lab["generation"] for lab, _ in items} == {view.generation}
    assert m["semspace_index_generation"] == [({"generation": view.generation}, 1.0)]
    assert m["semspace_index_reload_failing"] == [({}, 0.0)]


def test_metrics_need_the_token_when_one_is_set(composed: Served) -> None:
    with TestClient(create_app(ServiceSettings(index=composed.index, api_token="s3cret"))) as c:
        r = c.get("/metrics")
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        assert c.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert "semspace_index_items" in _scrape(c, Authorization="Bearer s3cret")
