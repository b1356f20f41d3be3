"""No request a client can send makes the API answer 500 (property-based, from the OpenAPI)."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.conftest import SRT, upload

pytestmark = pytest.mark.needs_dev_tools

FUZZ = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def test_no_input_makes_the_api_fail_with_a_server_error(client: TestClient) -> None:
    upload(client, "2WLI1209HD.srt", SRT)
    headers = {"Authorization": client.headers["Authorization"]}
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def answers_without_a_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.as_curl_command(), response.text)
            if response.status_code >= 400:
                assert set(response.json()) == {"error"}

        answers_without_a_server_error()
