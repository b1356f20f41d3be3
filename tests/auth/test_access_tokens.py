"""Cloudflare Access tokens, signed in the test, checked against a real local certs endpoint."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest

from editorial_assistant.auth.access import (
    AccessDenied,
    AccessIdentity,
    AccessUnavailable,
    AccessVerifier,
    default_certs_url,
    team_issuer,
)
from tests.fakes.cloudflare_access import AUD, DAY, FakeCloudflareAccess, SigningKey, b64url, forge

NOW = 1_760_000_000.0  # long past, so PyJWT checking times with the real clock would refuse all
FAILURES = ["500", "timeout", "malformed"]


class Clock:
    """The verifier's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def team() -> Iterator[FakeCloudflareAccess]:
    with FakeCloudflareAccess(hang_seconds=2.0) as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(team: FakeCloudflareAccess, clock: Clock) -> AccessVerifier:
    return make_verifier(team, clock)


def make_verifier(team: FakeCloudflareAccess, clock: Clock, **options: Any) -> AccessVerifier:
    settings = {"certs_url": team.certs_url, "clock": clock, "timeout_seconds": 0.3, **options}
    return AccessVerifier(team_domain=team.team_domain, aud=AUD, **settings)


def token(team: FakeCloudflareAccess, **overrides: Any) -> str:
    return team.mint(team.claims(now=NOW, **overrides))


def refusal(verifier: AccessVerifier, bad_token: str) -> str:
    """The message of the AccessDenied the token earns, checked not to quote the token."""
    with pytest.raises(AccessDenied) as caught:
        verifier.verify(bad_token)
    assert (caught.value.status, caught.value.code) == (401, "access_denied")
    assert all(len(part) < 8 or part not in caught.value.message for part in bad_token.split("."))
    return caught.value.message


def without(claims: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in claims.items() if key != name}


def test_it_accepts_a_token_cloudflare_signed(team: FakeCloudflareAccess, verifier: AccessVerifier):
    found = verifier.verify(token(team, email="  Alice@Example.ORG "))
    assert isinstance(found, AccessIdentity)
    assert (found.email, found.subject) == ("alice@example.org", team.claims(now=NOW)["sub"])
    assert found.claims["aud"] == [AUD] and found.claims["type"] == "app"
    assert team.fetches == 1


def test_it_accepts_an_aud_list_that_holds_ours_among_others(team, verifier):
    assert verifier.verify(token(team, aud=["another-app", AUD])).email == "alice@example.org"


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"aud": ["another-app"]}, "another application (aud)"),
        ({"aud": []}, "has no aud claim"),
        ({"iss": "https://elsewhere.cloudflareaccess.com"}, "another Cloudflare Access team (iss)"),
        ({"iat": int(NOW) + 600}, "issued in the future (iat)"),
        ({"exp": "tomorrow"}, "exp claim that is not a time"),
        ({"exp": 10**400}, "exp claim that is not a time"),
        ({"nbf": True}, "nbf claim that is not a time"),
        ({"email": ""}, "has no email claim"),
    ],
)
def test_it_refuses_claims_that_do_not_fit(team, verifier, claims: dict, problem: str):
    assert problem in refusal(verifier, token(team, **claims))


@pytest.mark.parametrize("claim", ["email", "exp", "nbf", "iss", "aud"])
def test_it_refuses_a_token_missing_a_required_claim(team, verifier, claim: str):
    message = refusal(verifier, team.mint(without(team.claims(now=NOW), claim)))
    assert f"no {claim} claim" in message


def test_it_refuses_an_expired_token_after_the_leeway(team, verifier, clock: Clock):
    issued = token(team)
    clock.now = NOW + DAY + 29
    assert verifier.verify(issued).email == "alice@example.org"
    clock.now = NOW + DAY + 31
    assert refusal(verifier, issued) == "The Cloudflare Access token has expired."


def test_it_refuses_a_token_that_is_not_valid_yet(team, verifier, clock: Clock):
    early = team.mint(team.claims(now=NOW + 120))
    assert "is not valid yet (nbf)" in refusal(verifier, early)
    clock.now = NOW + 100
    assert verifier.verify(early).email == "alice@example.org"


def test_it_refuses_a_key_the_team_never_published(team, verifier):
    stranger = team.mint(team.claims(now=NOW), key=SigningKey())
    assert "signed with an unknown key (kid)" in refusal(verifier, stranger)


@pytest.mark.parametrize("alg", ["none", "HS256", "RS512", "PS256", "ES256"])
def test_it_refuses_every_algorithm_but_rs256_before_fetching_keys(team, verifier, alg: str):
    header = {"alg": alg, "typ": "JWT", "kid": team.keys[0].kid}
    forged = forge(header, team.claims(now=NOW), hmac_key=team.keys[0].public_pem())
    assert f"uses algorithm {alg}; only RS256 is accepted" in refusal(verifier, forged)
    assert team.fetches == 0


def test_it_does_not_repeat_an_outlandish_algorithm_name(team, verifier):
    forged = forge({"alg": "<b>RS256</b>" * 20, "kid": team.keys[0].kid}, team.claims(now=NOW))
    message = refusal(verifier, forged)
    assert "uses algorithm an unknown one; only RS256" in message and "<b>" not in message


def test_it_refuses_hs256_keyed_with_the_public_key_pem(team, verifier):
    header = {"alg": "HS256", "typ": "JWT", "kid": team.keys[0].kid}
    forged = forge(header, team.claims(now=NOW), hmac_key=team.keys[0].public_pem())
    naive = jwt.api_jws.PyJWS().decode(forged, key=b"", options={"verify_signature": False})
    assert naive  # the forgery is a well-formed token; only the algorithm gives it away
    assert "uses algorithm HS256" in refusal(verifier, forged)


def test_it_refuses_a_token_whose_payload_was_changed(team, verifier):
    header, _, signature = token(team).split(".")
    promoted = b64url(json.dumps(team.claims(now=NOW, email="boss@example.org")).encode())
    message = refusal(verifier, f"{header}.{promoted}.{signature}")
    assert "signature that does not match" in message


def test_it_refuses_a_signed_payload_that_is_not_json(team, verifier):
    signer = team.keys[-1]
    signed = jwt.api_jws.PyJWS().encode(
        b"not json", signer.private, algorithm="RS256", headers={"kid": signer.kid}
    )
    assert "is malformed" in refusal(verifier, signed)


@pytest.mark.parametrize(
    ("garbage", "problem"),
    [
        ("", "No Cloudflare Access token was sent"),
        ("not a token at all", "three dot-separated parts"),
        ("a.b", "three dot-separated parts"),
        ("a.b.c.d", "three dot-separated parts"),
        ("!!!!.e30.e30", "header is not base64url-encoded JSON"),
        (f"{b64url(b'[1]')}.e30.e30", "header is not base64url-encoded JSON"),
        ("x" * 20_000, "longer than"),
        (f"{b64url(b'[' * 5000)}.e30.e30", "header is not base64url-encoded JSON"),
    ],
)
def test_it_refuses_garbage_with_a_clear_message(verifier, garbage: str, problem: str):
    assert problem in refusal(verifier, garbage)


def test_it_refuses_a_truncated_token(team, verifier):
    whole = token(team)
    assert "is malformed" in refusal(verifier, whole[: whole.index(".") - 5])
    assert "does not match" in refusal(verifier, whole[:-10])
    assert "three dot-separated parts" in refusal(verifier, whole[: whole.rindex(".")])


def test_it_follows_a_key_rotation_without_a_new_verifier(team, verifier, clock: Clock):
    old = token(team)
    verifier.verify(old)
    team.rotate()
    clock.now += 60
    assert verifier.verify(token(team)).email == "alice@example.org"
    assert team.fetches == 2
    assert "unknown key" in refusal(verifier, old)


def test_it_refetches_for_unknown_kids_at_a_bounded_rate(team, verifier, clock: Clock):
    verifier.verify(token(team))
    clock.now += 60  # fetches, whatever their reason, are a minute apart
    strays = [forge({"alg": "RS256", "kid": secrets.token_hex(32)}, {}) for _ in range(40)]
    with ThreadPoolExecutor(8) as pool:
        messages = list(pool.map(lambda stray: refusal(verifier, stray), strays))
    assert all("unknown key" in message for message in messages)
    assert team.fetches == 2
    clock.now += 59
    refusal(verifier, strays[0])
    assert team.fetches == 2
    clock.now += 1
    refusal(verifier, strays[0])
    assert team.fetches == 3


def test_it_refetches_keys_once_the_cache_expires(team, verifier, clock: Clock):
    verifier.verify(token(team))
    clock.now += 3599
    verifier.verify(token(team))
    assert team.fetches == 1
    clock.now += 1
    verifier.verify(token(team))
    assert team.fetches == 2


@pytest.mark.parametrize("failure", FAILURES)
def test_it_keeps_the_cached_keys_when_a_refetch_fails(team, verifier, clock: Clock, failure):
    verifier.verify(token(team))
    team.always(failure)
    clock.now += 2 * 3600
    later = team.mint(team.claims(now=clock.now))
    assert verifier.verify(later).email == "alice@example.org"
    assert team.fetches == 2


@pytest.mark.parametrize("failure", FAILURES)
def test_it_is_unavailable_when_no_keys_can_be_fetched(team, verifier, clock: Clock, failure):
    team.always(failure)
    with pytest.raises(AccessUnavailable) as caught:
        verifier.verify(token(team))
    assert (caught.value.status, caught.value.code) == (503, "access_unavailable")
    assert team.certs_url in caught.value.message
    team.always("ok")
    clock.now += 60
    assert verifier.verify(token(team)).email == "alice@example.org"


def test_an_unknown_kid_while_cloudflare_is_down_is_unavailable_not_denied(team, verifier, clock):
    verifier.verify(token(team))
    team.always("500")
    clock.now += 60
    with pytest.raises(AccessUnavailable, match="HTTP 500"):
        verifier.verify(team.mint(team.claims(now=NOW), key=SigningKey()))


@pytest.mark.parametrize(
    "domain",
    [
        "newsroom.cloudflareaccess.com",
        "https://newsroom.cloudflareaccess.com",
        "https://newsroom.cloudflareaccess.com/",
        "  HTTPS://NewsRoom.CloudflareAccess.com ",
    ],
)
def test_it_turns_a_team_domain_into_the_issuer_and_certs_url(domain: str):
    assert team_issuer(domain) == "https://newsroom.cloudflareaccess.com"
    assert default_certs_url(domain) == "https://newsroom.cloudflareaccess.com/cdn-cgi/access/certs"


@pytest.mark.parametrize(
    "domain",
    [
        "",
        "newsroom",
        "cloudflareaccess.com",
        "http://newsroom.cloudflareaccess.com",
        "https://newsroom.cloudflareaccess.com/cdn-cgi/access/certs",
        "newsroom.cloudflareaccess.com?team=x",
        "newsroom.cloudflareaccess.com:443",
        "newsroom.cloudflareaccess.com.example.org",
        "evil.example.org/.cloudflareaccess.com",
        "a.b.cloudflareaccess.com",
    ],
)
def test_it_rejects_anything_but_a_team_domain(domain: str):
    with pytest.raises(ValueError, match=r"<team>\.cloudflareaccess\.com"):
        team_issuer(domain)


def test_it_will_not_build_a_verifier_without_an_aud_tag():
    with pytest.raises(ValueError, match="AUD tag is empty"):
        AccessVerifier(team_domain="newsroom.cloudflareaccess.com", aud="  ")
