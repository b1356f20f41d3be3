"""Every pattern a request value must match is refused in words, not as a regular expression."""

from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from editorial_assistant.patterns import describe


def route_patterns(app) -> set[str]:  # type: ignore[no-untyped-def]
    """The pattern of every query, path and header parameter of every route."""
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        dependants = [route.dependant, *route.dependant.dependencies]
        for dependant in dependants:
            params = dependant.query_params + dependant.path_params + dependant.header_params
            for param in params:
                for rule in param.field_info.metadata:
                    if getattr(rule, "pattern", None):
                        found.add(rule.pattern)
    return found


def test_every_route_pattern_has_words(client: TestClient) -> None:
    patterns = route_patterns(client.app)
    assert len(patterns) >= 6  # the walk finds them (search text, Media IDs, dates, choices)
    unknown = sorted(p for p in patterns if describe(p) is None)
    assert not unknown, f"add these to editorial_assistant/patterns.py ALLOWED: {unknown}"


def test_a_refused_value_is_told_in_words(client: TestClient) -> None:
    for method, url, words in (
        ("GET", "/api/jobs?q=%01", "must be text without control characters"),
        ("POST", "/api/jobs/1/bogus", "must be one of: pause, resume, cancel, retry"),
        ("GET", "/?status=bogus", "must be one of: all, queued, running"),
        ("GET", "/api/audit?since=yesterday", "must be an ISO 8601 time in UTC"),
    ):
        message = client.request(method, url).json()["error"]["message"]
        assert words in message and "^" not in message, (url, message)


def test_an_unknown_pattern_is_not_guessed() -> None:
    assert describe(r"^[a-z]+\d*$") is None
    assert describe("^(a|b|)$") == "one of: a, b, or empty"
