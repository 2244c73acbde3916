"""The dev server's gateway: chalice's LocalGateway, answering in the contract's shape
and passing raw image bodies through untouched."""
import hashlib
import json

import pytest
from chalice import Chalice
from chalice.config import Config

from chalicelib.local import gateway

# Not valid UTF-8 and full of NULs: anything that decodes or re-encodes it breaks it.
IMAGE_BYTES = b"BM\x00\xff\xfe\x80" + bytes(range(256)) * 4


@pytest.fixture
def local_gateway():
    app = Chalice("gateway-test")

    @app.route("/logos/{name}", methods=["PUT"],
               content_types=["image/png", "image/jpeg", "image/bmp"])
    def put_logo(name):
        raw = app.current_request.raw_body
        return {"name": name, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}

    return gateway.ContractGateway(app, Config.create(chalice_stage="local", lambda_timeout=30))


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
    assert gateway.media_type(value) == expected
