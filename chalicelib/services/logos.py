"""Service logos: decode the bytes with Pillow (never trusting the header or a file
name), keep them in S3 and answer URLs for them."""
import hashlib
import io
import warnings

from chalicelib import settings as settings_module
from chalicelib.domain.errors import InvalidLogo
from chalicelib.storage.files import s3_client

MAX_BYTES = 50 * 1024
SIZE = (80, 80)
FORMATS = {"image/jpeg": ("JPEG", "jpg"), "image/png": ("PNG", "png"),
           "image/bmp": ("BMP", "bmp")}
DECODERS = sorted({fmt for fmt, _ in FORMATS.values()})
URL_SECONDS = 3600


def media_type(content_type: str) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def check_logo(data: bytes, content_type: str) -> str:
    """The file extension of a valid logo, or InvalidLogo saying what is wrong."""
    declared = media_type(content_type)
    if declared not in FORMATS:
        raise InvalidLogo(problem="unsupported content type", content_type=declared,
                          allowed=sorted(FORMATS))
    if not data:
        raise InvalidLogo(problem="empty body")
    if len(data) > MAX_BYTES:
        raise InvalidLogo(problem="too large", max_bytes=MAX_BYTES, bytes=len(data))
    expected, ext = FORMATS[declared]
    # Pillow is loaded by the first logo upload, not by every cold start (~14 ms).
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # A decompression-bomb warning becomes an error; the size check below also
            # refuses anything but 80x80 before a single pixel is decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only our three decoders see the bytes: Pillow would otherwise try every
            # plugin it has (EPS, TIFF, ...) on untrusted input before our format check.
            with Image.open(io.BytesIO(data), formats=DECODERS) as image:
                found = image.format
                if found != expected:
                    raise InvalidLogo(problem="content does not match Content-Type",
                                      content_type=declared, detected=found)
                if image.size != SIZE:
                    raise InvalidLogo(problem="wrong dimensions", width=image.size[0],
                                      height=image.size[1], required="80x80")
                image.load()
    except InvalidLogo:
        raise
    except Exception as error:  # noqa: BLE001 - any decoder failure means a bad image
        raise InvalidLogo(problem="not a decodable image", reason=type(error).__name__)
    return ext


def logo_key(service_id: str, data: bytes, ext: str) -> str:
    return f"logos/{service_id}/{hashlib.sha256(data).hexdigest()}.{ext}"


def store_logo(key: str, data: bytes, content_type: str) -> None:
    s3_client().put_object(Bucket=settings_module.get().bucket, Key=key, Body=data,
                           ContentType=media_type(content_type))


def delete_logo_quietly(key: str | None) -> None:
    if not key:
        return
    try:
        s3_client().delete_object(Bucket=settings_module.get().bucket, Key=key)
    except Exception:  # noqa: BLE001 - an orphaned logo costs bytes, not correctness
        pass


def logo_url(key: str | None) -> str | None:
    """A public URL when PUBLIC_BASE_URL is set, else a presigned GET valid for 1 h."""
    if not key:
        return None
    cfg = settings_module.get()
    if cfg.public_base_url:
        return f"{cfg.public_base_url.rstrip('/')}/{key}"
    return s3_client().generate_presigned_url(
        "get_object", Params={"Bucket": cfg.bucket, "Key": key}, ExpiresIn=URL_SECONDS)
