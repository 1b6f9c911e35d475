"""Shared fixtures: CPU-only by default, device/dtype from the environment, two torch threads.

``SEMSPACE_TEST_DEVICE`` (default ``cpu``) and ``SEMSPACE_TEST_DTYPES`` (default ``float32``) let the same
unit tests run on a GPU machine: ``SEMSPACE_TEST_DEVICE=cuda SEMSPACE_TEST_DTYPES=float32,float16 make test``.
"""

from __future__ import annotations

import os

import pytest
import torch

TEST_DEVICE = os.environ.get("SEMSPACE_TEST_DEVICE", "cpu")
TEST_DTYPES = [getattr(torch, d) for d in os.environ.get("SEMSPACE_TEST_DTYPES", "float32").split(",")]


@pytest.fixture(scope="session", autouse=True)
def _threads() -> None:
    torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session", autouse=True)
def _cache_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Files kept between processes (the EGSC-IT judge: ``SEMSPACE_CACHE``) go to a folder of this session, never
    to the user's cache; commands the tests start inherit it."""
    os.environ["SEMSPACE_CACHE"] = str(tmp_path_factory.mktemp("semspace_cache"))


@pytest.fixture
def device() -> torch.device:
    return torch.device(TEST_DEVICE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available() and TEST_DEVICE.startswith("cuda"):
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device (set SEMSPACE_TEST_DEVICE=cuda on a GPU machine)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
