"""``ServiceSettings``: what the service loads and the limits it enforces, from ``SEMSPACE_*`` variables or arguments.

pydantic-settings reads every field from the environment with the ``SEMSPACE_`` prefix (``SEMSPACE_INDEX``,
``SEMSPACE_MAX_K``, ``SEMSPACE_API_TOKEN``, ``SEMSPACE_CORS_ORIGINS='["http://localhost:3000"]'``); arguments given
to the constructor win (``semspace serve`` passes ``--index`` and ``--run-dir`` that way).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings of one service process (``create_app(settings)``)."""

    model_config = SettingsConfigDict(env_prefix="SEMSPACE_", extra="ignore")

    index: Path = Field(description="the index folder to search (semspace index build)")
    run_dir: Path | None = Field(default=None, description="the run that built the index (default: as recorded in it)")
    device: str = Field(
        default="auto",
        description="where queries are embedded ('auto': CUDA when available, else the CPU; 'cpu', 'cuda', 'cuda:N')",
    )
    host: str = Field(default="127.0.0.1", description="address `semspace serve` binds")
    port: int = Field(default=8000, ge=0, le=65535, description="port `semspace serve` binds")
    default_k: int = Field(default=20, ge=1, description="results per query when a request names no k")
    max_k: int = Field(default=100, ge=1, description="the largest k a request may ask for")
    max_upload_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="the largest request body (bytes)")
    max_pixels: int = Field(
        default=16_000_000, ge=64, description="the largest picture (width x height), checked before decoding"
    )
    max_text_chars: int = Field(default=500, ge=1, description="the longest text query or modification")
    page_size_max: int = Field(default=200, ge=1, description="the most items one gallery page lists")
    model_workers: int | None = Field(
        default=None, ge=1, le=64, description="threads that embed and search (None: one per core, at most 8)"
    )
    model_lock: bool = Field(
        default=False, description="run model work one call at a time (for a model not safe to call concurrently)"
    )
    read_workers: int = Field(default=4, ge=1, le=64, description="threads that read gallery pages (no model lock)")
    switch_interval_s: float | None = Field(
        default=0.001, gt=0, le=1, description="the interpreter's thread switch interval while serving (None: "
        "Python's 0.005 s): how long the event loop may wait for a model thread to let go of the GIL"
    )  # fmt: skip
    max_pending: int = Field(
        default=64, ge=1, description="requests waiting for a worker (per pool) before the service answers 503"
    )
    request_timeout_s: float = Field(default=30.0, gt=0, description="a query that takes longer is answered 504")
    api_token: SecretStr | None = Field(
        default=None, description="when set, /api/* (except health) needs 'Bearer <token>'"
    )
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS (none: CORS off)")
