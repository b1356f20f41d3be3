"""Path traversal and SQL metacharacters in every parameter of every route, as admin and viewer.

The routes, their parameters and valid values for the rest of each request come from the real
app (``surface.endpoints``), so a new route is attacked as soon as it exists. Each request is
checked by ``guard``: no 5xx, the security headers, the error shape, nothing internal in the
body, and no data changed by a refused request or a read.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from editorial_assistant.auth.roles import LEVEL
from tests.security.conftest import MARKER, Attack
from tests.security.surface import Endpoint, Param

# The first few go everywhere, the rest wherever a request costs no password hash.
TRAVERSAL = (
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "/etc/passwd",
    "..\\..\\etc\\passwd",
    "%2e%2e/%2e%2e/etc/passwd",
    "..%252f..%252fetc%252fpasswd",
    "....//....//etc/passwd",
    "/proc/self/environ",
    "/var/lib/editorial-assistant/editorial-assistant.db",
    "C:\\Windows\\win.ini",
    "file:///etc/passwd",
    "seo.md%00.txt",
    "seo.md\x00../../etc/passwd",
    f"../../{MARKER}.srt",
    "x" * 5000,
    "\uff0e\uff0e\uff0f\uff0e\uff0e\uff0fetc\uff0fpasswd",  # fullwidth ../
    "\u2025/\u2025/etc/passwd",  # two-dot leader
    "..\u2215..\u2215etc\u2215passwd",  # division slash
    "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",  # overlong UTF-8 dots
    "..",
)
SQL = (
    "' OR 1=1 --",
    '"; DROP TABLE jobs; --',
    "%' --",
    "\\",
    ")",
    "%",
    "_",
    "'); DELETE FROM users; --",
    "1; UPDATE users SET role = 'admin'",
    "' UNION SELECT key_hash, prefix FROM api_keys --",
    "\u02bc OR \u02bc1\u02bc=\u02bc1",  # modifier-letter apostrophes
    "\uff07 OR 1=1 --",  # fullwidth apostrophe
    "\U0001f642'; --",
    "\x00' OR '1'='1",
)
HASHED = 4  # payloads for a parameter that costs an argon2 hash (~100 ms each, by design)
NO_MATCH = "zz-matches-nothing-zz"
PERSONAS = ("admin", "viewer")


def attack_every_parameter(
    attack: Attack, surface: list[Endpoint], payloads: tuple[str, ...], *, role: str, path_4xx: bool
) -> int:
    """Send each payload in each text parameter of each route the persona is relevant to.

    A route the persona may not call gets the first three payloads only (the refusal comes
    before the handler); the public sign-in routes are attacked by the admin persona alone.
    With ``path_4xx``, a payload that reaches a path parameter as it is must be refused.
    """
    routes = 0
    for endpoint in surface:
        if endpoint.rule.public and role != "admin":
            continue
        routes += 1
        for param in (p for p in endpoint.params if p.text):
            for payload in _payloads(endpoint, param, payloads, role):
                for label, request, exact in endpoint.requests(param, payload):
                    response = attack.send(label, **request)
                    if path_4xx and exact and param.kind == "path":
                        _expect_refusal(attack, label, response)
    return routes


def _payloads(endpoint: Endpoint, param: Param, payloads: tuple[str, ...], role: str):
    if not may_call(endpoint, role):
        return payloads[:3]
    if endpoint.rule.limit == "login" or "password" in param.name:
        return payloads[:HASHED]
    return payloads


def _expect_refusal(attack: Attack, label: str, response: httpx.Response) -> None:
    status = response.status_code
    attack.expect(label, 400 <= status < 500, f"answered {status}")


def may_call(endpoint: Endpoint, role: str) -> bool:
    """Whether a caller with a global ``role`` (and no grants) passes the route's rule."""
    needed = endpoint.rule.role
    return endpoint.rule.public or needed is None or LEVEL[role] >= LEVEL[needed]


@pytest.mark.parametrize("persona", PERSONAS)
def test_path_traversal_in_any_parameter_reads_and_writes_nothing(
    persona: str, attacker: Callable[[str], Attack], every_endpoint: list[Endpoint]
) -> None:
    attack = attacker(persona)
    routes = attack_every_parameter(attack, every_endpoint, TRAVERSAL, role=persona, path_4xx=True)
    assert routes >= (30 if persona == "admin" else 20)
    attack.report()


@pytest.mark.parametrize("persona", PERSONAS)
def test_sql_metacharacters_in_any_parameter_change_nothing(
    persona: str, attacker: Callable[[str], Attack], every_endpoint: list[Endpoint]
) -> None:
    attack = attacker(persona)
    attack_every_parameter(attack, every_endpoint, SQL, role=persona, path_4xx=False)
    attack.report()


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_filter_full_of_sql_finds_what_a_harmless_string_finds(
    persona: str, attacker: Callable[[str], Attack], every_endpoint: list[Endpoint]
) -> None:
    attack = attacker(persona)
    for endpoint in (e for e in every_endpoint if e.method == "GET"):
        for param in (p for p in endpoint.params if p.text):
            baseline = attack.send(str(endpoint), **endpoint.request({param.name: NO_MATCH}))
            for payload in SQL:
                label = f"{endpoint} {param.name}={payload!r}"
                response = attack.send(label, **endpoint.request({param.name: payload}))
                if response.status_code == 200 and _is_json(response):
                    same = baseline.status_code == 200 and response.json() == baseline.json()
                    attack.expect(
                        label, same, f"found more than {NO_MATCH!r}: {response.text:.200}"
                    )
    attack.report()


@pytest.mark.parametrize("media_id", [".", ".."])
def test_a_media_id_of_dots_is_refused_by_the_grant_routes(
    media_id: str, attacker: Callable[[str], Attack]
) -> None:
    attack = attacker("admin")
    path = f"/api/projects/{media_id.replace('.', '%2E')}/access"
    for method, url, body in (("GET", path, None), ("PUT", f"{path}/carol", {"role": "viewer"})):
        _expect_refusal(
            attack, f"{method} {url}", attack.send(url, method=method, url=url, json=body)
        )
    attack.report()


def test_a_nul_byte_in_the_job_search_matches_nothing(
    attacker: Callable[[str], Attack],
) -> None:
    attack = attacker("viewer")
    response = attack.send("search", method="GET", url="/api/jobs", params={"q": "\x00zz"})
    assert response.status_code == 422 or response.json()["total"] == 0, response.text
    attack.report()


def _is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/json")
