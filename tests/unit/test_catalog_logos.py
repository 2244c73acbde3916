"""The logo check on its own: formats decoded, never trusted from the header."""
import pytest

from chalicelib.domain.errors import InvalidLogo
from chalicelib.services.logos import MAX_BYTES, check_logo
from tests.api.catalog_support import image_bytes


@pytest.mark.parametrize("fmt,content_type,ext", [("PNG", "image/png", "png"),
                                                  ("JPEG", "image/jpeg", "jpg"),
                                                  ("BMP", "image/bmp", "bmp")])
def test_each_accepted_format(fmt, content_type, ext):
    assert check_logo(image_bytes(fmt), content_type) == ext
    assert check_logo(image_bytes(fmt), content_type.upper() + "; charset=binary") == ext
    assert check_logo(image_bytes(fmt), "application/octet-stream") == ext


@pytest.mark.parametrize("data,content_type,problem", [
    (image_bytes("PNG"), "image/gif", "unsupported content type"),
    (b"", "image/png", "empty body"),
    (image_bytes("GIF"), "image/png", "not a decodable image"),  # no GIF decoder is tried
    (image_bytes("PNG"), "image/jpeg", "content does not match Content-Type"),
    (image_bytes("PNG", (80, 81)), "image/png", "wrong dimensions"),
    (image_bytes("PNG", (160, 160)), "image/png", "wrong dimensions"),
    (b"GIF89a" + b"\x00" * 50, "image/png", "not a decodable image"),
    (image_bytes("PNG")[:60], "image/png", "not a decodable image"),  # truncated
    (b"\x00" * (MAX_BYTES + 1), "image/png", "too large"),
])
def test_refusals_say_what_is_wrong(data, content_type, problem):
    with pytest.raises(InvalidLogo) as caught:
        check_logo(data, content_type)
    assert caught.value.details["problem"] == problem


def test_no_decoder_but_jpeg_png_and_bmp_ever_looks_at_the_bytes(monkeypatch):
    """Pillow's other plugins (GIF, TIFF, EPS, ...) are attack surface we never need."""
    from PIL import Image

    Image.init()
    looked = []

    def recorder(fmt):
        def factory(fp, filename=None):
            looked.append(fmt)
            raise SyntaxError("not this format")
        return factory

    for fmt in list(Image.OPEN):
        if fmt not in ("JPEG", "PNG", "BMP"):
            monkeypatch.setitem(Image.OPEN, fmt, (recorder(fmt), None))
    for data in (image_bytes("GIF"), b"%!PS-Adobe-3.0 EPSF-3.0\n" + b" " * 64,
                 b"II*\x00" + b"\x00" * 64, b"\x00" * 128):
        with pytest.raises(InvalidLogo):
            check_logo(data, "image/png")
    assert looked == []
