"""Helpers for the job page's tests: reading a page, an injected LLM client, an app of our own."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from editorial_assistant.config import Settings
from editorial_assistant.db import migrate
from editorial_assistant.llm.client import LLMError, LLMRequest, LLMResult
from editorial_assistant.llm.local import LocalLLMClient
from editorial_assistant.worker import Worker
from tests.conftest import SRT, admin_client, make_settings, upload

HTML = {"Accept": "text/html"}
VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
BLOCKS = {"article", "br", "dd", "div", "dl", "dt", "li", "p", "section", "td", "th", "tr"}
BLOCKS |= {"h1", "h2", "h3", "h4", "h5", "h6", "option", "textarea", "table", "caption"}


class Steered:
    """The local backend with the faults an editor must be able to read about (an injected
    client): it asks the budget guard before the ``guarded`` phase's call, as OpenRouter's
    backend does, cuts the formatter's draft short, or fails a phase for good."""

    name = "local"

    def __init__(
        self, *, guarded: str | None = None, cut: bool = False, fail: str | None = None
    ) -> None:
        self.local, self.guarded, self.cut, self.fail = LocalLLMClient(), guarded, cut, fail

    def complete(self, request: LLMRequest) -> LLMResult:
        if request.phase == self.fail:
            raise LLMError("strong/a refused the request.", escalate=False)
        if request.phase == self.guarded and request.guard is not None:
            request.guard("strong/a")
        result = self.local.complete(request)
        if self.cut and request.phase == "formatter":
            return dataclasses.replace(result, text="# Formatted\n\n**Host:** the river.")
        return result


class Page(HTMLParser):
    """A page's start tags, its visible text, and the text inside each element with an id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.open: list[tuple[str, str | None]] = []
        self.by_id: dict[str, list[str]] = {}
        self.words: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.tags.append((tag, found))
        self._break(tag)
        if "id" in found:
            self.by_id[found["id"]] = []
        if tag not in VOID:
            self.open.append((tag, found.get("id")))

    def handle_endtag(self, tag: str) -> None:
        self._break(tag)
        while self.open and self.open.pop()[0] != tag:
            pass

    def _break(self, tag: str) -> None:
        """Blocks and cells read as separate words."""
        if tag in BLOCKS:
            self.handle_data(" ")

    def handle_data(self, data: str) -> None:
        self.words.append(data)
        for _, element_id in self.open:
            if element_id:
                self.by_id[element_id].append(data)

    def text(self, element_id: str | None = None) -> str:
        """Visible text (of one element), whitespace folded."""
        words = self.words if element_id is None else self.by_id[element_id]
        return " ".join("".join(words).split())

    def forms(self) -> list[str]:
        """Where each API form posts."""
        return [attrs["data-api"] for tag, attrs in self.tags if "data-api" in attrs]

    def attrs(self, element_id: str) -> dict[str, str]:
        return next(attrs for _, attrs in self.tags if attrs.get("id") == element_id)


@contextmanager
def running_app(tmp_path: Path, **env: str) -> Iterator[tuple[TestClient, Worker, Settings]]:
    """The app and a worker on settings of our own (a budget, a completeness check)."""
    settings = make_settings(tmp_path, **env)
    migrate(settings.database_path)
    with admin_client(settings, raise_server_exceptions=False) as client:
        yield client, Worker(settings), settings


def submit(client: TestClient, name: str = "2WLI1209HD.srt", **form: str) -> int:
    response = upload(client, name, SRT, **form)
    assert response.status_code == 201, response.text
    return int(response.json()["job"]["id"])


def job_page(client: TestClient, job_id: int, **headers: str) -> Page:
    response = client.get(f"/jobs/{job_id}", headers={**HTML, **headers})
    assert response.status_code == 200, response.text
    return Page(response.text)


def actions_of(page: Page, job_id: int) -> set[str]:
    prefix = f"/api/jobs/{job_id}/"
    return {url.removeprefix(prefix) for url in page.forms() if url.startswith(prefix)}


PHASE_RETRIES = {f"phases/{name}/retry" for name in ("analyst", "formatter", "seo", "manager")}
PHASE_RETRIES.add("phases/timestamp/retry")
