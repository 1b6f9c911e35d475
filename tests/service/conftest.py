"""Two tiny trained runs with indexes (seconds each), shared by the service's API, browser and fuzz tests.

* ``composed``: a text -> 3D transfer run (domains ``text`` and ``render3d``; the ``compose`` capability) and an
  index of 10 test scenes as renders and as descriptions, plus three PNG files (items with a source file);
* ``sketchy``: an align run whose first domain is declared a ``sketch`` domain (no compose, no text) and an index
  of the renders;
* ``translator``: an EGSC-IT run (``egsc_it``, domains ``a`` and ``b``; the ``translate`` capability) on the world's
  digit pairs and an index of three domain-B pictures.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.retrieval import build_index
from semspace.service import ServiceSettings, create_app

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.train.args.n=32", "data.train.args.size=32", "train.max_steps=3", "train.batch_size=16",
        "train.num_workers=0", "train.eval_every=0", "train.log_every=5", "eval={}",
        "data.train.cache=false"]  # fmt: skip
GALLERY = "world_scenes:split=test,n=10,size=32,view=render3d"


@dataclass(frozen=True)
class Served:
    run: Path
    index: Path
    photos: Path


def _photos(folder: Path) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, colour in enumerate(((220, 40, 40), (40, 200, 60), (40, 80, 220))):
        a = np.full((40, 40, 3), colour, dtype=np.uint8)
        a[10:30, 10:30] = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
        Image.fromarray(a).save(folder / f"photo_{i}.png")
    return folder


@pytest.fixture(scope="session")
def composed(tmp_path_factory: pytest.TempPathFactory) -> Served:
    base = tmp_path_factory.mktemp("service_composed")
    enc = ["task_args.source_encoder=tiny_lstm_text", "task_args.target_encoder=tiny_cnn",
           "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=32"]  # fmt: skip
    run = base / "run"
    train(load_run_cfg(ROOT / "configs" / "transfer" / "world_text_to_3d.yaml", [*enc, *TINY]), run, evaluate=False)
    index = base / "index"
    build_index(run, GALLERY, index)
    build_index(run, GALLERY, index, domain="text")
    photos = _photos(base / "photos")
    build_index(run, f"folder:{photos}", index, domain="render3d")
    return Served(run, index, photos)


@pytest.fixture(scope="session")
def sketchy(tmp_path_factory: pytest.TempPathFactory) -> Served:
    base = tmp_path_factory.mktemp("service_sketchy")
    enc = ["task_args.encoder_a=tiny_cnn", "task_args.encoder_b=tiny_cnn", "task_args.embed_dim=32",
           "task_args.kind_a=sketch"]  # fmt: skip
    run = base / "run"
    train(load_run_cfg(ROOT / "configs" / "align" / "world_2d_3d.yaml", [*enc, *TINY[:-1]]), run, evaluate=False)
    index = base / "index"
    build_index(run, GALLERY, index)
    return Served(run, index, base)


@pytest.fixture(scope="session")
def translator(tmp_path_factory: pytest.TempPathFactory) -> Served:
    base = tmp_path_factory.mktemp("service_translator")
    tiny = ["task_args.size=16", "task_args.channels=4", "task_args.n_res=1", "task_args.disc_channels=4",
            "task_args.disc_layers=2", "task_args.perceptual=random_cnn", "task_args.use_mask=false",
            "task_args.adain=no_exemplar", "init=[]", "eval={}", "data.train.args.n=16", "data.train.args.size=16",
            "train.batch_size=8", "train.num_workers=0", "train.max_steps=2", "train.ckpt_every=0"]  # fmt: skip
    run = base / "run"
    train(load_run_cfg(ROOT / "configs" / "egsc_it" / "world_pairs_stage2.yaml", tiny), run, evaluate=False)
    index = base / "index"
    photos = _photos(base / "photos")
    build_index(run, f"folder:{photos}", index, domain="b")
    return Served(run, index, photos)


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 and a free port, in a thread; ``stop()`` shuts it down."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        from semspace.cli.serve import bind

        sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        ready = threading.Event()
        for _ in range(600):  # until uvicorn has started (the lifespan loaded the index and model)
            if self.server.started or not self.thread.is_alive() or ready.wait(0.05):
                break
        if not self.server.started:
            raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _serve(served: Served) -> Iterator[str]:
    server = LiveServer(create_app(ServiceSettings(index=served.index)))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def composed_url(composed: Served) -> Iterator[str]:
    """The base URL of a live server of the ``composed`` index."""
    yield from _serve(composed)


@pytest.fixture(scope="session")
def sketchy_url(sketchy: Served) -> Iterator[str]:
    """The base URL of a live server of the ``sketchy`` index."""
    yield from _serve(sketchy)


@pytest.fixture(scope="session")
def translator_url(translator: Served) -> Iterator[str]:
    yield from _serve(translator)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium headless for the page tests (``test_page*.py``), one per module, launched with ``test_page``'s
    settings (no sandbox, no background connections); the tests skip without one unless a browser is required."""
    from playwright.sync_api import sync_playwright
    from test_page import ARGS, CHROMIUM, MISSING

    if MISSING is not None:
        pytest.fail(f"SEMSPACE_REQUIRE_BROWSER is set but {MISSING}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()
