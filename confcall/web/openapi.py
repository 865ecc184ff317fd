"""The JSON API's operations, declared once: the declaration registers the Klein route *and*
produces the OpenAPI 3 document, so the document cannot drift from what is served.

An operation names its method and path, who may call it (subscriber, operator, admin or
anyone), its body form and query form (``forms.Form``: the same fields the HTML pages use) and
the schema of its answer.  The wrapper authenticates (cookie session; ``X-CSRF-Token`` on
writes), parses and validates, and turns field errors and service refusals into the common
error body ``{"error": {"code", "field", "message"}}`` in the caller's language.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .forms import Form

__all__ = ["ERROR", "Operation", "arr", "document", "obj"]

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "field": {"type": "string"},
                   "message": {"type": "string"},
                   "fields": {"type": "array", "items": {"type": "object"}}}}}}


def obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required if required is not None else list(props),
            "properties": props}


def arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


@dataclass
class Operation:
    method: str
    path: str  # Klein form: /api/v1/bookings/<booking_id>
    summary: str
    who: str  # "anyone" | "subscriber" | "operator" | "admin"
    handler: Callable[..., Awaitable[Any]]
    body: Form | None = None
    query: Form | None = None
    answer: dict[str, Any] | None = None  # JSON schema of the 200/201 body
    status: int = 200
    media: str = "application/json"
    tag: str = ""
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)  # of the 200/201 answer

    @property
    def openapi_path(self) -> str:
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.path)

    def spec(self) -> dict[str, Any]:
        op: dict[str, Any] = {"summary": self.summary, "operationId": self.operation_id,
                              "tags": [self.tag] if self.tag else []}
        params = [{"name": n, "in": "path", "required": True, "schema": s}
                  for n, s in self.path_params.items()]
        if self.query is not None:
            for f in self.query.fields:
                params.append({"name": f.name, "in": "query", "required": f.required,
                               "schema": f.schema()})
        if params:
            op["parameters"] = params
        if self.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": self.body.schema()}}}
        if self.who != "anyone":
            op["security"] = [{"session": []}]
        ok: dict[str, Any] = {"description": "done"}
        if self.status != 204:
            schema = self.answer or {"type": "object"}
            ok["content"] = {self.media: {"schema": schema}}
        if self.headers:
            ok["headers"] = self.headers
        op["responses"] = {str(self.status): ok, "default": {
            "description": "refused: the code names the rule, the message says it in the "
                           "caller's language (Accept-Language or ?lang=zh|en)",
            "content": {"application/json": {"schema": ERROR}}}}
        return op

    @property
    def operation_id(self) -> str:
        words = re.sub(r"[^a-z0-9]+", "_", self.path.replace("/api/v1/", "").lower())
        return f"{self.method.lower()}_{words.strip('_')}"


def document(operations: list[Operation], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.openapi_path, {})[op.method.lower()] = op.spec()
    return {
        "openapi": "3.0.3",
        "info": {"title": "confcall API", "version": version,
                 "description": "Subscriber self-care, bookings and the operator console as "
                                "JSON. Log in with POST /api/v1/session (subscriber) or "
                                "/api/v1/ops/session (operator); the answer's csrf value goes "
                                "in the X-CSRF-Token header of every write."},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"session": {
            "type": "apiKey", "in": "cookie", "name": "confcall_session"}}},
        "paths": paths,
    }
