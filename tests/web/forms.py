"""Reading a rendered page the way a browser and ``static/app.js`` do.

``Page`` collects a page's ``data-api`` forms (URL, method, fields, result outputs), its labels and
``<meta>`` values; ``submit`` sends a form's named fields as JSON exactly as app.js's ``fieldsOf``
builds them, so a test of the form→API contract fails when a field name, URL or method drifts.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient

HTML = {"Accept": "text/html"}


class Page(HTMLParser):
    """The forms of a page (with their fields and result outputs), its labels and controls."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self.labels: set[str] = set()
        self.controls: list[dict[str, str]] = []
        self.meta: dict[str, str] = {}
        self._form: dict[str, Any] | None = None
        self._select: dict[str, Any] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = {"attrs": a, "fields": [], "results": []}
            self.forms.append(self._form)
        elif tag == "meta" and "name" in a:
            self.meta[a["name"]] = a["content"]
        elif tag == "label" and "for" in a:
            self.labels.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            field = {"tag": tag, **a}
            if tag == "select":
                self._select = field
            if self._form is not None:
                self._form["fields"].append(field)
            if a.get("type") != "hidden":
                self.controls.append(field)
        elif tag == "option" and self._select is not None:
            if "value" not in self._select or "selected" in a:
                self._select["value"] = a["value"]
        elif tag == "output" and self._form is not None:
            self._form["results"].append(a.get("data-result"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def forms_to(self, api: str, method: str = "POST", *fields: str) -> list[dict[str, Any]]:
        """The forms that send ``method`` to ``api`` (with exactly these named ``fields``)."""
        return [
            f
            for f in self.forms
            if f["attrs"].get("data-api") == api
            and f["attrs"].get("data-method", "POST") == method
            and (not fields or names(f) == list(fields))
        ]

    def form(self, api: str, method: str = "POST", *fields: str) -> dict[str, Any]:
        """The one form that sends ``method`` to ``api`` (with these ``fields``)."""
        found = self.forms_to(api, method, *fields)
        assert len(found) == 1, f"{len(found)} forms send {method} {api}"
        return found[0]

    def has_form(self, api: str, method: str = "POST") -> bool:
        return bool(self.forms_to(api, method))


def names(form: dict[str, Any]) -> list[str]:
    """The names of a form's fields, in order."""
    return [field["name"] for field in form["fields"] if field.get("name")]


def body_of(form: dict[str, Any], **typed: Any) -> dict[str, Any] | None:
    """The JSON body app.js sends for ``form`` once ``typed`` values are entered."""
    names = {field.get("name") for field in form["fields"]} - {None, ""}
    assert set(typed) <= names, f"the form has no field {set(typed) - names}"
    if not names:
        return None
    body: dict[str, Any] = {}
    for field in form["fields"]:
        name = field.get("name")
        if not name:
            continue
        value = typed.get(name, field.get("value", ""))
        optional = "data-optional" in field
        if field.get("type") == "checkbox":
            body[name] = bool(typed.get(name, "checked" in field))
        elif field.get("data-type") == "int":
            if value != "" or not optional:
                body[name] = int(value)
        elif value != "" or not optional:
            body[name] = value
    return body


def submit(client: TestClient, form: dict[str, Any], **typed: Any) -> Any:
    """Send ``form`` as app.js does (method, URL and JSON body from the HTML)."""
    attrs = form["attrs"]
    return client.request(
        attrs.get("data-method", "POST"), attrs["data-api"], json=body_of(form, **typed)
    )


def page_of(client: TestClient, path: str) -> Page:
    """The page at ``path`` as a browser asks for it (which must answer 200)."""
    response = client.get(path, headers=HTML)
    assert response.status_code == 200, response.text
    return Page(response.text)


def found(pattern: str, html: str) -> str:
    """The first group of ``pattern``'s first match (which must exist), as a URL or text."""
    match = re.search(pattern, html)
    assert match, pattern
    return match[1].replace("&amp;", "&")


def cells(row: str) -> list[str]:
    """A table row's data cells as text."""
    return [
        re.sub(r"<[^>]+>", " ", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
