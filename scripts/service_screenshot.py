"""The README's picture of the page, on the demo's index: `python scripts/service_screenshot.py [runs/demo]`.

Serves ``<demo>/index`` on a free loopback port, opens the page in Debian's Chromium (Playwright, no browser
download), searches with the demo's first query and its modification, and writes ``docs/images/service_page.png``.
Run it after `make demo`.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from semspace.service import create_app
from semspace.service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip


def main(demo: Path, out: Path) -> None:
    example = json.loads((demo / "metrics.json").read_text())["examples"][0]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ServiceSettings(index=demo / "index")), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("the service did not start")
        time.sleep(0.1)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium is not installed (Debian: apt-get install chromium, or make browser)")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("body.ready")
            page.fill("#modify", example["modify"])
            page.set_input_files("#image-file", str(demo / example["query"]))
            page.wait_for_selector("#results li")
            page.wait_for_timeout(500)  # thumbnails
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    print(f"wrote {out}")  # noqa: T201


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/demo"), ROOT / "docs" / "images" / "service_page.png")
