"""No request a client can send makes the API answer 500 (property-based, from the OpenAPI).

Schemathesis generates requests for every operation in ``/openapi.json`` (which itself needs a
sign-in) and sends them as alice (admin, so they reach the handlers) and as carol (viewer, so
the refusals are exercised too), a bounded number of examples each. Every answer must be below
500, carry the security headers, and put a 4xx in the shared error shape without a traceback.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from editorial_assistant.config import Settings
from tests.conftest import SRT, add_persona, bearer, upload
from tests.security.guard import SECURITY_HEADERS, TRACEBACK

pytestmark = pytest.mark.needs_dev_tools

EXAMPLES = {"admin": 40, "viewer": 15}


def fuzz(examples: int) -> hypothesis_settings:
    """Hypothesis settings for one operation: bounded, no deadline, no example database."""
    return hypothesis_settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )


@pytest.mark.parametrize("persona", sorted(EXAMPLES))
def test_no_input_makes_the_api_fail_with_a_server_error(
    persona: str, client: TestClient, settings: Settings
) -> None:
    upload(client, "2WLI1209HD.srt", SRT)
    key = client.headers["Authorization"]
    if persona == "viewer":
        key = bearer(add_persona(settings, "carol", "viewer"))["Authorization"]
    headers = {"Authorization": key}
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:

        @fuzz(EXAMPLES[persona])
        @given(case=operation.as_strategy())
        def answers_without_a_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            where = (case.as_curl_command(), response.status_code, response.text[:300])
            assert response.status_code < 500, where
            assert all(name in response.headers for name in SECURITY_HEADERS), where
            assert not TRACEBACK.search(response.text), where
            if response.status_code >= 400:
                assert set(response.json()) == {"error"}, where

        answers_without_a_server_error()
