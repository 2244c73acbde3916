"""CORS: a page on another origin can call every route, read its errors, and see the
headers a client needs (Idempotent-Replayed, Retry-After)."""
import dataclasses

import pytest
from chalice.test import Client

import app as app_module
from chalicelib import settings
from chalicelib.api import cors
from tests.api.catalog_support import service_body

ORIGIN = "https://console.example.com"
LOCALHOST = "http://localhost:5173"


@pytest.fixture(scope="module")
def http():
    with Client(app_module.app, stage_name="local") as client:
        yield client.http


def _concrete(path: str) -> str:
    return path.replace("{", "x-").replace("}", "")


def test_every_path_of_the_app_has_a_preflight():
    missing = [p for p, methods in app_module.app.routes.items() if "OPTIONS" not in methods]
    assert missing == []


@pytest.mark.parametrize("path", sorted(app_module.app.routes))
def test_every_route_answers_a_preflight(http, path):
    methods = [m for m in app_module.app.routes[path] if m != "OPTIONS"]
    origin = LOCALHOST if path.startswith("/_local/") else ORIGIN
    reply = http.request("OPTIONS", _concrete(path), headers={
        "Origin": origin, "Access-Control-Request-Method": methods[0],
        "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"})
    assert reply.status_code == 204
    h = reply.headers
    assert h["Access-Control-Allow-Origin"] == origin
    assert set(methods) <= {m.strip() for m in h["Access-Control-Allow-Methods"].split(",")}
    allowed = {x.strip().lower() for x in h["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert int(h["Access-Control-Max-Age"]) > 0
    assert "Origin" in h["Vary"]


def test_an_answer_carries_the_origin_and_exposes_the_client_headers(api):
    reply = api.get("/health", headers={"Origin": ORIGIN})
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    exposed = {x.strip() for x in reply.headers["access-control-expose-headers"].split(",")}
    assert {"Idempotent-Replayed", "Retry-After"} <= exposed


@pytest.mark.parametrize("method, path, kwargs, status", [
    ("GET", "/orders/ord_nope", {"user": "buyer-1"}, 404),          # our own refusal
    ("GET", "/me/balance", {}, 401),                                 # no token
    ("DELETE", "/health", {}, 405),                                  # Chalice's refusal
    ("POST", "/orders", {"user": "buyer-1", "content_type": "text/plain"}, 415),
    ("POST", "/orders", {"user": "buyer-1", "body": {"nope": 1}}, 422),
    ("POST", "/orders", {"user": "buyer-1", "raw": b"{not json"}, 400),
])
def test_errors_carry_cors_headers_too(api, method, path, kwargs, status):
    reply = api.call(method, path, headers={"Origin": ORIGIN}, **kwargs)
    assert reply.status == status
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert reply.json["error"]["code"]


def test_a_replayed_answer_carries_cors_headers_for_its_caller(api):
    # A request that ran (a refusal of the input would not be stored to replay).
    body = service_body()
    first = api.post("/services", body, user="buyer-1",
                     headers={"Origin": ORIGIN, "Idempotency-Key": "k-cors"})
    again = api.post("/services", body, user="buyer-1",
                     headers={"Origin": "https://app.example.net", "Idempotency-Key": "k-cors"})
    assert again.status == first.status
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["access-control-allow-origin"] == "https://app.example.net"


def _deployed(origins: str):
    """The settings of a prod stage started with CORS_ALLOWED_ORIGINS=origins."""
    return dataclasses.replace(settings.get(), stage="prod",
                               cors_allowed_origins=settings._origins(origins))


def test_a_deployed_stage_allows_only_the_listed_origins():
    cfg = _deployed(f"{ORIGIN}, https://m.example.com/")
    assert cors.allowed_origin(ORIGIN, cfg) == ORIGIN
    assert cors.allowed_origin("https://m.example.com", cfg) == "https://m.example.com"
    assert cors.allowed_origin("https://evil.example.org", cfg) is None
    assert "Access-Control-Allow-Origin" not in cors.answer_headers("https://evil.example.org", cfg)


def test_a_deployed_stage_with_no_list_allows_no_origin_and_star_allows_any():
    assert cors.allowed_origin(ORIGIN, _deployed("")) is None
    assert cors.allowed_origin(ORIGIN, _deployed("*")) == ORIGIN


def test_a_refused_origin_gets_a_preflight_without_permission(monkeypatch):
    monkeypatch.setattr(settings, "_current", _deployed(ORIGIN))
    answer = cors.preflight_answer("https://evil.example.org", ["GET"])
    assert answer.status_code == 204
    assert not [h for h in answer.headers if h.startswith("Access-Control-Allow")]
    allowed = cors.preflight_answer(ORIGIN, ["GET"])
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:8000",
                                    "http://localhost"])
def test_local_routes_answer_localhost_pages(http, api, origin):
    preflight = http.request("OPTIONS", "/_local/token", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    reply = api.post("/_local/token", {"sub": "buyer-1"}, headers={"Origin": origin})
    assert reply.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize("origin", [ORIGIN, "http://localhost.evil.example",
                                    "https://localhost:5173", "http://127.0.0.1.nip.io", "null"])
def test_local_routes_refuse_every_other_origin(http, api, origin):
    """A page on any site the developer visits must not mint an operator token."""
    preflight = http.request("OPTIONS", "/_local/token", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert not [h for h in preflight.headers if h.startswith("Access-Control-Allow")]
    for path in ("/_local/token", "/_local/clock"):
        reply = api.post(path, {"sub": "buyer-1"} if path.endswith("token") else {},
                         headers={"Origin": origin})
        assert "access-control-allow-origin" not in reply.headers
    # The rest of the local stage still answers any origin, as the contract says.
    assert api.get("/health", headers={"Origin": origin}).headers[
        "access-control-allow-origin"] == origin
