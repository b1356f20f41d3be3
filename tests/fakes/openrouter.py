"""A fake OpenRouter: its chat-completions and models endpoints on 127.0.0.1, failures included.

``FakeOpenRouter`` serves OpenRouter's wire format from a background thread so tests and the
benchmark exercise the real HTTP client. Answers are deterministic drafts chosen by the
``X-Editorial-Phase`` header (the formatter echoes the ``<transcript>`` words as speaker
paragraphs); ``fail_next`` and ``always`` make it answer with OpenRouter's errors, hang, or send
broken bodies instead. Every request is recorded, with the cost the server reported for it.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

API = "/api/v1"
CHAT_PATH = f"{API}/chat/completions"
MODELS_PATH = f"{API}/models"
BAD_KEY = "sk-or-v1-bad"
PROVIDER = "FakeProvider"
ERROR_BEHAVIOURS = ("400", "401", "402", "403", "404", "429", "500", "502", "503")
ANSWER_BEHAVIOURS = ("ok", "empty", "length", "half")  # 200 answers that carry usage
BEHAVIOURS = (*ANSWER_BEHAVIOURS, *ERROR_BEHAVIOURS, "timeout", "malformed", "no_choices")
BUILT_IN_MODELS = {
    "openai/gpt-4o-mini": ("OpenAI: GPT-4o-mini", 128_000, 16_384),
    "google/gemini-2.5-flash": ("Google: Gemini 2.5 Flash", 1_048_576, 65_535),
    "anthropic/claude-sonnet-4": ("Anthropic: Claude Sonnet 4", 200_000, 64_000),
    "anthropic/claude-opus-4": ("Anthropic: Claude Opus 4", 200_000, 32_000),
    "meta-llama/llama-3.3-70b-instruct": ("Meta: Llama 3.3 70B Instruct", 131_072, 16_384),
}
ERROR_MESSAGES = {
    400: "Invalid request: the provider rejected the request parameters.",
    401: "User not found.",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    403: 'Moderation: {model} requires moderation and your input was flagged for "harassment".',
    404: "No endpoints found for {model}.",
    408: "Request timed out",
    429: "Rate limit exceeded: free-models-per-min.",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "No available model provider that meets your routing requirements.",
}
SEO = (
    "# SEO metadata\n\n## Title\n\nA Short Title\n\n## Short description\n\n"
    "One short sentence.\n\n## Long description\n\nA story about purpose and persistence. "
    "It follows the people who keep going.\n\n## Keywords\n\nalpha, beta, gamma\n\n"
    "## Tags\n\nalpha, beta"
)
MANAGER = "# QA review\n\n**Verdict:** APPROVED\n\n## Checklist\n\n- [x] Outputs present"
TIMESTAMP = (
    "# Chapters\n\n## Media Manager\n\n| Chapter | Start | End |\n|---|---|---|\n"
    "| Opening | 00:00:00 | 00:05:00 |\n\n## YouTube\n\n0:00 Opening"
)
DEFAULT = "# Draft\n\nText."
_TRANSCRIPT = re.compile(r"<transcript>(.*?)</transcript>", re.S)
_LINE = re.compile(
    r"^(?P<time>\[(?:\d{1,2}:)?\d{1,2}:\d{2}\]\s*)?"
    r"(?:(?P<name>[A-Z][\w.'’-]*(?: [A-Z0-9][\w.'’-]*){0,3}):\s+|(?P<dash>-)\s+)?"
    r"(?P<text>.*)$"
)


@dataclass
class RecordedRequest:
    """One request as the fake saw it, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    model: str = ""
    job: str = ""
    phase: str = ""
    behaviour: str = ""
    status: int = 0
    cost: float = 0.0


@dataclass
class Reply:
    """An HTTP answer ready to write."""

    status: int
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Paragraph:
    """Consecutive transcript words from one speaker ("" when unlabelled)."""

    speaker: str
    words: list[str]


def parse_paragraphs(transcript: str) -> list[Paragraph]:
    """Speaker paragraphs from ``[MM:SS] Name: text`` lines, time prefixes dropped.

    As in the app's prompts, ``Name: `` starts a named turn, ``- `` an unnamed one, and a line
    with neither continues the current speaker.
    """
    paragraphs: list[Paragraph] = []
    for line in transcript.splitlines():
        match = _LINE.match(line.strip())
        if not match or not (match["text"].strip() or match["name"]):
            continue
        speaker, words = match["name"] or "", match["text"].split()
        if paragraphs and _continues(paragraphs[-1], speaker, bool(match["dash"])):
            paragraphs[-1].words.extend(words)
        else:
            paragraphs.append(Paragraph(speaker, words))
    return paragraphs


def _continues(last: Paragraph, speaker: str, new_turn: bool) -> bool:
    if speaker:
        return last.speaker == speaker
    return not new_turn


def render_paragraphs(paragraphs: list[Paragraph], keep: int | None = None) -> str:
    """Markdown paragraphs, ``**Name:** text`` when labelled; only ``keep`` words if given."""
    blocks: list[str] = []
    left = math.inf if keep is None else keep
    for paragraph in paragraphs:
        words = paragraph.words[: int(min(left, len(paragraph.words)))]
        left -= len(words)
        if not words:
            break
        label = f"**{paragraph.speaker}:** " if paragraph.speaker else ""
        blocks.append(label + " ".join(words))
    return "\n\n".join(blocks)


def transcript_of(messages: list[Any]) -> str:
    """The ``<transcript>`` block of the last user message, or that whole message."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    text = text_of(users[-1].get("content")) if users else ""
    match = _TRANSCRIPT.search(text)
    return match.group(1) if match else text


def text_of(content: Any) -> str:
    """A message's text, whether a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def draft(phase: str, messages: list[Any], *, half: bool = False) -> str:
    """The deterministic Markdown a model would write for ``phase``."""
    paragraphs = parse_paragraphs(transcript_of(messages))
    if phase == "formatter" or half:
        total = sum(len(p.words) for p in paragraphs)
        return render_paragraphs(paragraphs, total // 2 if half else None)
    if phase == "analyst":
        return brainstorm([w for p in paragraphs for w in p.words])
    return {"seo": SEO, "manager": MANAGER, "timestamp": TIMESTAMP}.get(phase, DEFAULT)


def brainstorm(words: list[str]) -> str:
    """The analyst's draft: a summary from the first 30 words, keywords from long ones."""
    cleaned = [re.sub(r"\W+", "", w).lower() for w in words]
    keywords = list(dict.fromkeys(w for w in cleaned if len(w) >= 6))[:3] or ["transcript"]
    bullets = "\n".join(f"- {k}" for k in keywords)
    return f"# Brainstorming\n\n## Summary\n\n{' '.join(words[:30])}\n\n## Keywords\n\n{bullets}"


def tokens(text: str) -> int:
    """Deterministic token estimate: 1.3 tokens per whitespace-separated word."""
    return math.ceil(len(text.split()) * 1.3)


def error_body(status: int, model: str, message: str | None = None) -> dict[str, Any]:
    """OpenRouter's error object for ``status``, with metadata where OpenRouter sends some."""
    text = message or ERROR_MESSAGES.get(status, "Not Found").format(model=model)
    error: dict[str, Any] = {"code": status, "message": text}
    metadata = _error_metadata(status, model)
    if metadata:
        error["metadata"] = metadata
    return {"error": error}


def _error_metadata(status: int, model: str) -> dict[str, Any]:
    if status == 429:
        reset = str(int(time.time() + 60) * 1000)
        limits = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0"}
        return {"headers": {**limits, "X-RateLimit-Reset": reset}, "provider_name": None}
    if status == 403:
        flagged = {"reasons": ["harassment"], "flagged_input": "...", "model_slug": model}
        return {**flagged, "provider_name": PROVIDER}
    if status == 502:
        return {"provider_name": PROVIDER, "raw": "upstream connect error"}
    return {}


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply."""
    return Reply(status, json.dumps(body).encode(), headers or {})


def price_text(price: float) -> str:
    """A per-token price the way OpenRouter writes it, e.g. ``"0.00000015"``."""
    return format(Decimal(repr(price)).normalize(), "f")


def request_problem(body: Any) -> str | None:
    """Why a chat-completions body is invalid, or None."""
    if not isinstance(body, dict):
        return "Invalid request: the body is not a JSON object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "Invalid request: 'model' is required."
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "Invalid request: 'messages' must be a non-empty array."
    return None


def bearer(headers: dict[str, str]) -> str:
    """The API key from an ``Authorization: Bearer`` header, "" if none."""
    scheme, _, key = headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


class FakeOpenRouter:
    """An OpenRouter-compatible HTTP server on 127.0.0.1, run in a background thread."""

    retry_after = 1

    def __init__(
        self,
        *,
        latency: float = 0.0,
        prompt_price: float = 1e-6,
        completion_price: float = 2e-6,
        served_model: Callable[[str], str] | None = None,
        hang_seconds: float = 30.0,
        model_prices: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        self.latency, self.hang_seconds = latency, hang_seconds
        self.prompt_price, self.completion_price = prompt_price, completion_price
        self.served_model = served_model or (lambda slug: slug)
        self.model_prices = dict(model_prices or {})
        self.base_url = ""
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._queued: dict[str | None, deque[str]] = {}
        self._standing: dict[str | None, str] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None

    def start(self) -> FakeOpenRouter:
        """Listen on a free port and serve from a daemon thread."""
        self._stopping.clear()
        self._server = _Server(self)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}{API}"
        thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging handlers wake and hang up without answering."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenRouter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(self, *behaviours: str, model: str | None = None) -> None:
        """Answer the next requests (for ``model``, else any model) with these behaviours."""
        for behaviour in behaviours:
            _check_behaviour(behaviour)
        with self._lock:
            self._queued.setdefault(model, deque()).extend(behaviours)

    def always(self, behaviour: str, model: str | None = None) -> None:
        """Answer every request (for ``model``, else any) this way; ``"ok"`` undoes it."""
        _check_behaviour(behaviour)
        with self._lock:
            self._standing[model] = behaviour

    def cost_by_job(self) -> dict[str, float]:
        """Cost reported in successful answers, summed per ``X-Editorial-Job``."""
        totals: dict[str, float] = {}
        for record in self._answered_with_usage():
            totals[record.job] = totals.get(record.job, 0.0) + record.cost
        return {job: round(cost, 10) for job, cost in totals.items()}

    def total_cost(self) -> float:
        """Cost reported in all successful answers."""
        return round(sum(record.cost for record in self._answered_with_usage()), 10)

    def prices(self, model: str) -> tuple[float, float]:
        """The (prompt, completion) price per token for ``model``."""
        return self.model_prices.get(model, (self.prompt_price, self.completion_price))

    def models_listing(self) -> dict[str, Any]:
        """The body of ``GET /models``: built-in slugs, priced slugs and every model requested."""
        with self._lock:
            requested = [r.model for r in self.requests if r.model]
        slugs = dict.fromkeys([*BUILT_IN_MODELS, *self.model_prices, *requested])
        return {"data": [self._model_entry(slug) for slug in slugs]}

    def _model_entry(self, slug: str) -> dict[str, Any]:
        name, context, completion = BUILT_IN_MODELS.get(slug, (slug, 128_000, 16_384))
        prompt_price, completion_price = self.prices(slug)
        pricing = {"prompt": price_text(prompt_price), "completion": price_text(completion_price)}
        return {
            "id": slug,
            "name": name,
            "created": 1_735_689_600,
            "context_length": context,
            "pricing": {**pricing, "request": "0", "image": "0"},
            "top_provider": {
                "context_length": context,
                "max_completion_tokens": completion,
                "is_moderated": False,
            },
        }

    def _answered_with_usage(self) -> list[RecordedRequest]:
        with self._lock:
            records = list(self.requests)
        return [r for r in records if r.status == 200 and r.behaviour in ANSWER_BEHAVIOURS]

    def receive(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> RecordedRequest:
        """Record a request on arrival; the answer's details are filled in later."""
        record = RecordedRequest(method, path, headers, _parse_json(raw))
        record.job = headers.get("x-editorial-job", "")
        record.phase = headers.get("x-editorial-phase", "")
        with self._lock:
            self.requests.append(record)
        return record

    def _take_behaviour(self, model: str) -> str:
        with self._lock:
            for key in (model, None):
                queue = self._queued.get(key)
                if queue:
                    return queue.popleft()
            return self._standing.get(model) or self._standing.get(None) or "ok"

    def answer(self, record: RecordedRequest) -> Reply | None:
        """The reply to a recorded request, or None to hang up without one."""
        path = record.path.split("?", 1)[0]
        if record.method == "GET" and path == MODELS_PATH:
            reply: Reply | None = json_reply(200, self.models_listing())
        elif record.method == "POST" and path == CHAT_PATH:
            reply = self._answer_chat(record)
        else:
            reply = json_reply(404, error_body(404, "", f"No route for {record.method} {path}"))
        if reply is not None:
            record.status = reply.status
        return reply

    def _answer_chat(self, record: RecordedRequest) -> Reply | None:
        key, problem = bearer(record.headers), request_problem(record.body)
        if not key or key == BAD_KEY:
            record.behaviour = "401"
            message = "User not found." if key else "No auth credentials found"
            return json_reply(401, {"error": {"code": 401, "message": message}})
        if problem:
            record.behaviour = "400"
            return json_reply(400, error_body(400, "", problem))
        record.model = record.body["model"]
        record.behaviour = self._take_behaviour(record.model)
        return self._perform(record)

    def _perform(self, record: RecordedRequest) -> Reply | None:
        behaviour, model = record.behaviour, record.model
        if behaviour in ERROR_BEHAVIOURS:
            status = int(behaviour)
            headers = {"Retry-After": str(self.retry_after)} if status == 429 else {}
            return json_reply(status, error_body(status, model), headers)
        if behaviour == "timeout":
            hung_up = self._stopping.wait(self.hang_seconds)
            return None if hung_up else json_reply(408, error_body(408, model))
        self._stopping.wait(self.latency)
        if behaviour == "malformed":
            return Reply(200, b'{"id": "gen-cut", "choices": [{"message": {"content": "Tru')
        if behaviour == "no_choices":
            return json_reply(200, self._envelope(model))
        return json_reply(200, self._completion(record))

    def _envelope(self, model: str) -> dict[str, Any]:
        return {
            "id": f"gen-{int(time.time())}-{secrets.token_hex(10)}",
            "provider": PROVIDER,
            "model": self.served_model(model),
            "object": "chat.completion",
            "created": int(time.time()),
        }

    def _completion(self, record: RecordedRequest) -> dict[str, Any]:
        messages = record.body["messages"]
        content = draft(record.phase, messages, half=record.behaviour == "half")
        finish = "stop"
        if record.behaviour == "empty":
            content = ""
        elif record.behaviour == "length":
            content, finish = content[: len(content) // 2], "length"
        choice = {
            "index": 0,
            "logprobs": None,
            "finish_reason": finish,
            "native_finish_reason": finish,
            "message": {"role": "assistant", "content": content, "refusal": None},
        }
        usage = self._usage(record, messages, content)
        return {**self._envelope(record.model), "choices": [choice], "usage": usage}

    def _usage(self, record: RecordedRequest, messages: list[Any], content: str) -> dict[str, Any]:
        prompt = sum(tokens(text_of(m.get("content"))) for m in messages if isinstance(m, dict))
        completion = tokens(content)
        prompt_price, completion_price = self.prices(record.model)
        record.cost = round(prompt * prompt_price + completion * completion_price, 10)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "cost": record.cost,
            "is_byok": False,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }


def _check_behaviour(behaviour: str) -> None:
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"Unknown behaviour {behaviour!r}; use one of {', '.join(BEHAVIOURS)}.")


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops bursts of concurrent calls

    def __init__(self, fake: FakeOpenRouter) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hung up first (the timeout behaviour expects that)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeOpenRouter/1.0"

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _dispatch(self) -> None:
        fake = cast(_Server, self.server).fake
        headers = {name.lower(): value for name, value in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        record = fake.receive(self.command, self.path, headers, self.rfile.read(length))
        reply = fake.answer(record)
        if reply is None:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in {"Content-Type": "application/json", **reply.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.payload)))
        self.end_headers()
        self.wfile.write(reply.payload)
