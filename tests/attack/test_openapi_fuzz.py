"""Schemathesis fuzzing of every route in the generated OpenAPI document, in process.

Requests go through `chalice.test.Client` by way of a `requests` transport adapter, so
schemathesis' own `case.call` and `case.validate_response` run unchanged, with valid
tokens for a seeded provider (who is also a buyer) and an operator. Checks: no 5xx,
every error in the contract's shape, answers conforming to the documented schema and
status codes. FUZZ_EXAMPLES sets the examples per route (default 15, a few minutes on
moto); the `slow` variant runs many more.
"""
import json
import os
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance, status_code_conformance)
from urllib3 import HTTPHeaderDict

from chalicelib.api import openapi
from tests.api.orders_support import OPERATOR, PROVIDER, listed_service
from tests.attack.authz_support import token

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
BASE_URL = "http://market.test"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


class ChaliceAdapter(requests.adapters.BaseAdapter):
    """Sends a prepared `requests` request through chalice.test.Client."""

    def __init__(self, client):
        super().__init__()
        self.client = client

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        raw = self.client.http.request(request.method, path, headers=dict(request.headers),
                                       body=body)
        response = requests.Response()
        response.status_code = raw.status_code
        response.headers = CaseInsensitiveDict(raw.headers)
        response.raw = _RawHeaders(HTTPHeaderDict(raw.headers))  # what schemathesis reads
        response._content = raw.body if isinstance(raw.body, bytes) else raw.body.encode()
        response.request, response.url, response.encoding = request, request.url, "utf-8"
        return response

    def close(self):
        pass


class _RawHeaders:
    version = 11

    def __init__(self, headers):
        self.headers = headers


# OPTIONS is left out of the unexpected methods: API Gateway (and Chalice's local
# gateway, which chalice.test.Client cannot even return) answers it, not the app.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {
    "unexpected-methods": ["get", "post", "put", "patch", "delete", "trace"]}}})
schema = schemathesis.openapi.from_dict(openapi.build(include_local=False), config=CONFIG)


@pytest.fixture(scope="module")
def session(world):
    listed_service()  # something in the market besides the module's own fixtures
    http = requests.Session()
    http.mount(BASE_URL, ChaliceAdapter(world.api.client))
    return http


def _headers(case) -> dict:
    operator = case.path.startswith("/admin/")
    who = token(OPERATOR, ["operator"]) if operator else token(PROVIDER)
    return {"Authorization": f"Bearer {who}"}


def _check(case, session):
    response = case.call(session=session, base_url=BASE_URL, headers=_headers(case))
    assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
    if response.status_code >= 400:
        body = json.loads(response.content)
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, \
            (case.as_curl_command(), body)
    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          database=None)
def test_every_route_survives_fuzzing(case, session):
    _check(case, session)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=max(EXAMPLES, 300), deadline=None,
          suppress_health_check=list(HealthCheck), database=None)
def test_every_route_survives_long_fuzzing(case, session):
    _check(case, session)
