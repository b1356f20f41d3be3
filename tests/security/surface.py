"""The app's attack surface, read from the real app: every route, its parameters, a valid request.

``endpoints(app)`` lists each (method, path) with its access rule and every value a caller
controls: path and query parameters, JSON body fields, form fields and the uploaded file's name.
``Endpoint.requests`` builds requests that are valid except for the one value an attack replaces,
so the attack reaches the handler instead of failing on some other missing field. Nothing here is
a hand-kept list of routes: a new route is attacked as soon as it exists.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import quote

import annotated_types
from fastapi import UploadFile
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from editorial_assistant.auth.rules import Rule, declared_routes, rule_of
from tests.conftest import SRT

# Values that name something the seeded data holds, so a request reaches the handler's real work;
# a path parameter not named here gets "1".
PATH_SAMPLES = {
    "job_id": "1",
    "action": "pause",
    "phase": "seo",
    "name": "seo.md",
    "username": "carol",
    "media_id": "2WLI1209HD",
    "key_id": "1",
}
UPLOAD_NAME = "2WLI1209HD.srt"


@dataclass(frozen=True)
class Param:
    """One value a caller controls: where it goes and a valid value (None: leave it out)."""

    name: str
    kind: Literal["path", "query", "json", "form", "file"]
    sample: Any = None
    text: bool = True  # a string (names, ids in the path, enums), not a number or a flag


@dataclass(frozen=True)
class Endpoint:
    """One method on one route, with everything a caller can put in a request to it."""

    method: str
    path: str
    rule: Rule
    params: tuple[Param, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def body(self) -> str | None:
        """``json``, ``form``, ``multipart`` or None: what kind of body the route reads."""
        kinds = {p.kind for p in self.params}
        if "file" in kinds:
            return "multipart"
        return "json" if "json" in kinds else "form" if "form" in kinds else None

    def requests(self, target: Param, payload: str) -> Iterator[tuple[str, dict[str, Any], bool]]:
        """(label, ``client.request`` keywords, exact) with ``payload`` in place of ``target``.

        A path parameter is sent twice: percent-encoded whole, dots included, so the handler
        sees exactly the payload (``exact``), and with its slashes and escapes left as they are,
        so the router and the client's dot-segment removal see them.
        """
        label = f"{self} {target.kind}:{target.name}={payload[:60]!r}"
        if target.kind != "path":
            yield label, self.request({target.name: payload}), True
            return
        whole = quote(payload, safe="").replace(".", "%2E")
        yield label, self.request({target.name: whole}, encoded=True), True
        loose = quote(payload, safe="/%")
        if loose != whole:
            yield f"{label} unencoded", self.request({target.name: loose}, encoded=True), False

    def request(
        self, values: dict[str, Any] | None = None, *, encoded: bool = False
    ) -> dict[str, Any]:
        """``client.request`` keywords for a valid request, with ``values`` replacing samples
        (path values already percent-encoded when ``encoded``)."""
        given = {p.name: p.sample for p in self.params} | (values or {})
        path_values = {
            p.name: given[p.name] if encoded and p.name in (values or {}) else quote(given[p.name])
            for p in self.of("path")
        }
        request: dict[str, Any] = {"method": self.method, "url": self.path.format(**path_values)}
        request["params"] = _present(given, self.of("query"))
        if self.body == "json":
            request["json"] = _present(given, self.of("json"))
        if self.body in ("form", "multipart"):
            request["data"] = _present(given, self.of("form"))
        for param in self.of("file"):
            request["files"] = {param.name: (given[param.name], SRT.encode())}
        return request

    def of(self, kind: str) -> list[Param]:
        """The parameters of one kind."""
        return [p for p in self.params if p.kind == kind]


def _present(given: dict[str, Any], params: list[Param]) -> dict[str, Any]:
    return {p.name: given[p.name] for p in params if given[p.name] is not None}


def endpoints(app: Any) -> list[Endpoint]:
    """Every method on every route of ``app`` (the static mount aside), with its parameters."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        calls = [d.call for d in route.dependant.dependencies]
        rule = next(rule for call in calls if call and (rule := rule_of(call)))
        params = tuple(_params(route))
        methods = sorted((context.methods or set()) - {"HEAD"})
        found += [Endpoint(method, str(context.path), rule, params) for method in methods]
    declared = {(m, r.path) for r in declared_routes(app) if not r.mount for m in r.methods}
    assert {(e.method, e.path) for e in found} == declared, "the enumeration missed a route"
    return found


def _params(route: APIRoute) -> Iterator[Param]:
    dependant = route.dependant
    for field in dependant.path_params:
        yield Param(field.name, "path", PATH_SAMPLES.get(field.name, "1"))
    for field in dependant.query_params:
        yield Param(field.alias, "query", _sample(field.field_info), _is_text(field.field_info))
    for field in dependant.body_params:
        model = _model(field.field_info.annotation)
        if model is not None:
            for name, info in model.model_fields.items():
                yield Param(name, "json", _sample(info), _is_text(info))
        elif _is_upload(field.field_info.annotation):
            yield Param(field.name, "file", UPLOAD_NAME)
        else:
            yield Param(field.name, "form", _sample(field.field_info), _is_text(field.field_info))


def _model(annotation: Any) -> type[BaseModel] | None:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _is_upload(annotation: Any) -> bool:
    return any(option is UploadFile for option in _options(annotation))


def _options(annotation: Any) -> tuple[Any, ...]:
    """The types a (possibly optional) annotation allows, None aside."""
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def _is_text(info: FieldInfo) -> bool:
    kind = _options(info.annotation)[0]
    if get_origin(kind) is Literal:
        return all(isinstance(choice, str) for choice in get_args(kind))
    return isinstance(kind, type) and issubclass(kind, str)  # str and str-valued enums


def _sample(info: FieldInfo) -> Any:
    """A valid value for a required field, or None to leave an optional one out."""
    if not info.is_required():
        return None
    kind = _options(info.annotation)[0]
    if get_origin(kind) is Literal:
        return get_args(kind)[0]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return next(iter(kind)).value
    if kind is bool:
        return False
    if kind is int:
        return _int_sample(info)
    lengths = [m.min_length for m in info.metadata if isinstance(m, annotated_types.MinLen)]
    return "x" * max([1, *lengths])


def _int_sample(info: FieldInfo) -> int:
    """1, or the nearest value the field's bounds allow."""
    lowest = [ge for m in info.metadata if isinstance(ge := getattr(m, "ge", None), int)]
    highest = [le for m in info.metadata if isinstance(le := getattr(m, "le", None), int)]
    return min([max([1, *lowest]), *highest])
