"""The OpenRouter backend: OpenAI-style chat completions with usage, retries and fallbacks.

For the request's tier it tries the tier's models in order (primary, then fallbacks). On each
model a transient failure (408, 429, 5xx, connection error, timeout) is retried with exponential
backoff and jitter, honouring ``Retry-After``; a permanent one (400, 403, 404, a malformed,
empty or truncated answer) moves on to the next model. A missing, rejected or unfunded key stops
at once: no other model can fix it. Every HTTP call is reported through ``request.record`` with
the cost OpenRouter states in ``usage.cost``, and ``request.guard`` may veto any call before it
is made (the budget).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from editorial_assistant.llm.client import Attempt, LLMError, LLMRequest, LLMResult

PERMANENT = {400: "bad request", 403: "refused", 404: "model not found"}
STOP = {401: "OpenRouter rejected the API key", 402: "The OpenRouter account is out of credits"}


# The longest a retry waits: a Retry-After beyond this is cut short rather than holding a worker
# thread (and the worker's watchdog allowance, see worker.py, counts on this bound).
MAX_RETRY_WAIT_SECONDS = 300.0


class OpenRouterClient:
    """Calls OpenRouter for each request; thread-safe (one pooled HTTP client)."""

    name = "openrouter"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        models: Callable[[int], list[str]],
        timeout: float,
        max_retries: int,
        backoff: float,
        referer: str,
        title: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_key, self.models, self.max_retries = api_key, models, max_retries
        self.backoff, self.timeout, self.sleep = backoff, timeout, sleep
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"HTTP-Referer": referer, "X-Title": title},
        )

    def complete(self, request: LLMRequest) -> LLMResult:
        """Answer the request on the first model of its tier that succeeds."""
        if not self.api_key:
            raise LLMError(
                "No OpenRouter API key is configured.",
                code="llm_no_key",
                escalate=False,
                hint="Install the openrouter_api_key credential, or set llm.backend = 'local'.",
            )
        failures: list[LLMError] = []
        for model in self.models(request.tier):
            try:
                return self._on_model(model, request)
            except LLMError as exc:
                if not exc.escalate:
                    raise
                failures.append(exc)
        raise LLMError(" ".join(f.message for f in failures), transient=failures[-1].transient)

    def _on_model(self, model: str, request: LLMRequest) -> LLMResult:
        for attempt in range(self.max_retries + 1):
            if request.guard is not None:
                request.guard(model)
            try:
                return self._once(model, request)
            except LLMError as exc:
                if not exc.transient or attempt == self.max_retries:
                    raise
                self.sleep(self._delay(attempt, exc.retry_after))
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns/raises

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_WAIT_SECONDS)
        return min(
            float(self.backoff * 2**attempt * (0.5 + random.random())), MAX_RETRY_WAIT_SECONDS
        )

    def _once(self, model: str, request: LLMRequest) -> LLMResult:
        started = time.monotonic()
        try:
            response = self.http.post(
                "/chat/completions", json=_body(model, request), headers=self._headers(request)
            )
        except httpx.TimeoutException:
            message = f"{model} did not answer within {self.timeout:g} s."
            raise self._failed(
                request, model, "timeout", message, started, transient=True
            ) from None
        except httpx.TransportError as exc:
            message = f"Could not reach OpenRouter for {model}: {exc}."
            raise self._failed(
                request, model, "unreachable", message, started, transient=True
            ) from exc
        return self._read(model, request, response, time.monotonic() - started)

    def _headers(self, request: LLMRequest) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "X-Editorial-Job": request.job_id,
            "X-Editorial-Phase": request.phase,
        }

    def _read(
        self, model: str, request: LLMRequest, response: httpx.Response, latency: float
    ) -> LLMResult:
        if response.status_code != 200:
            raise self._http_error(model, request, response, latency)
        try:
            body = response.json()
            choice = body["choices"][0]
            text, finish = choice["message"]["content"] or "", choice.get("finish_reason")
        except (ValueError, KeyError, IndexError, TypeError):
            raise self._failed(
                request,
                model,
                "malformed",
                f"OpenRouter sent a malformed answer for {model}.",
                latency=latency,
            ) from None
        usage = body.get("usage") or {}
        attempt = _attempt(model, body, usage, latency)
        problem = _problem(model, text, finish)
        _report(request, attempt if problem is None else _with(attempt, problem))
        if problem is not None:
            raise LLMError(problem[1])
        return LLMResult(
            text,
            attempt.model_used or model,
            attempt.prompt_tokens,
            attempt.completion_tokens,
            attempt.cost_usd,
            latency,
        )

    def _http_error(
        self, model: str, request: LLMRequest, response: httpx.Response, latency: float
    ) -> LLMError:
        status, detail = response.status_code, _error_text(response)
        _report(
            request, Attempt(model, None, f"http_{status}", latency_seconds=latency, error=detail)
        )
        if status in STOP:
            return LLMError(
                f"{STOP[status]} ({detail}).",
                code="llm_auth" if status == 401 else "llm_credits",
                escalate=False,
                hint="Check the openrouter_api_key credential and the account.",
            )
        if status in (408, 429) or status >= 500:
            return LLMError(
                f"OpenRouter answered {status} for {model}: {detail}",
                transient=True,
                retry_after=_retry_after(response),
            )
        kind = PERMANENT.get(status, "error")
        return LLMError(f"OpenRouter answered {status} ({kind}) for {model}: {detail}")

    def _failed(
        self,
        request: LLMRequest,
        model: str,
        outcome: str,
        message: str,
        started: float | None = None,
        *,
        transient: bool = False,
        latency: float | None = None,
    ) -> LLMError:
        elapsed = latency if latency is not None else time.monotonic() - (started or 0)
        _report(request, Attempt(model, None, outcome, latency_seconds=elapsed, error=message))
        return LLMError(message, transient=transient)


def _body(model: str, request: LLMRequest) -> dict[str, Any]:
    return {
        "model": model,
        "messages": list(request.messages),
        "max_tokens": request.max_output_tokens,
        "temperature": 0.2,
        "usage": {"include": True},
    }


def _attempt(model: str, body: dict[str, Any], usage: dict[str, Any], latency: float) -> Attempt:
    return Attempt(
        model,
        str(body.get("model") or model),
        "ok",
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
        float(usage.get("cost") or 0.0),
        latency,
    )


def _problem(model: str, text: str, finish: str | None) -> tuple[str, str] | None:
    if finish == "length":
        return "truncated", f"{model} stopped at its output limit; the draft was cut off."
    if not text.strip():
        return "empty", f"{model} returned an empty answer."
    return None


def _with(attempt: Attempt, problem: tuple[str, str]) -> Attempt:
    return Attempt(
        attempt.model_requested,
        attempt.model_used,
        problem[0],
        attempt.prompt_tokens,
        attempt.completion_tokens,
        attempt.cost_usd,
        attempt.latency_seconds,
        problem[1],
    )


def _report(request: LLMRequest, attempt: Attempt) -> None:
    if request.record is not None:
        request.record(attempt)


def _error_text(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
        return str(message)[:500]
    except (ValueError, KeyError, TypeError):
        return (response.text or response.reason_phrase)[:200]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers["Retry-After"]), 300.0)
    except (KeyError, ValueError):
        return None
