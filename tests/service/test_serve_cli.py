"""``semspace serve``: loads the index before binding, binds 127.0.0.1 by default, prints the URL; errors are one
line (uvicorn's loop is replaced by a stand-in, so nothing keeps running)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from semspace.cli.main import main

if TYPE_CHECKING:
    from conftest import Served


def test_serve_prints_the_url_and_serves_the_index(
    composed: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(self: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        assert sockets is not None
        seen["address"] = sockets[0].getsockname()
        seen["app"] = self.config.app
        sockets[0].close()

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    assert main(["serve", "--index", str(composed.index), "--port", "0", "--model-workers", "3"]) == 0
    out = capsys.readouterr().out
    host, port = seen["address"][:2]
    assert host == "127.0.0.1" and port > 0
    assert f"at http://127.0.0.1:{port}/" in out and "43 items, task transfer" in out
    from fastapi.testclient import TestClient

    with TestClient(seen["app"]) as client:
        assert client.get("/api/health").json()["items"] == 43
        assert seen["app"].state.engine.model.workers == 3  # --model-workers


def test_serve_errors_are_one_line(composed: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        assert main(["serve", "--index", str(composed.index), "--port", str(port)]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}") and len(err.splitlines()) == 1
    finally:
        taken.close()
    assert main(["serve", "--index", str(tmp_path)]) == 1  # a folder that is not an index
    err = capsys.readouterr().err.strip()
    assert "is not an index folder" in err and len(err.splitlines()) == 1
