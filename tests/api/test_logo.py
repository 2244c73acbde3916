"""Logos: decoded with Pillow, never trusted by header or Content-Type."""
import io
import struct
import zlib

import pytest
import requests
from PIL import Image

from chalicelib import settings
from chalicelib.services import logos
from chalicelib.storage.files import s3_client
from tests.api.catalog_support import PROVIDER, PROVIDER_2, approved_provider, draft, image_bytes


def put(api, sid, data, content_type, user=PROVIDER):
    return api.put(f"/services/{sid}/logo", user=user, raw=data, content_type=content_type)


@pytest.mark.parametrize("fmt,content_type,ext", [("PNG", "image/png", "png"),
                                                  ("JPEG", "image/jpeg", "jpg"),
                                                  ("BMP", "image/bmp", "bmp")])
def test_a_real_80x80_logo_is_stored_byte_for_byte(api, fmt, content_type, ext):
    approved_provider(api)
    sid = draft(api)["id"]
    data = image_bytes(fmt)
    reply = put(api, sid, data, content_type)
    assert reply.status == 200, reply
    url = reply.json["logo_url"]
    assert f"logos/{sid}/" in url and f".{ext}" in url
    key = url[len(logos.logo_base_url()) + 1:]
    stored = s3_client().get_object(Bucket=settings.get().bucket, Key=key)["Body"].read()
    assert stored == data  # the binary body arrived intact through the gateway


def _png_with(width, height) -> bytes:
    """A PNG header claiming any size, over garbage pixel data."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"garbage") + chunk(
        b"IEND", b"")


def _problem(reply):
    assert reply.status == 422 and reply.error_code == "INVALID_LOGO", reply
    return reply.json["error"]["details"]["problem"]


def test_fake_and_wrong_images_are_refused(api):
    approved_provider(api)
    sid = draft(api)["id"]
    assert _problem(put(api, sid, b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "image/png")) == \
        "not a decodable image"
    assert _problem(put(api, sid, _png_with(80, 80), "image/png")) == "not a decodable image"
    assert _problem(put(api, sid, image_bytes("GIF"), "image/png")) == \
        "not a decodable image"  # no GIF decoder runs at all
    assert _problem(put(api, sid, image_bytes("JPEG"), "image/png")) == \
        "content does not match Content-Type"
    assert _problem(put(api, sid, image_bytes("PNG", (81, 80)), "image/png")) == \
        "wrong dimensions"
    assert _problem(put(api, sid, image_bytes("PNG", (80, 79)), "image/png")) == \
        "wrong dimensions"
    assert api.get(f"/services/{sid}", user=PROVIDER).json["logo_url"] is None


def test_a_decompression_bomb_header_is_refused_without_decoding(api):
    approved_provider(api)
    sid = draft(api)["id"]
    assert _problem(put(api, sid, _png_with(60000, 60000), "image/png")) in (
        "wrong dimensions", "not a decodable image")


def test_the_size_limit_is_51200_bytes(api):
    approved_provider(api)
    sid = draft(api)["id"]
    bmp = image_bytes("BMP")  # 80x80x3 + headers: 19,254 bytes
    # Trailing bytes after a BMP's pixel data are ignored by decoders: pad to the edge.
    at_limit = bmp + b"\x00" * (51200 - len(bmp))
    assert put(api, sid, at_limit, "image/bmp").status == 200
    past = _problem(put(api, sid, at_limit + b"\x00", "image/bmp"))
    assert past == "too large"


def test_random_bytes_over_50kb_are_refused_before_decoding(api):
    approved_provider(api)
    sid = draft(api)["id"]
    import os
    noise = Image.frombytes("RGB", (80, 80), os.urandom(80 * 80 * 3))
    out = io.BytesIO()
    noise.save(out, format="BMP")
    big = out.getvalue() + os.urandom(40000)
    assert len(big) > 51200
    assert _problem(put(api, sid, big, "image/bmp")) == "too large"


def test_other_content_types_and_owners(api):
    approved_provider(api)
    approved_provider(api, PROVIDER_2)
    sid = draft(api)["id"]
    gif = put(api, sid, image_bytes("GIF"), "image/gif")
    assert gif.status == 415 and gif.error_code == "UNSUPPORTED_MEDIA_TYPE"
    assert put(api, sid, image_bytes(), "image/png", user=PROVIDER_2).status == 404
    assert put(api, "svc_missing", image_bytes(), "image/png").status == 404
    no_token = api.put(f"/services/{sid}/logo", raw=image_bytes(), content_type="image/png")
    assert no_token.status == 401


def test_logo_only_while_not_listed(api):
    approved_provider(api)
    sid = draft(api)["id"]
    put(api, sid, image_bytes(), "image/png")
    assert api.post(f"/services/{sid}/list", user=PROVIDER).status == 200
    refused = put(api, sid, image_bytes(color=(0, 0, 255)), "image/png")
    assert refused.status == 409 and refused.error_code == "SERVICE_LISTED"


def test_logo_url_is_stable_unsigned_and_works_on_the_s3_server(api, aws):
    approved_provider(api)
    sid = draft(api)["id"]
    data = image_bytes()
    url = put(api, sid, data, "image/png").json["logo_url"]
    again = api.get(f"/services/{sid}", user=PROVIDER).json["logo_url"]
    assert again == url  # the same logo, the same URL: browsers and CDNs can cache it
    assert "?" not in url and "X-Amz" not in url
    assert url == logos.logo_base_url() + "/" + logos.logo_key(sid, data, "png")
    if aws == "dynamodb_local":  # moto's S3 server over HTTP, as a browser loads it
        assert requests.get(url, timeout=10).content == data


def test_a_logo_is_stored_to_be_cached_for_good(api):
    approved_provider(api)
    sid = draft(api)["id"]
    data = image_bytes()
    put(api, sid, data, "image/png")
    head = s3_client().head_object(Bucket=settings.get().bucket,
                                   Key=logos.logo_key(sid, data, "png"))
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert head["ContentType"] == "image/png"


def test_raw_bytes_as_octet_stream_are_stored_as_the_image_they_are(api):
    """application/octet-stream, the raw body API generators know: the bytes tell the type."""
    approved_provider(api)
    sid = draft(api)["id"]
    data = image_bytes("JPEG")
    reply = put(api, sid, data, "application/octet-stream")
    assert reply.status == 200 and reply.json["logo_url"].endswith(".jpg")
    head = s3_client().head_object(Bucket=settings.get().bucket,
                                   Key=logos.logo_key(sid, data, "jpg"))
    assert head["ContentType"] == "image/jpeg"
    assert _problem(put(api, sid, image_bytes("GIF"), "application/octet-stream")) == (
        "not a decodable image")


def test_a_new_logo_gets_a_new_url(api):
    approved_provider(api)
    sid = draft(api)["id"]
    first = put(api, sid, image_bytes(), "image/png").json["logo_url"]
    second = put(api, sid, image_bytes(color=(0, 0, 255)), "image/png").json["logo_url"]
    assert first != second


def test_logo_base_url_serves_logos_from_the_cdn(api, monkeypatch):
    approved_provider(api)
    sid = draft(api)["id"]
    put(api, sid, image_bytes(), "image/png")
    monkeypatch.setenv("LOGO_BASE_URL", "https://d111111abcdef8.cloudfront.net/")
    settings.reload()
    try:
        url = api.get(f"/services/{sid}", user=PROVIDER).json["logo_url"]
    finally:
        monkeypatch.delenv("LOGO_BASE_URL")
        settings.reload()
    assert url.startswith(f"https://d111111abcdef8.cloudfront.net/logos/{sid}/")
    assert url.endswith(".png")


def _logo_keys(sid):
    listed = s3_client().list_objects_v2(Bucket=settings.get().bucket, Prefix=f"logos/{sid}/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_a_replaced_logo_and_a_deleted_services_logo_leave_the_bucket(api):
    """Logos belong to their service: a new one replaces the old object, and deleting the
    service deletes its logo (they stayed for ever)."""
    approved_provider(api)
    sid = draft(api)["id"]
    assert put(api, sid, image_bytes("PNG"), "image/png").status == 200
    first = _logo_keys(sid)
    assert put(api, sid, image_bytes("PNG"), "image/png").status == 200  # the same logo again
    assert _logo_keys(sid) == first
    assert put(api, sid, image_bytes("PNG", color=(10, 90, 200)), "image/png").status == 200
    second = _logo_keys(sid)
    assert len(second) == 1 and second != first
    assert api.delete(f"/services/{sid}", user=PROVIDER).status == 204
    assert _logo_keys(sid) == []


def test_only_logos_are_public_on_the_local_s3_server(api, aws):
    if aws != "dynamodb_local":
        pytest.skip("fetched over HTTP from moto's S3 server")
    cfg = settings.get()
    s3_client().put_object(Bucket=cfg.bucket, Key="orders/ord_1/file_1", Body=b"work")
    unsigned = f"{cfg.s3_endpoint}/{cfg.bucket}/orders/ord_1/file_1"
    assert requests.get(unsigned, timeout=10).status_code == 403
