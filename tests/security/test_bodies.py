"""Oversized, mislabelled and malformed bodies sent to every route.

A body over the route's limit is refused with 413 in the shared error shape whether
``Content-Length`` announces it or a chunked body streams past it, from a signed-in caller or an
anonymous one. A JSON route sent a form, XML or text (valid JSON labelled ``text/plain``
included, as a cross-site form could send it) refuses it; malformed JSON never becomes a 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from editorial_assistant.app import MULTIPART_OVERHEAD_BYTES
from editorial_assistant.config import Settings
from tests.security.conftest import Attack
from tests.security.surface import Endpoint

CONTENT_TYPES = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=x",
    None: "application/octet-stream",
}
WRONG_TYPES = (
    "application/x-www-form-urlencoded",
    "application/xml",
    "text/plain",
    "text/plain; charset=utf-8",
    "multipart/form-data; boundary=x",
    "application/javascript",
    "",
)
MALFORMED = (  # not JSON at all: refused before any handler
    b'{"name": ',
    b"{'name': 'x'}",
    b"\xff\xfe\x00{",
    b'{"name": "\xff\xfe"}',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    b'{"priority": ' + b"9" * 5_000 + b"}",
    b"\x00",
)
ODD = (  # JSON (or no body), but not what the route wants: never a server error
    b"",
    b'{"priority": 1e999, "tier": NaN, "expires_in_days": -Infinity, "role": Infinity}',
    b"null",
    b"[]",
    b'"text"',
    b"1e999999",
    b'{"username": null, "password": [], "name": {}, "role": 1, "email": true}',
)


def limit_for(endpoint: Endpoint, settings: Settings) -> int:
    """The body size the route accepts."""
    if endpoint.body == "multipart":
        return settings.intake.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    return settings.api.max_body_bytes


@pytest.mark.parametrize("persona", ["admin", "anonymous"])
def test_a_body_over_the_limit_is_refused_with_413_on_every_route(
    persona: str,
    attacker: Callable[[str], Attack],
    every_endpoint: list[Endpoint],
    settings: Settings,
) -> None:
    attack = attacker(persona)
    for endpoint in every_endpoint:
        body = b"{" + b" " * limit_for(endpoint, settings)
        request = endpoint.request()
        headers = {"Content-Type": CONTENT_TYPES[endpoint.body]}
        for how, content in (("announced", body), ("chunked", _chunks(body))):
            label = f"{endpoint} {how}"
            response = attack.send(
                label,
                method=request["method"],
                url=request["url"],
                content=content,
                headers=headers,
            )
            reads_body = endpoint.body is not None or how == "announced"
            if reads_body:
                attack.expect(
                    label, response.status_code == 413, f"answered {response.status_code}"
                )
                code = response.json()["error"]["code"] if response.status_code == 413 else ""
                attack.expect(label, code == "payload_too_large", f"code {code!r}")
    attack.report()


@pytest.mark.parametrize("persona", ["admin", "viewer"])
def test_a_json_route_refuses_a_body_labelled_as_anything_else(
    persona: str, attacker: Callable[[str], Attack], every_endpoint: list[Endpoint]
) -> None:
    attack = attacker(persona)
    for endpoint in (e for e in every_endpoint if e.body == "json"):
        request = endpoint.request()
        valid = _json_text(request.pop("json"))
        for content_type in WRONG_TYPES:
            label = f"{endpoint} as {content_type!r}"
            response = attack.send(
                label, **request, content=valid, headers={"Content-Type": content_type}
            )
            status = response.status_code
            attack.expect(label, 400 <= status < 500, f"answered {status}: {response.text:.200}")
            if status in (400, 415, 422):  # not refused before looking at the body
                message = response.json()["error"]["message"]
                attack.expect(label, "body" in message, f"unclear message {message!r}")
    attack.report()


def test_malformed_json_is_refused_and_odd_json_is_no_server_error_on_every_json_route(
    attacker: Callable[[str], Attack], every_endpoint: list[Endpoint]
) -> None:
    attack = attacker("admin")
    for endpoint in (e for e in every_endpoint if e.body == "json"):
        request = endpoint.request()
        request.pop("json")
        for body in MALFORMED + ODD:
            label = f"{endpoint} {body[:30]!r}"
            response = attack.send(
                label, **request, content=body, headers={"Content-Type": "application/json"}
            )
            status = response.status_code
            if body in MALFORMED:
                attack.expect(
                    label, 400 <= status < 500, f"answered {status}: {response.text:.200}"
                )
    attack.report()


def _json_text(value: object) -> bytes:
    return json.dumps(value).encode()


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]
