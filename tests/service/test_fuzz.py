"""A bounded fuzz of the OpenAPI schema with schemathesis against a live server: whatever a request holds, the
answer is never a 5xx (a fixed number of derandomised examples per endpoint, so a run is bounded and repeatable)."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (the dev extra has it)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

EXAMPLES = 8


def test_no_request_gets_a_server_error(composed_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{composed_url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10  # every endpoint of the API is in the schema, and fuzzed
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def fuzz(case: Any) -> None:
            case.call_and_validate(base_url=composed_url, checks=[not_a_server_error], timeout=30)

        fuzz()
