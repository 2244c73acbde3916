"""The dev server's gateway: chalice's LocalGateway, answering in the contract's shape
and passing raw image bodies through untouched."""
import hashlib
import json
import socket
import threading

import pytest
import requests
from chalice import Chalice
from chalice.config import Config

from chalicelib.local import http_gateway

# Not valid UTF-8 and full of NULs: anything that decodes or re-encodes it breaks it.
IMAGE_BYTES = b"BM\x00\xff\xfe\x80" + bytes(range(256)) * 4


def _app():
    app = Chalice("gateway-test")

    @app.route("/logos/{name}", methods=["PUT"],
               content_types=["image/png", "image/jpeg", "image/bmp"])
    def put_logo(name):
        raw = app.current_request.raw_body
        return {"name": name, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}

    @app.route("/echo", methods=["POST"])
    def echo():
        return {"got": app.current_request.json_body}

    return app


CONFIG = Config.create(chalice_stage="local", lambda_timeout=30)


@pytest.fixture
def local_gateway():
    return http_gateway.ContractGateway(_app(), CONFIG)


@pytest.fixture(scope="module")
def http_url():
    """The dev server's real HTTP server (chalice's, with our handler) on a free port."""
    server = http_gateway.build_server(_app(), CONFIG, "127.0.0.1", 0)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}"
    server.shutdown()
    server.server.server_close()


def _raw_exchange(url: str, request: bytes) -> tuple[int, dict]:
    host, port = url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _json(answer):
    return json.loads(answer["body"])


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer whatever"}])
def test_an_unknown_route_is_404_in_the_contract_shape(local_gateway, headers):
    answer = local_gateway.handle_request("GET", "/no/such/route", headers, None)
    assert answer["statusCode"] == 404
    assert _json(answer)["error"]["code"] == "NOT_FOUND"
    assert set(_json(answer)["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("content_type", ["image/bmp", "image/png", "IMAGE/JPEG",
                                          "image/png; charset=binary"])
def test_image_bodies_arrive_byte_for_byte(local_gateway, content_type):
    answer = local_gateway.handle_request(
        "PUT", "/logos/a", {"Content-Type": content_type}, IMAGE_BYTES)
    assert answer["statusCode"] == 200, answer
    assert _json(answer)["size"] == len(IMAGE_BYTES)
    assert _json(answer)["sha256"] == hashlib.sha256(IMAGE_BYTES).hexdigest()


def test_path_parameters_are_decoded_like_api_gateway(local_gateway):
    answer = local_gateway.handle_request(
        "PUT", "/logos/%E5%BA%97%E9%93%BA", {"content-type": "image/png"}, b"\x89PNG")
    assert _json(answer)["name"] == "店铺"


@pytest.mark.parametrize("value, expected", [("image/PNG; charset=x", "image/png"),
                                             (None, ""), ("  image/bmp ", "image/bmp")])
def test_media_type(value, expected):
    assert http_gateway.media_type(value) == expected


def test_over_http_an_unknown_route_is_404_in_the_error_shape(http_url):
    reply = requests.get(http_url + "/nope")
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "NOT_FOUND"


def test_over_http_a_binary_body_arrives_intact(http_url):
    reply = requests.put(http_url + "/logos/a", data=IMAGE_BYTES,
                         headers={"Content-Type": "image/bmp"})
    assert reply.json()["sha256"] == hashlib.sha256(IMAGE_BYTES).hexdigest()


def test_over_http_a_chunked_body_is_read(http_url):
    chunks = iter([b'{"title": "', "店铺装修".encode(), b'"}'])
    reply = requests.post(http_url + "/echo", data=chunks,
                          headers={"Content-Type": "application/json"})
    assert reply.status_code == 200
    assert reply.json() == {"got": {"title": "店铺装修"}}


def test_over_http_an_oversized_body_is_refused_before_it_is_read(http_url):
    status, body = _raw_exchange(http_url, (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000000\r\n\r\n{}"))
    assert status == 413 and body["error"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("length", [b"abc", b"-5"])
def test_over_http_a_broken_content_length_is_400(http_url, length):
    status, body = _raw_exchange(http_url, (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n"))
    assert status == 400 and body["error"]["code"] == "INVALID_REQUEST"


def test_over_http_a_broken_chunk_size_is_400(http_url):
    status, body = _raw_exchange(http_url, (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
    assert status == 400 and body["error"]["code"] == "INVALID_REQUEST"


def test_over_http_an_unknown_method_is_405_in_the_error_shape(http_url):
    reply = requests.request("BREW", http_url + "/echo")
    assert reply.status_code == 405
    assert reply.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_the_servers_own_errors_carry_cors_headers(http_url):
    """What API Gateway's gateway responses do deployed: a page on another origin can read
    "no such route" and a refused body."""
    origin = "http://127.0.0.1:5173"
    missing = requests.get(http_url + "/no/such/route", headers={"Origin": origin}, timeout=10)
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == origin
    too_big = requests.post(http_url + "/echo", data=b"x" * (300 * 1024),
                            headers={"Origin": origin, "Content-Type": "application/json"},
                            timeout=10)
    assert too_big.status_code == 413
    assert too_big.headers["Access-Control-Allow-Origin"] == origin


def test_the_servers_own_errors_on_local_routes_answer_only_localhost_pages(http_url):
    path = http_url + "/_local/no-such-route"
    evil = requests.get(path, headers={"Origin": "https://evil.example"}, timeout=10)
    assert evil.status_code == 404 and "Access-Control-Allow-Origin" not in evil.headers
    local = requests.get(path, headers={"Origin": "http://localhost:5173"}, timeout=10)
    assert local.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
