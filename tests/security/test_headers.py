"""Header injection: request IDs, redirects after sign-in, the Host header, huge headers, proxies.

A request ID with a line break (or anything but a short token) is replaced, never echoed; the
sign-in form's ``next`` only ever leads to a path on this site; headers of any size are answered
without a server error; and ``X-Forwarded-For`` / ``Cf-Connecting-Ip`` are believed only from
the local proxy, so the audit log records the real peer of anyone else.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp

from editorial_assistant.app import create_app
from editorial_assistant.auth.identify import SESSION_COOKIE
from editorial_assistant.config import Settings
from editorial_assistant.db import migrate
from tests.auth.helpers import PASSWORD, give_password, last_audit
from tests.conftest import add_persona, bearer, make_settings
from tests.security.conftest import Attack
from tests.security.surface import Endpoint

REQUEST_IDS: tuple[str | bytes, ...] = (
    "a\r\nX-Injected: 1",
    "a\nX-Injected: 1",
    "a\rX-Injected: 1",
    "a\r\n\r\n<html>injected</html>",
    "x" * 65,
    "x" * 100_000,
    "a b",
    "<script>alert(1)</script>",
    "",
    "\u00fcn\u00efcode".encode(),
)
NEXTS = (
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "/\r\nSet-Cookie: injected=1",
    "/\rSet-Cookie: injected=1",
    "/\nLocation: https://evil.example",
    "/\t/evil.example",
    " //evil.example",
    "\x00//evil.example",
    "/%0d%0aSet-Cookie:injected=1",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/'><script>alert(1)</script>",
    "/jobs?next=//evil.example#frag",
    "",
)
HUGE = "A" * 100_000
FORGED = {
    "X-Forwarded-For": "198.51.100.66",
    "Cf-Connecting-Ip": "198.51.100.77",
    "X-Real-Ip": "198.51.100.88",
    "Forwarded": "for=198.51.100.99",
    "X-Forwarded-Proto": "https",
}
NEXT_FIELD = re.compile(r'name="next" value="([^"]*)"')


def stays_on_site(location: str) -> bool:
    """A ``Location`` a browser resolves to a path on this site.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so a tab
    between two slashes would lead away: the header must hold only printable ASCII.
    """
    parts = urlsplit(location)
    plain = all(32 < ord(c) < 127 for c in location)
    return (
        plain
        and location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and not (parts.scheme or parts.netloc)
    )


def test_an_insane_request_id_is_replaced_on_every_route(
    attacker: Callable[[str], Attack], every_endpoint: list[Endpoint]
) -> None:
    attack = attacker("admin")
    # One line break on every route (the middleware is the same for all), every value on one.
    probes: list[tuple[Endpoint, str | bytes]] = [(e, REQUEST_IDS[0]) for e in every_endpoint]
    probes += [(e, value) for e in every_endpoint if e.path == "/api/jobs" for value in REQUEST_IDS]
    for endpoint, value in probes:
        label = f"{endpoint} X-Request-ID {value[:30]!r}"
        response = attack.send(label, **endpoint.request(), headers={"X-Request-ID": value})
        echoed = response.headers.get("x-request-id", "")
        attack.expect(label, re.fullmatch(r"[0-9a-f]{32}", echoed) is not None, echoed)
        attack.expect(label, "x-injected" not in response.headers, "header injected")
    response = attack.send(
        "sane", method="GET", url="/healthz", headers={"X-Request-ID": "ok.1_A-b"}
    )
    attack.expect("sane", response.headers["x-request-id"] == "ok.1_A-b", "a sane ID not kept")
    attack.report()


def test_the_sign_in_form_only_ever_sends_people_to_a_path_on_this_site(
    attacker: Callable[[str], Attack], settings: Settings
) -> None:
    give_password(settings, "alice")
    attack = attacker("anonymous")
    attack.settle()
    for target in NEXTS:
        label = f"next={target!r}"
        page = attack.send(label, method="GET", url="/login", params={"next": target})
        for form in (page, _sign_in(attack, label, target, "wrong password")):
            kept = NEXT_FIELD.search(form.text)
            value = html.unescape(kept.group(1)) if kept else "(no next field)"
            local = value.startswith("/") and not value.startswith(("//", "/\\"))
            attack.expect(label, local, f"the form keeps next={value!r}")
            attack.expect(label, "<script>" not in form.text, "script echoed")
        signed_in = _sign_in(attack, label, target, PASSWORD)
        location = signed_in.headers.get("location", "")
        attack.expect(label, signed_in.status_code == 303, f"answered {signed_in.status_code}")
        attack.expect(label, stays_on_site(location), f"redirected to {location!r}")
        attack.expect(label, "injected" not in str(signed_in.cookies), "cookie injected")
    attack.report()


def _sign_in(attack: Attack, label: str, target: str, password: str) -> httpx.Response:
    form = {"username": "alice", "password": password, "next": target}
    response = attack.send(label, method="POST", url="/login", data=form)
    attack.client.cookies.clear()
    return response


def test_a_page_asked_for_without_a_session_redirects_to_sign_in_on_this_site(
    attacker: Callable[[str], Attack], every_endpoint: list[Endpoint]
) -> None:
    attack = attacker("anonymous")
    for endpoint in (e for e in every_endpoint if e.rule.page):
        for suffix in ("", "?next=//evil.example", "?%0d%0aSet-Cookie:injected=1"):
            url = endpoint.path + suffix
            response = attack.send(url, method="GET", url=url)
            location = response.headers.get("location", "")
            attack.expect(url, response.status_code == 303, f"answered {response.status_code}")
            attack.expect(url, stays_on_site(location), f"redirected to {location!r}")
    attack.report()


def test_a_redirect_never_names_a_host_the_request_made_up(
    attacker: Callable[[str], Attack], every_endpoint: list[Endpoint]
) -> None:
    attack = attacker("admin")
    for endpoint in (e for e in every_endpoint if e.method == "GET" and e.path != "/"):
        url = endpoint.request()["url"] + "/"
        response = attack.send(url, method="GET", url=url, headers={"Host": "evil.example"})
        location = response.headers.get("location", "")
        attack.expect(url, "evil.example" not in location, f"redirected to {location!r}")
    attack.report()


def test_a_sign_in_link_from_the_api_uses_the_public_url_whatever_the_host_header(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    public = "https://editorial.station.example"
    settings = make_settings(tmp_path_factory.mktemp("public"), EA_API_PUBLIC_URL=public)
    migrate(settings.database_path)
    with _app_client(settings, peer="127.0.0.1", app=create_app(settings)) as client:
        add_persona(settings, "carol", "viewer")
        response = client.post("/api/users/carol/login-link", headers={"Host": "evil.example"})
    assert response.status_code == 200, response.text
    assert response.json()["url"].startswith(f"{public}/login/link?token="), response.json()


@pytest.mark.parametrize(
    "header",
    [
        "Authorization",
        "X-Request-ID",
        "Cookie",
        "Cf-Access-Jwt-Assertion",
        "X-Forwarded-For",
        "User-Agent",
        "X-CSRF-Token",
        "Accept-Language",
    ],
)
def test_a_header_of_100_kb_gets_no_server_error(
    header: str, attacker: Callable[[str], Attack], every_endpoint: list[Endpoint]
) -> None:
    attack = attacker("admin")
    value = {"Authorization": f"Bearer {HUGE}", "Cookie": f"{SESSION_COOKIE}={HUGE}"}.get(
        header, HUGE
    )
    for endpoint in every_endpoint:
        attack.send(f"{endpoint} {header}", **endpoint.request(), headers={header: value})
    many = {f"X-Filler-{i}": "x" * 100 for i in range(500)}
    attack.send("500 headers", method="GET", url="/api/jobs", headers=many)
    attack.report()


def test_forged_proxy_headers_from_anyone_but_the_local_proxy_are_ignored(
    client: TestClient, settings: Settings
) -> None:
    key = client.headers["Authorization"]
    for peer, expected in (("203.0.113.9", "203.0.113.9"), ("testclient", "unknown")):
        with _app_client(settings, peer=peer, app=client.app) as outsider:
            created = outsider.post(
                "/api/keys",
                json={"name": f"from-{peer}", "role": "viewer"},
                headers={**FORGED, "Authorization": key},
            )
            assert created.status_code == 201, created.text
            assert (last_audit(settings)["action"], last_audit(settings)["ip"]) == (
                "key.created",
                expected,
            )
            assert "strict-transport-security" not in created.headers
            refused = outsider.post(
                "/api/auth/login", json={"username": "alice", "password": "wrong"}, headers=FORGED
            )
            assert refused.status_code == 401
            assert (last_audit(settings)["action"], last_audit(settings)["ip"]) == (
                "auth.login_failed",
                expected,
            )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Forwarded-For": "203.0.113.5, 198.51.100.66"}, "198.51.100.66"),
        ({"Cf-Connecting-Ip": "198.51.100.77", "X-Forwarded-For": "10.0.0.1"}, "198.51.100.77"),
        ({"Cf-Connecting-Ip": "<script>", "X-Forwarded-For": "not-an-ip"}, "127.0.0.1"),
        ({"X-Forwarded-For": "198.51.100.66\r\nX-Injected: 1"}, "127.0.0.1"),
        ({"Cf-Connecting-Ip": "fe80::1%eth0"}, "127.0.0.1"),
    ],
)
def test_the_local_proxy_s_headers_name_the_caller_only_when_they_hold_an_address(
    headers: dict[str, str], expected: str, client: TestClient, settings: Settings
) -> None:
    with _app_client(settings, peer="127.0.0.1", app=client.app) as proxied:
        refused = proxied.post(
            "/api/auth/login", json={"username": "alice", "password": "wrong"}, headers=headers
        )
    assert refused.status_code == 401
    assert "x-injected" not in refused.headers
    assert last_audit(settings)["ip"] == expected


def _app_client(settings: Settings, *, peer: str, app: ASGIApp) -> TestClient:
    """A client of ``app`` connecting from ``peer``, signed in as alice."""
    return TestClient(
        app,
        client=(peer, 40000),
        raise_server_exceptions=False,
        headers=bearer(add_persona(settings, "alice", "admin")),
    )
