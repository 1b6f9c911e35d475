"""The OpenAPI schema tells the truth: schemathesis with **all** its checks (status codes, content types, headers and
bodies conform to the schema; schema-conforming data accepted, non-conforming data refused; unsupported methods,
missing headers, ...) against the ASGI app in-process, positive and negative data, a few derandomised examples per
operation (bounded: well under a minute). Every failure of every operation is collected, then reported at once.

Also: one error model (``ErrorBody``: ``detail`` and ``code``) declared for every error status, and FastAPI's default
``HTTPValidationError`` gone from the schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from semspace.service import ServiceSettings, create_app
from semspace.service.errors import CODES

if TYPE_CHECKING:
    from conftest import Served

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (the dev extra has it)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import CHECKS, load_all_checks  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402

EXAMPLES = 6  # per operation and generation mode
CONFIG = Path(__file__).with_name("schemathesis.toml")  # what a schema-valid request may still be refused with


@pytest.fixture(scope="module")
def app_client(composed: Served) -> Iterator[TestClient]:
    with TestClient(create_app(ServiceSettings(index=composed.index, max_upload_bytes=256 * 1024))) as client:
        yield client  # the lifespan ran: the engine is loaded for the in-process calls below


def test_every_error_status_is_declared_with_one_error_model(app_client: TestClient) -> None:
    schema = app_client.get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    assert components["ErrorBody"]["required"] == ["detail", "code"]
    assert set(components["ErrorBody"]["properties"]["code"]["enum"]) == {code for code, _ in CODES.values()}
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
            assert "503" in errors, (method, path)  # every route can meet a service still loading
            for status, response in errors.items():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, status)
    search = schema["paths"]["/api/search"]["post"]["responses"]
    assert {"400", "404", "409", "413", "415", "422", "503", "504"} <= set(search)


def test_schemathesis_with_all_checks_finds_no_failure(app_client: TestClient) -> None:
    load_all_checks()
    checks = CHECKS.get_all()
    assert len(checks) >= 10  # every check schemathesis has, not a chosen few
    app = app_client.app
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, config=schemathesis.Config.from_path(CONFIG))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10  # every endpoint of the API is in the schema, and tested
    failures: list[str] = []

    def test_of(operation: Any, mode: GenerationMode) -> Any:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: Any) -> None:
            try:
                case.call_and_validate(checks=checks)
            except (AssertionError, FailureGroup) as exc:  # schemathesis's failures
                failures.append(f"{operation.label} [{mode.value}]: {' '.join(str(exc).split())[:2000]}")

        return run

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                test_of(operation, mode)()
            except Unsatisfiable:  # no invalid request exists (an operation without parameters or body)
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(dict.fromkeys(failures))
