"""The page's optional controls (issue 21, item 6) in a real browser, driven as ``test_page_edges.py`` drives it:
the **filter** under "search in" (conditions sent as ``filter`` with every search, an API 400 shown as the error) and
the **weighted terms** from results ("more like this" / "less like this" on each hit, a bar of terms above the
results, searched through ``POST /api/search/terms``). Each answer the page shows is checked against the same
request sent to the API directly. Screenshots go where ``test_page.py`` puts them (``SEMSPACE_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from test_page import MISSING, REQUIRED, _open, _shot, _watch

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the tests skip (or fail under SEMSPACE_REQUIRE_BROWSER) as test_page's
    expect = sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from conftest import Served

pytestmark = [pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=str(MISSING))]
PHOTO = re.compile(r"photo_\d\.png")


def _ids(page: Page) -> list[int]:
    ids = page.locator("#results button.hit").evaluate_all("(bs) => bs.map((b) => b.dataset.id)")
    return [int(i) for i in ids]


def _body(sent: Any) -> dict[str, Any]:
    """The JSON body of a request the page sent (``page.expect_request``'s value)."""
    body = sent.value.post_data_json
    assert isinstance(body, dict), body
    return body


def _names(url: str, ids: list[int]) -> list[str]:
    return [httpx.get(f"{url}/api/items/{i}").json()["name"] for i in ids]


def _api_ids(url: str, route: str, body: dict[str, Any]) -> list[int]:
    answer = httpx.post(f"{url}/api/search/{route}", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return [h["id"] for h in answer.json()["hits"]]


def _text_search(page: Page, text: str) -> dict[str, Any]:
    """Search the text panel for ``text``; the JSON body the page sent."""
    page.click('#tabs button[data-tab="text"]')
    page.fill("#text", text)
    with page.expect_request("**/api/search/text") as sent:
        page.click("#text-search")
    expect(page.locator("#meta")).to_contain_text("for a text query")
    return _body(sent)


def test_the_filter_restricts_every_panels_results(browser: Any, composed_url: str, composed: Served) -> None:
    page = _open(browser, composed_url)
    seen = _watch(page)
    expect(page.locator("#filter-box")).not_to_have_attribute("open", "")  # collapsed: today's page until opened
    expect(page.locator("#terms")).to_be_hidden()
    plain = _text_search(page, "a large red cube")
    assert "filter" not in plain  # no filter typed: none sent
    names = _names(composed_url, _ids(page))
    assert len(names) == 20 and not all(PHOTO.fullmatch(n) for n in names), names  # so the filter has work to do

    page.click("#filter-box summary")
    page.fill("#filter", "path=*/photo_*")
    expect(page.locator("#filter-box summary")).to_have_text("filter · 1 condition")
    with page.expect_request("**/api/search/text") as sent:
        page.click("#text-search")
    body = _body(sent)
    assert body["filter"] == ["path=*/photo_*"]
    expect(page.locator("#results li")).to_have_count(3)
    ids = _ids(page)
    assert sorted(_names(composed_url, ids)) == ["photo_0.png", "photo_1.png", "photo_2.png"]
    assert ids == _api_ids(composed_url, "text", body)
    _shot(page, "controls_filter")

    page.click('#tabs button[data-tab="image"]')  # a multipart search sends it too
    with page.expect_response("**/api/search") as got:  # (Chromium hides a multipart body with a file: the answer
        page.set_input_files("#image-file", str(composed.photos / "photo_0.png"))  # says what the server read)
    assert got.value.json()["query"]["filter"] == ["path=*/photo_*"]
    expect(page.locator("#meta")).to_contain_text("for an image query")
    ids = _ids(page)
    with (composed.photos / "photo_0.png").open("rb") as f:
        direct = httpx.post(f"{composed_url}/api/search", files={"image": ("photo_0.png", f, "image/png")},
                            data={"k": "20", "filter": "path=*/photo_*"}).json()  # fmt: skip
    assert ids == [h["id"] for h in direct["hits"]] and ids
    assert all(PHOTO.fullmatch(n) for n in _names(composed_url, ids))
    assert not seen, seen
    page.close()


def test_a_malformed_condition_shows_the_apis_message(browser: Any, composed_url: str) -> None:
    page = _open(browser, composed_url)
    _text_search(page, "a large red cube")
    expect(page.locator("#results li")).to_have_count(20)
    page.click("#filter-box summary")
    page.fill("#filter", "path=*/photo_*\nnot a condition")
    page.click("#text-search")
    answer = httpx.post(f"{composed_url}/api/search/text",
                        json={"text": "a large red cube", "in_domains": ["render3d"],
                              "filter": ["path=*/photo_*", "not a condition"]})  # fmt: skip
    assert answer.status_code == 400, answer.text
    expect(page.locator("#error")).to_have_text(answer.json()["detail"])
    expect(page.locator("#results li")).to_have_count(0)  # no old results under the failed search
    _shot(page, "controls_bad_filter")
    page.close()


def test_conditions_split_on_lines_and_commas_but_not_inside_a_glob(browser: Any, composed_url: str) -> None:
    page = _open(browser, composed_url)
    page.click("#filter-box summary")
    page.fill("#filter", " year>=2000,place=home\n\npath=*/photo_[0,1]*, label = red ")
    got = page.evaluate("() => Terms.conditions()")
    assert got == ["year>=2000", "place=home", "path=*/photo_[0,1]*", "label = red"]
    page.close()


def test_less_like_this_sends_a_terms_query_and_the_item_drops(
    browser: Any, composed_url: str, composed: Served
) -> None:
    page = _open(browser, composed_url)
    seen = _watch(page)
    photo = composed.photos / "photo_0.png"
    page.set_input_files("#image-file", str(photo))
    expect(page.locator("#results li")).to_have_count(20)
    first = _ids(page)[0]
    with page.expect_request("**/api/search/terms") as sent:
        page.locator("#results li").first.locator("input.less").click()
    body = _body(sent)
    assert body == {"terms": [{"kind": "image", "weight": 1, "data": base64.b64encode(photo.read_bytes()).decode()},
                              {"kind": "item", "item": first, "weight": -1}], "k": 20}  # fmt: skip
    expect(page.locator("#meta")).to_contain_text("for 2 weighted terms")
    ids = _ids(page)
    assert ids == _api_ids(composed_url, "terms", body)
    assert ids[0] != first and (first not in ids or ids.index(first) > 0)
    terms = page.locator("#terms-list li")
    expect(terms).to_have_count(2)
    expect(terms.nth(0)).to_contain_text("+1photo_0.png")
    expect(terms.nth(1)).to_contain_text(f"−1#{first}")
    page.locator("#results li").first.hover()  # the hit's two buttons show on hover
    _shot(page, "controls_terms")
    assert not seen, seen
    page.close()


def test_the_cross_drops_a_term_and_clear_returns_to_the_plain_panel(browser: Any, composed_url: str) -> None:
    page = _open(browser, composed_url)
    seen = _watch(page)
    plain = _text_search(page, "a small blue sphere")
    plain_ids, plain_meta = _ids(page), page.locator("#meta").inner_text()
    meta, bar = page.locator("#meta"), page.locator("#terms-list li")
    more = plain_ids[1]
    with page.expect_request("**/api/search/terms"):
        page.locator("#results li").nth(1).locator("input.more").click()
    expect(meta).to_contain_text("for 2 weighted terms")
    less = _ids(page)[0]
    with page.expect_request("**/api/search/terms") as sent:
        page.locator("#results li").first.locator("input.less").click()
    text_term = {"kind": "text", "weight": 1, "text": "a small blue sphere"}
    assert _body(sent)["terms"] == [text_term, {"kind": "item", "item": more, "weight": 1},
                                                  {"kind": "item", "item": less, "weight": -1}]  # fmt: skip
    expect(meta).to_contain_text("for 3 weighted terms")
    expect(bar).to_have_count(3)

    with page.expect_request("**/api/search/terms") as sent:  # × on the "more like this" term
        page.locator(f'#terms-list li[data-item="{more}"] .term-drop').click()
    body = _body(sent)
    assert body == {"terms": [text_term, {"kind": "item", "item": less, "weight": -1}], "k": 20,
                    "in_domains": plain["in_domains"]}  # fmt: skip
    expect(meta).to_contain_text("for 2 weighted terms")
    expect(bar).to_have_count(2)
    expect(page.locator(f'#terms-list li[data-item="{more}"]')).to_have_count(0)
    assert _ids(page) == _api_ids(composed_url, "terms", body)

    page.click("#terms-clear")  # back to the plain query's own results, no request
    expect(page.locator("#terms")).to_be_hidden()
    expect(meta).to_have_text(plain_meta)
    assert _ids(page) == plain_ids

    with page.expect_request("**/api/search/terms"):  # dropping the last added item is clearing too
        page.locator("#results li").nth(2).locator("input.less").click()
    expect(bar).to_have_count(2)
    page.locator("#terms-list li").nth(1).locator(".term-drop").click()
    expect(page.locator("#terms")).to_be_hidden()
    expect(meta).to_have_text(plain_meta)
    assert not seen, seen
    page.close()
