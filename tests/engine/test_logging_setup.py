"""``setup_logging``: replaces only its own handlers, follows ``sys.stderr`` when it is swapped, and creates its
log file (and folder) only at the first record."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest

from semspace.engine.logging import setup_logging


def test_setup_twice_keeps_foreign_handlers_and_writes_to_current_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    before = list(root.handlers)
    try:
        setup_logging(tmp_path / "a.log")
        setup_logging(tmp_path / "b.log")
        ours = [h for h in root.handlers if getattr(h, "_semspace", False)]
        assert len(ours) == 2 and foreign in root.handlers  # console + the latest file only
        swapped = io.StringIO()
        monkeypatch.setattr(sys, "stderr", swapped)
        logging.getLogger("semspace.test").info("hello after the swap")
        assert "hello after the swap" in swapped.getvalue()
        assert "hello after the swap" in (tmp_path / "b.log").read_text()
        assert not (tmp_path / "a.log").exists()  # created at its first record; it had none
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()
        root.removeHandler(foreign)
