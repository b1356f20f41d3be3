"""The fake OpenRouter speaks OpenRouter's wire format, its failures included, over real HTTP."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from editorial_assistant.llm.client import CharLimits
from editorial_assistant.pipeline.checks import (
    completeness_ratio,
    content_words,
    limit_problems,
    parse_seo,
    spoken_words,
)
from tests.fakes.openrouter import ERROR_MESSAGES, FakeOpenRouter

KEY = "sk-or-v1-test"
MODEL = "openai/gpt-4o-mini"
TRANSCRIPT = """<transcript>
[00:07] Angela Fitzgerald: Cindy Bentley has never given up.
[00:10] Cindy Bentley: You have to have a purpose to be alive.
continued text of the same cue may appear without a prefix
[00:15] and a timed line without a label continues her turn.
[00:18] - An unnamed speaker takes a turn.
[1:02:07] Speaker 1: Thanks, everyone.
</transcript>"""
FORMATTED = """**Angela Fitzgerald:** Cindy Bentley has never given up.

**Cindy Bentley:** You have to have a purpose to be alive. continued text of the same cue may \
appear without a prefix and a timed line without a label continues her turn.

An unnamed speaker takes a turn.

**Speaker 1:** Thanks, everyone."""
SPOKEN = " ".join(re.sub(r"\*\*[^*]+:\*\* ", "", FORMATTED).split())


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(hang_seconds=2.0) as server:
        yield server


def chat(
    fake: FakeOpenRouter,
    *,
    model: str = MODEL,
    phase: str = "formatter",
    job: str = "job-1",
    key: str | None = KEY,
    timeout: float = 5.0,
) -> httpx.Response:
    """POST one chat completion the way the app does."""
    headers = {"X-Editorial-Job": job, "X-Editorial-Phase": phase}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}".strip()  # httpx refuses a trailing space
    body = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You format transcripts."},
            {"role": "user", "content": f"Format this.\n{TRANSCRIPT}"},
        ],
        "max_tokens": 4000,
        "usage": {"include": True},
    }
    url = f"{fake.base_url}/chat/completions"
    return httpx.post(url, json=body, headers=headers, timeout=timeout)


def content(response: httpx.Response) -> str:
    """The assistant's text in a successful answer."""
    assert response.status_code == 200
    return str(response.json()["choices"][0]["message"]["content"])


def expected_cost(body: dict[str, Any], prompt_price: float, completion_price: float) -> float:
    """The documented formula: 1.3 tokens per word in, 1.3 per word out."""
    words_in = len(["You", "format", "transcripts."]) + len(f"Format this.\n{TRANSCRIPT}".split())
    words_out = len(body["choices"][0]["message"]["content"].split())
    cost = math.ceil(words_in * 1.3) * prompt_price + math.ceil(words_out * 1.3) * completion_price
    return round(cost, 10)


def test_it_answers_in_openrouter_shape_with_the_formula_cost(fake: FakeOpenRouter) -> None:
    body = chat(fake).json()
    assert body["id"].startswith("gen-") and body["object"] == "chat.completion"
    assert body["model"] == MODEL and body["provider"] == "FakeProvider"
    choice = body["choices"][0]
    assert choice["finish_reason"] == choice["native_finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant" and choice["message"]["refusal"] is None
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["cost"] == expected_cost(body, 1e-6, 2e-6)
    assert usage["is_byok"] is False


def test_it_reports_the_model_a_mapping_says_was_served() -> None:
    with FakeOpenRouter(served_model=lambda slug: f"{slug}-2024-07-18") as fake:
        assert chat(fake).json()["model"] == f"{MODEL}-2024-07-18"
        assert fake.requests[0].model == MODEL


def test_per_model_prices_override_the_defaults() -> None:
    with FakeOpenRouter(model_prices={MODEL: (1e-5, 3e-5)}) as fake:
        body = chat(fake).json()
    assert body["usage"]["cost"] == expected_cost(body, 1e-5, 3e-5)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "No auth credentials found"),
        ("", "No auth credentials found"),
        ("sk-or-v1-bad", "User not found."),
    ],
)
def test_it_refuses_a_request_without_good_credentials(
    fake: FakeOpenRouter, key: str | None, message: str
) -> None:
    response = chat(fake, key=key)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": 401, "message": message}}
    assert fake.requests[0].behaviour == "401" and fake.total_cost() == 0


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 429, 500, 502, 503])
def test_each_error_behaviour_answers_with_openrouter_error_json(
    fake: FakeOpenRouter, status: int
) -> None:
    fake.fail_next(str(status))
    response = chat(fake)
    error = response.json()["error"]
    assert response.status_code == error["code"] == status
    assert error["message"] == ERROR_MESSAGES[status].format(model=MODEL)
    assert fake.requests[0].status == status and fake.cost_by_job() == {}
    assert chat(fake).status_code == 200


def test_a_rate_limit_says_when_to_retry(fake: FakeOpenRouter) -> None:
    fake.retry_after = 3
    fake.fail_next("429")
    response = chat(fake)
    assert response.headers["Retry-After"] == "3"
    assert response.json()["error"]["message"] == "Rate limit exceeded: free-models-per-min."
    assert response.json()["error"]["metadata"]["headers"]["X-RateLimit-Remaining"] == "0"


def test_a_hanging_answer_times_the_client_out_and_stop_does_not_wait(
    fake: FakeOpenRouter,
) -> None:
    fake.fail_next("timeout")
    with pytest.raises(httpx.ReadTimeout):
        chat(fake, timeout=0.5)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.0
    assert fake.requests[0].behaviour == "timeout" and fake.requests[0].status == 0


def test_a_client_that_outwaits_the_hang_gets_a_408() -> None:
    with FakeOpenRouter(hang_seconds=0.1) as fake:
        fake.fail_next("timeout")
        response = chat(fake)
    assert response.status_code == 408 and response.json()["error"]["code"] == 408


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not a JSON object"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "'model' is required"),
        (b'{"model": "openai/gpt-4o-mini"}', "'messages' must be a non-empty array"),
    ],
)
def test_it_answers_400_to_a_body_it_cannot_use(
    fake: FakeOpenRouter, raw: bytes, message: str
) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    response = httpx.post(f"{fake.base_url}/chat/completions", content=raw, headers=headers)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_malformed_answers_200_with_a_body_that_is_not_json(fake: FakeOpenRouter) -> None:
    fake.fail_next("malformed")
    response = chat(fake)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert fake.total_cost() == 0


def test_no_choices_answers_200_json_without_choices_or_usage(fake: FakeOpenRouter) -> None:
    fake.fail_next("no_choices")
    body = chat(fake).json()
    assert "choices" not in body and "usage" not in body and body["model"] == MODEL


def test_empty_answers_blank_content_and_still_charges_the_prompt(fake: FakeOpenRouter) -> None:
    fake.fail_next("empty")
    body = chat(fake).json()
    assert body["choices"][0]["message"]["content"] == ""
    assert body["usage"]["completion_tokens"] == 0
    assert fake.cost_by_job() == {"job-1": body["usage"]["cost"]}


def test_length_cuts_the_content_and_says_so(fake: FakeOpenRouter) -> None:
    full = content(chat(fake))
    fake.fail_next("length")
    choice = chat(fake).json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert full.startswith(choice["message"]["content"]) and len(
        choice["message"]["content"]
    ) < len(full)


def test_queued_behaviours_are_consumed_in_order(fake: FakeOpenRouter) -> None:
    fake.fail_next("500", "429", "ok")
    statuses = [chat(fake).status_code for _ in range(4)]
    assert statuses == [500, 429, 200, 200]
    assert [r.behaviour for r in fake.requests] == ["500", "429", "ok", "ok"]


def test_behaviours_scoped_to_a_model_leave_other_models_alone(fake: FakeOpenRouter) -> None:
    fake.fail_next("503", model="anthropic/claude-sonnet-4")
    assert chat(fake).status_code == 200
    assert chat(fake, model="anthropic/claude-sonnet-4").status_code == 503
    assert chat(fake, model="anthropic/claude-sonnet-4").status_code == 200


def test_always_applies_to_every_request_until_reset(fake: FakeOpenRouter) -> None:
    fake.always("402")
    fake.always("404", model="google/gemini-2.5-flash")
    assert [chat(fake).status_code for _ in range(3)] == [402, 402, 402]
    assert chat(fake, model="google/gemini-2.5-flash").status_code == 404
    fake.always("ok")
    assert chat(fake).status_code == 200


def test_it_rejects_an_unknown_behaviour(fake: FakeOpenRouter) -> None:
    with pytest.raises(ValueError, match="Unknown behaviour"):
        fake.fail_next("418")


def test_cost_by_job_sums_what_was_reported_under_concurrency() -> None:
    with FakeOpenRouter(latency=0.2) as fake:
        fake.fail_next("500", "500")
        responses: list[httpx.Response] = []
        threads = [
            threading.Thread(target=lambda i=i: responses.append(chat(fake, job=f"job-{i % 3}")))
            for i in range(20)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    reported: dict[str, float] = {}
    for response in responses:
        if response.status_code == 200:
            job = response.request.headers["X-Editorial-Job"]
            reported[job] = reported.get(job, 0.0) + response.json()["usage"]["cost"]
    assert len(fake.requests) == 20 and elapsed < 2.0
    assert fake.cost_by_job() == pytest.approx(reported)
    assert fake.total_cost() == pytest.approx(sum(reported.values()))


def test_it_records_every_request_with_its_headers(fake: FakeOpenRouter) -> None:
    chat(fake, phase="seo", job="job-9")
    record = fake.requests[0]
    assert (record.method, record.path) == ("POST", "/api/v1/chat/completions")
    assert record.headers["x-editorial-job"] == "job-9" == record.job
    assert (record.phase, record.behaviour, record.status) == ("seo", "ok", 200)
    assert record.body["model"] == MODEL and record.cost > 0


def test_the_models_endpoint_lists_built_in_and_requested_models() -> None:
    with FakeOpenRouter(prompt_price=1.5e-7, completion_price=6e-7) as fake:
        chat(fake, model="qwen/qwen3-235b")
        models = httpx.get(f"{fake.base_url}/models").json()["data"]
    by_id = {model["id"]: model for model in models}
    assert {MODEL, "anthropic/claude-opus-4", "qwen/qwen3-235b"} <= set(by_id)
    pricing = by_id[MODEL]["pricing"]
    assert pricing == {
        "prompt": "0.00000015",
        "completion": "0.0000006",
        "request": "0",
        "image": "0",
    }
    assert by_id[MODEL]["top_provider"]["is_moderated"] is False


def test_anything_else_is_a_404_json_error(fake: FakeOpenRouter) -> None:
    response = httpx.get(f"{fake.base_url}/chat/completions")
    assert response.status_code == 404 and response.json()["error"]["code"] == 404
    assert httpx.post(f"{fake.base_url}/embeddings", json={}).status_code == 404


def test_the_formatter_echo_keeps_every_spoken_word(fake: FakeOpenRouter) -> None:
    text = content(chat(fake, phase="formatter"))
    assert text == FORMATTED
    assert completeness_ratio(text, spoken_words(SPOKEN)) == 1.0


def test_half_keeps_only_the_first_half_of_the_words(fake: FakeOpenRouter) -> None:
    fake.fail_next("half")
    body = chat(fake, phase="seo").json()
    text = body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] == "stop"
    assert content_words(text) == len(SPOKEN.split()) // 2
    assert FORMATTED.startswith(text)


def test_the_seo_draft_fits_the_character_limits(fake: FakeOpenRouter) -> None:
    seo = parse_seo(content(chat(fake, phase="seo")))
    assert limit_problems(seo, CharLimits()) == []
    assert seo.keywords == ["alpha", "beta", "gamma"] and seo.tags == ["alpha", "beta"]


@pytest.mark.parametrize(
    ("phase", "start"),
    [
        ("manager", "# QA review\n\n**Verdict:** APPROVED"),
        ("analyst", "# Brainstorming\n\n## Summary\n\nCindy Bentley has never given up. You"),
        ("timestamp", "# Chapters\n\n## Media Manager\n\n| Chapter | Start | End |"),
        ("", "# Draft\n\nText."),
    ],
)
def test_each_phase_gets_its_own_draft(fake: FakeOpenRouter, phase: str, start: str) -> None:
    assert content(chat(fake, phase=phase)).startswith(start)
