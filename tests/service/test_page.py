"""The page in a real browser: Playwright for Python driving Debian's Chromium headless (``executable_path``, no
browser download) against a live uvicorn on 127.0.0.1 and a free port, started and stopped by the fixtures.

Screenshots are saved as test artefacts under ``runs/test-artifacts/service/`` (``SEMSPACE_TEST_ARTIFACTS``
moves them). Without Chromium or Playwright the tests skip and say which is missing (``make test`` installs both).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PIL import Image

if TYPE_CHECKING:
    from conftest import Served

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("SEMSPACE_TEST_ARTIFACTS", ROOT / "runs" / "test-artifacts")) / "service"
CHROMIUM = os.environ.get("SEMSPACE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# As root and on a closed network: no sandbox, and none of Chromium's own background connections.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - make setup installs it (the dev extra)
    sync_playwright = None  # type: ignore[assignment]

MISSING = (
    "Playwright for Python is not installed (pip install playwright; the dev extra has it)" if sync_playwright is None
    else "Chromium is not installed (Debian: apt-get install chromium; make test installs it)" if CHROMIUM is None
    else None
)  # fmt: skip
REQUIRED = bool(os.environ.get("SEMSPACE_REQUIRE_BROWSER"))  # .ci/run: a missing browser fails instead of skipping
pytestmark = [pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=str(MISSING))]


def _open(browser: Any, url: str, width: int = 1280, height: int = 860) -> Page:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/")
    page.wait_for_selector("body.ready")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _shot(page: Page, name: str, full: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def _watch(page: Page) -> list[str]:
    """Page errors and Content-Security-Policy violations seen from now on (the page keeps its CSP)."""
    seen: list[str] = list(page.errors)  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: seen.append(str(e)))
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def test_upload_with_a_modification_shows_results_and_unknown_words(
    browser: Any, composed_url: str, composed: Served
) -> None:
    page = _open(browser, composed_url)
    tabs = page.locator("#tabs button")
    expect(tabs).to_have_text(["Image", "Text"])  # this run has no sketch domain and cannot translate
    page.fill("#modify", "make the red cube zorblax")
    page.set_input_files("#image-file", str(composed.photos / "photo_0.png"))
    expect(page.locator("#results li")).to_have_count(20)
    expect(page.locator("#unknown")).to_contain_text("zorblax")
    expect(page.locator("#meta")).to_contain_text("20 results for an image query (render3d)")
    expect(page.locator("#error")).to_be_hidden()
    _shot(page, "page_upload_modify")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "page_phone", full=True)
    assert not page.errors  # type: ignore[attr-defined]
    page.close()


def test_clicking_a_result_makes_it_the_query(browser: Any, composed_url: str, composed: Served) -> None:
    page = _open(browser, composed_url)
    page.set_input_files("#image-file", str(composed.photos / "photo_1.png"))
    first = page.locator("#results li button").first
    expect(first).to_be_visible()
    item = first.get_attribute("data-id")
    first.click()
    expect(page.locator("#drop")).to_have_attribute("data-query", f"item-{item}")
    expect(page.locator("#meta")).to_contain_text(f"for item #{item}")
    expect(page.locator("#query-caption")).to_contain_text(f"item #{item}")
    expect(page.locator(f'#results li button[data-id="{item}"]')).to_have_count(0)  # the query itself is left out
    page.close()


def test_pick_from_the_gallery_and_search_by_text(browser: Any, composed_url: str) -> None:
    page = _open(browser, composed_url)
    page.click("#pick")
    pick = page.locator("#gallery-items li button").nth(2)
    expect(pick).to_be_visible()
    item = pick.get_attribute("data-id")
    pick.click()
    expect(page.locator("#gallery")).to_be_hidden()
    expect(page.locator("#meta")).to_contain_text(f"for item #{item}")
    page.click('#tabs button[data-tab="text"]')
    page.fill("#text", "a large red cube at the top left")
    page.keyboard.press("Enter")
    expect(page.locator("#meta")).to_contain_text("for a text query (text)")
    page.close()


def test_a_bad_upload_shows_the_error_on_the_page(browser: Any, composed_url: str, tmp_path: Path) -> None:
    page = _open(browser, composed_url)
    bad = tmp_path / "holiday.png"
    bad.write_text("this is not a picture")
    page.set_input_files("#image-file", str(bad))
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("'holiday.png' is not a picture")
    _shot(page, "page_bad_upload")
    page.close()


def test_draw_a_sketch_and_search(browser: Any, sketchy_url: str) -> None:
    page = _open(browser, sketchy_url)
    expect(page.locator("#tabs button")).to_have_text(["Image", "Sketch"])
    page.click('#tabs button[data-tab="sketch"]')
    box = page.locator("#sketch").bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.2 * w, y + 0.2 * h)
    page.mouse.down()
    for t in range(1, 21):
        page.mouse.move(x + (0.2 + 0.03 * t) * w, y + (0.2 + 0.025 * t) * h)
    page.mouse.up()  # the page searches when a stroke ends
    expect(page.locator("#meta")).to_contain_text("for a sketch query (blobs2d)")
    expect(page.locator("#results li")).to_have_count(20)
    page.click("#sketch-undo")
    page.click("#sketch-search")
    expect(page.locator("#error")).to_contain_text("draw something first")
    _shot(page, "page_sketch")
    page.close()


def test_translate_a_picture_in_both_directions(browser: Any, translator_url: str, tmp_path: Path) -> None:
    a = np.zeros((24, 24, 3), np.uint8)
    a[4:20, 10:14] = 255  # a white bar on black: domain a of the world's pairs
    b = np.zeros((24, 24, 3), np.uint8)
    b[:], b[4:20, 10:14] = (90, 20, 120), (240, 220, 30)  # yellow on purple: domain b
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    page = _open(browser, translator_url)
    expect(page.locator("#tabs button")).to_contain_text(["Translate"])
    page.click('#tabs button[data-tab="translate"]')
    page.set_input_files("#content-file", str(tmp_path / "a.png"))
    page.set_input_files("#exemplar-file", str(tmp_path / "b.png"))
    page.click("#translate-run")
    expect(page.locator("#translation")).to_be_visible()
    expect(page.locator("#error")).to_be_hidden()
    shown = page.locator("#translation-image").bounding_box()
    panel = page.locator('section[data-panel="translate"]').bounding_box()
    preview = page.locator("#exemplar-preview").bounding_box()
    assert shown is not None and panel is not None and preview is not None
    assert shown["width"] >= 128  # a 16 px translation is drawn large enough to see
    assert preview["x"] + preview["width"] <= panel["x"] + panel["width"] + 1  # the previews stay in the panel
    page.select_option("#direction", "b2a")  # now the content looks like the other domain: the page says so
    page.click("#translate-run")
    expect(page.locator("#error")).to_contain_text("looks like domain 'a'")
    _shot(page, "page_translate")
    assert not page.errors  # type: ignore[attr-defined]
    page.close()


def test_the_api_docs_render_offline_under_the_pages_csp(browser: Any, composed_url: str) -> None:
    import httpx

    operations = sum(len(methods) for methods in httpx.get(f"{composed_url}/api/openapi.json").json()["paths"].values())
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def offline(route: Any) -> None:  # the network is unreachable: only this server answers
        url = route.request.url
        if url.startswith((composed_url, "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: blocked.append(str(e)))
    response = page.goto(f"{composed_url}/api/docs")
    assert response is not None and "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".opblock")).to_have_count(operations)  # every operation of the schema is listed
    expect(page.locator(".opblock-summary-path", has_text="/api/search/text")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/items/{item_id}/thumbnail")).to_be_visible()
    page.locator(".opblock-summary", has_text="/api/health").click()  # an operation opens: Swagger UI works
    expect(page.locator(".opblock.is-open")).to_have_count(1)
    _shot(page, "api_docs", full=True)
    assert not outside, f"the docs page reached outside the server: {outside}"
    assert not blocked, blocked
    context.close()
