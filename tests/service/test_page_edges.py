"""The page's rough edges (issue 21, item 6), each in a real browser: Chromium headless driven by Playwright against
a live uvicorn, with the helpers of ``test_page.py`` and the runs of ``conftest.py`` (they skip the same way
without a browser).

The page must say only what this run offers, in plain words: no CLI flag, no developer reason, no empty
collection, no internal capability name, no other world's placeholder; a failed search leaves no stale results and
each panel keeps its own; a text query searches the pictures unless the user picks; a missing token and a wrong
one read differently. Screenshots go where ``test_page.py`` puts them (``SEMSPACE_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from test_page import MISSING, REQUIRED, _open, _shot, _watch

from semspace.service import ServiceSettings, create_app

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the tests skip (or fail under SEMSPACE_REQUIRE_BROWSER) as test_page's
    expect = sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from conftest import Served

pytestmark = [pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=str(MISSING))]
TOKEN = "edges-token-0123456789"


def _snap(page: Page, name: str) -> None:
    """A screenshot once the first thumbnails of the results have loaded."""
    loaded = "[...document.querySelectorAll('#results img')].slice(0, 5).every((i) => i.complete)"
    for _ in range(100):  # polled from here: wait_for_function would eval a string, which the page's CSP refuses
        if page.evaluate(loaded):
            break
        page.wait_for_timeout(50)
    _shot(page, name)


def _chips(page: Page) -> list[str]:
    return page.locator("#run .chip").all_inner_texts()


def test_the_query_itself_is_offered_by_a_checkbox_not_a_cli_flag(browser: Any, composed_url: str) -> None:
    page = _open(browser, composed_url)
    seen = _watch(page)
    page.click("#pick")
    pick = page.locator("#gallery-items li button").nth(1)
    item = pick.get_attribute("data-id")
    pick.click()
    notes = page.locator("#notes")
    expect(notes).to_contain_text("identical to the query")  # the picked item itself was left out
    expect(notes).not_to_contain_text("--keep-query")
    expect(notes).to_contain_text("include the query itself")
    expect(page.locator(f'#results button[data-id="{item}"]')).to_have_count(0)
    _snap(page, "edges_keep_query_note")
    page.check("#keep-query")
    page.click("#image-search")
    expect(page.locator(f'#results button[data-id="{item}"]')).to_have_count(1)
    expect(page.locator("#results li").first.locator("button")).to_have_attribute("data-id", str(item))
    expect(notes).not_to_contain_text("identical to the query")
    assert not seen, seen
    page.close()


@pytest.mark.parametrize(
    ("run", "cannot", "search_by", "collections"),
    [
        ("composed", "This run cannot search by a drawing or translate pictures.", "Search by a picture or words:",
         ["render3d · 23 pictures", "text · 20 texts"]),
        ("sketchy", "This run cannot search by words or translate pictures.", "Search by a picture or a drawing:",
         ["render3d · 20 pictures"]),
        ("translator", "This run cannot search by a drawing or search by words.", "Search by a picture:",
         ["b · 3 pictures"]),
    ],
)  # fmt: skip
def test_the_run_is_described_in_plain_words(
    browser: Any, request: pytest.FixtureRequest, run: str, cannot: str, search_by: str, collections: list[str]
) -> None:
    url = request.getfixturevalue(f"{run}_url")
    info = httpx.get(f"{url}/api/info").json()
    empty = [d["name"] for d in info["domains"] if d["items"] == 0]
    page = _open(browser, url)
    chips = _chips(page)
    assert [c for c in chips if " · " in c] == sorted(collections, key=lambda c: list(info["index"]["domains"]).index(
        c.split(" · ")[0]))  # fmt: skip
    assert not [c for c in chips if any(c.startswith(f"{name} ") for name in empty)], (chips, empty)
    expect(page.locator("#unavailable")).to_have_text(cannot)
    expect(page.locator("#empty")).to_contain_text(search_by)
    why = page.locator("#unavailable").get_attribute("title") or ""
    assert all(p["why"] in why for p in info["panels"] if not p["available"])  # the reasons stay, as a tooltip
    _shot(page, f"edges_plain_{run}")
    assert not page.errors  # type: ignore[attr-defined]
    page.close()


def test_capabilities_show_human_names(browser: Any, sketchy_url: str) -> None:
    """An SSGN run's ``generate_query`` (and any capability the page does not know yet) reads as words."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})

    def more_capabilities(route: Any) -> None:
        info = route.fetch().json()
        info["capabilities"] = [*info["capabilities"], "compose", "generate_query", "find_parts"]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(info))

    context.route("**/api/info", more_capabilities)
    page = context.new_page()
    page.goto(sketchy_url + "/")
    page.wait_for_selector("body.ready")
    chips = _chips(page)
    assert not [c for c in chips if "_" in c], chips
    assert {"modify by words", "sketch-to-photo queries", "find parts"} <= set(chips), chips
    _shot(page, "edges_capabilities")
    context.close()


def test_the_default_collections_rule(browser: Any, sketchy_url: str) -> None:
    """Describe's pure rule on made-up runs: a text or sketch query searches the other kinds, a picture everything."""
    page = _open(browser, sketchy_url)
    info = {
        "domains": [{"name": "photo", "kind": "image"}, {"name": "art", "kind": "image"},
                    {"name": "words", "kind": "text"}, {"name": "drawn", "kind": "sketch"}],
        "index": {"domains": {"photo": 5, "art": 2, "words": 4, "drawn": 0}},
    }  # fmt: skip
    got = page.evaluate(
        """(info) => ({text: Describe.defaultCollections(info, "text"), sketch: Describe.defaultCollections(info,
        "sketch"), image: Describe.defaultCollections(info, "image"), name: Describe.groupName(info, ["photo", "art"]),
        onlyPictures: Describe.defaultCollections({...info, index: {domains: {photo: 1}}}, "text")})""",
        info,
    )
    # "drawn" holds no item, so a sketch query searches everything there is (no sketch collection to skip)
    assert got == {"text": ["photo", "art"], "sketch": [], "image": [], "name": "all pictures", "onlyPictures": []}
    page.close()


def _image_search(page: Page, composed: Served) -> str:
    """Search by an uploaded picture; the results' summary line."""
    page.set_input_files("#image-file", str(composed.photos / "photo_0.png"))
    expect(page.locator("#results li")).to_have_count(20)
    expect(page.locator("#meta")).to_contain_text("for an image query")
    return page.locator("#meta").inner_text()


def test_each_panel_keeps_its_own_results(browser: Any, composed_url: str, composed: Served) -> None:
    page = _open(browser, composed_url)
    seen = _watch(page)
    results, meta = page.locator("#results li"), page.locator("#meta")
    image_meta = _image_search(page, composed)

    page.click('#tabs button[data-tab="text"]')  # the text panel has not searched: no results shown
    expect(results).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()
    expect(meta).to_have_text("")
    page.fill("#text", "a small blue sphere")
    page.keyboard.press("Enter")
    expect(meta).to_contain_text("for a text query")
    text_meta = meta.inner_text()
    page.click('#tabs button[data-tab="image"]')  # each panel shows its own last answer
    expect(meta).to_have_text(image_meta)
    expect(results).to_have_count(20)
    page.click('#tabs button[data-tab="text"]')
    expect(meta).to_have_text(text_meta)
    assert not seen, seen
    page.close()


def test_a_failed_upload_clears_the_results(browser: Any, composed_url: str, composed: Served, tmp_path: Path) -> None:
    page = _open(browser, composed_url)
    seen = _watch(page)
    results, meta = page.locator("#results li"), page.locator("#meta")
    _image_search(page, composed)
    bad = tmp_path / "holiday.png"
    bad.write_text("this is not a picture")
    page.set_input_files("#image-file", str(bad))
    expect(page.locator("#error")).to_contain_text("'holiday.png' is not a picture")
    expect(results).to_have_count(0)  # no old results under the new file's name
    expect(meta).to_have_text("")
    expect(page.locator("#notes li")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#query-caption")).to_have_text("holiday.png")
    expect(page.locator("#query-preview")).to_be_hidden()  # no broken-picture icon
    _shot(page, "edges_bad_upload")
    page.set_input_files("#image-file", str(composed.photos / "photo_1.png"))  # a good picture searches again
    expect(results).to_have_count(20)
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#query-preview")).to_be_visible()
    assert not seen, seen
    page.close()


def test_a_text_query_searches_the_pictures_unless_the_user_picks(browser: Any, composed_url: str) -> None:
    page = _open(browser, composed_url)
    where = page.locator("#where")
    expect(where).to_have_value("")  # a picture query still searches everything, as before
    page.click('#tabs button[data-tab="text"]')
    expect(where).to_have_value("render3d")
    page.fill("#text", "a large green cylinder")
    page.keyboard.press("Enter")
    expect(page.locator("#meta")).to_contain_text("for a text query (text) in render3d ·")
    subs = page.locator("#results .hit-sub")
    expect(subs).to_have_count(20)
    assert set(subs.all_inner_texts()) == {"render3d"}
    _snap(page, "edges_text_default")
    where.select_option("")  # the user can still pick everything
    page.click("#text-search")
    expect(page.locator("#meta")).to_contain_text(re.compile(r" in (render3d, text|text, render3d) ·"))
    page.click('#tabs button[data-tab="image"]')
    expect(where).to_have_value("")
    page.click('#tabs button[data-tab="text"]')
    expect(where).to_have_value("")  # the user's pick for the text panel stays
    page.close()


def test_placeholders_come_from_this_run(browser: Any, composed_url: str) -> None:
    first = httpx.get(f"{composed_url}/api/items", params={"domain": "text", "limit": 1}).json()["items"][0]
    assert first["caption"] and first["caption"] != "a large red cube at the top left"  # so the test can fail
    page = _open(browser, composed_url)
    expect(page.locator("#text")).to_have_attribute("placeholder", first["caption"])
    modify = page.locator("#modify").get_attribute("placeholder") or ""
    assert modify and not {"red", "cube", "blue"} & set(modify.split()), modify  # no other world's words
    page.close()


@pytest.fixture(scope="module")
def guarded_url(composed: Served) -> Iterator[str]:
    """A live server of the composed index that needs ``TOKEN``."""
    from conftest import LiveServer

    server = LiveServer(create_app(ServiceSettings(index=composed.index, api_token=TOKEN)))  # type: ignore[arg-type]
    try:
        yield server.url
    finally:
        server.stop()


def test_a_missing_token_and_a_wrong_one_read_differently(browser: Any, guarded_url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.errors = []  # type: ignore[attr-defined]
    seen = _watch(page)
    page.goto(guarded_url + "/")
    error = page.locator("#error")
    expect(error).to_contain_text("needs")
    expect(page.locator("#token-form")).to_be_visible()
    needed = error.inner_text()
    _shot(page, "edges_token_needed")
    page.fill("#token", "not-the-token")
    page.click("#token-form button")
    expect(error).to_contain_text("the token was refused")
    assert error.inner_text() != needed
    _shot(page, "edges_token_refused")
    page.fill("#token", TOKEN)
    page.click("#token-form button")
    page.wait_for_selector("body.ready")
    expect(error).to_be_hidden()
    expect(page.locator("#token-form")).to_be_hidden()
    expect(page.locator("#tabs button")).to_have_text(["Image", "Text"])
    assert not seen, seen
    page.close()


def test_the_tagline_names_only_this_runs_kinds(browser: Any, composed_url: str, sketchy_url: str) -> None:
    """The header's tagline follows the run's domain kinds: no sketches on a run without a sketch domain."""
    seen = {}
    for name, url in (("composed", composed_url), ("sketchy", sketchy_url)):
        kinds = {d["kind"] for d in httpx.get(f"{url}/api/info").json()["domains"]}
        page = _open(browser, url)
        seen[name] = page.locator(".tagline").inner_text()
        info = httpx.get(f"{url}/api/info").json()
        header = page.locator("#run .chip.strong").inner_text()
        assert header == info["task_title"] and header != info["task"], (header, info["task"])  # words, not a name
        assert ("sketches" in seen[name]) == ("sketch" in kinds), (seen[name], kinds)
        assert ("pictures" in seen[name]) == ("image" in kinds), (seen[name], kinds)
        page.close()
    assert seen["composed"] != seen["sketchy"], seen
    page = _open(browser, composed_url)
    made_up = page.evaluate(
        """() => Describe.tagline({domains: [{kind: "features"}, {kind: "text"}, {kind: "features"}]})"""
    )
    assert made_up == "one shared space for vectors and texts", made_up
    page.close()
