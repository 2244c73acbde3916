"""Service logos: decode the bytes with Pillow (never trusting the header or a file
name), keep them in S3 under a key named by their content, and answer a URL that never
changes for them, so browsers, phones and CDNs cache a market page's images."""
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
# Raw bytes of any of the three, the format told by the bytes alone: the one raw-body type
# API client generators know (see "Logo uploads" in docs/api-additions.md).
ANY_IMAGE = "application/octet-stream"
UPLOAD_TYPES = sorted(FORMATS) + [ANY_IMAGE]
_TYPE_OF_EXT = {ext: kind for kind, (_, ext) in FORMATS.items()}
# The key is the content's hash: the object under a key never changes, so it may be
# cached for good. A new logo is a new key, hence a new URL.
CACHE_CONTROL = "public, max-age=31536000, immutable"


def media_type(content_type: str) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def check_logo(data: bytes, content_type: str) -> str:
    """The file extension of a valid logo, or InvalidLogo saying what is wrong."""
    declared = media_type(content_type)
    if declared not in UPLOAD_TYPES:
        raise InvalidLogo(problem="unsupported content type", content_type=declared,
                          allowed=UPLOAD_TYPES)
    if not data:
        raise InvalidLogo(problem="empty body")
    if len(data) > MAX_BYTES:
        raise InvalidLogo(problem="too large", max_bytes=MAX_BYTES, bytes=len(data))
    expected = FORMATS[declared][0] if declared in FORMATS else None
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
                if expected is not None and found != expected:
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
    return next(ext for fmt, ext in FORMATS.values() if fmt == found)


def logo_key(service_id: str, data: bytes, ext: str) -> str:
    return f"logos/{service_id}/{hashlib.sha256(data).hexdigest()}.{ext}"


def store_logo(key: str, data: bytes, content_type: str) -> None:
    s3_client().put_object(Bucket=settings_module.get().bucket, Key=key, Body=data,
                           ContentType=_TYPE_OF_EXT[key.rsplit(".", 1)[1]],
                           CacheControl=CACHE_CONTROL)


def delete_logo_quietly(key: str | None) -> None:
    if not key:
        return
    try:
        s3_client().delete_object(Bucket=settings_module.get().bucket, Key=key)
    except Exception:  # noqa: BLE001 - an orphaned logo costs bytes, not correctness
        pass


def logo_base_url(cfg=None) -> str:
    """Where logos are public: LOGO_BASE_URL (the stack's CloudFront distribution), else
    the bucket on its S3 endpoint (moto's S3 server on the local stack)."""
    cfg = cfg or settings_module.get()
    if cfg.logo_base_url:
        return cfg.logo_base_url.rstrip("/")
    if cfg.s3_endpoint:
        return f"{cfg.s3_endpoint.rstrip('/')}/{cfg.bucket}"
    return f"https://{cfg.bucket}.s3.{cfg.region}.amazonaws.com"


def logo_url(key: str | None) -> str | None:
    """The logo's stable public URL: the same on every request, nothing signed."""
    if not key:
        return None
    return f"{logo_base_url()}/{key}"
