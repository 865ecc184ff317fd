"""Fuzz the JSON API from its own OpenAPI document (schemathesis + hypothesis) against the
real server process: whatever the inputs, no 5xx, every status and body as documented."""
from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from confcall.web import booking_port

from .server import PIN, SiteProcess, prepare

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
SKIP = {("DELETE", "/api/v1/session"), ("POST", "/api/v1/password")}  # would end the run's login


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    url, _cards = prepare(tmp)
    proc = SiteProcess(url, tmp)
    yield proc.base
    proc.stop()


def logged_in(base: str, path: str, body: dict) -> tuple[requests.Session, str]:
    s = requests.Session()
    r = s.post(base + path, json=body, timeout=10)
    assert r.status_code == 200, r.text
    return s, r.json()["csrf"]


def fuzz(base: str, op, session: requests.Session, csrf: str) -> None:
    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def run(case):
        # the document declares the session cookie as the API's key: schemathesis fills it
        # with made-up values; the run's real login replaces them
        case.cookies = {**(case.cookies or {}),
                        "confcall_session": session.cookies["confcall_session"]}
        response = case.call(base_url=base, headers={"X-CSRF-Token": csrf}, timeout=20)
        case.validate_response(response, checks=CHECKS)
    run()


def test_api_fuzz_no_server_errors_no_schema_violations(served):
    base = served
    schema = schemathesis.openapi.from_url(base + "/api/v1/openapi.json")
    subscriber = logged_in(base, "/api/v1/session", {"number": "13800138000", "password": PIN})
    operator = logged_in(base, "/api/v1/ops/session", {"name": "alice",
                                                       "password": "operator-pass-1"})
    ran = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP:
            continue
        if op.path.startswith("/api/v1/bookings") and not booking_port.available():
            continue  # the booking service is not on this branch yet: 503 by design
        fuzz(base, op, *(operator if op.path.startswith("/api/v1/ops/") else subscriber))
        ran += 1
    assert ran >= (25 if booking_port.available() else 20)
