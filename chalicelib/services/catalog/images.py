"""Pictures in a service's content (图文并茂): an upload ticket (a presigned POST bound to
one key, an image type and at most 2 MB), then a check that decodes the bytes with
Pillow like a logo, and keeps them under a key named by their content — a stable URL
the rendered content may show. Only checked pictures of the service itself render.
"""
import hashlib
import io
import warnings
from datetime import datetime

from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size

from chalicelib import ids, settings
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Conflict, InvalidImage, NotFound, ValidationFailed
from chalicelib.services import logos
from chalicelib.services.content import image_keys, stored_html
from chalicelib.services.catalog.reading import load_service
from chalicelib.storage.base import condition_failed
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.files import s3_client

MAX_BYTES = 2 * 1024 * 1024
MAX_IMAGES = 30
MAX_PIXELS = 40_000_000  # beyond any product picture; a decompression bomb is refused
FORMATS = {"image/jpeg": ("JPEG", "jpg"), "image/png": ("PNG", "png"),
           "image/webp": ("WEBP", "webp")}
UPLOAD_EXPIRES_SECONDS = 900


def upload_key(service_id: str, image_id: str) -> str:
    return f"services/{service_id}/image-uploads/{image_id}"


def request_image_upload(caller: Caller, service_id: str, *, content_type: str, size: int,
                         now: datetime) -> dict:
    """A presigned POST for one picture of the caller's own service."""
    service = load_service(caller, service_id, owner_only=True)
    if content_type not in FORMATS:
        raise ValidationFailed("pictures are jpg, png or webp", errors=[
            {"field": "content_type", "problem": "unsupported", "allowed": sorted(FORMATS)}])
    image_id = ids.new_id("img")
    key = upload_key(service.id, image_id)
    upload = s3_client().generate_presigned_post(
        settings.get().bucket, key, Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
        ExpiresIn=UPLOAD_EXPIRES_SECONDS)
    return {"image_id": image_id, "upload": {"url": upload["url"], "fields": upload["fields"]},
            "max_bytes": size, "expires_in": UPLOAD_EXPIRES_SECONDS,
            "markdown": f"![说明](image:{image_id})"}


def check_image(caller: Caller, service_id: str, image_id: str) -> dict:
    """Decode the uploaded picture; if it is one, keep it at its stable URL for the
    service's content to show."""
    service = load_service(caller, service_id, owner_only=True)
    known = image_keys(service)
    if image_id in known:
        return _present(image_id, known[image_id])
    if not isinstance(image_id, str) or not image_id.startswith("img_") or len(image_id) > 64:
        raise NotFound("no such image")
    try:
        obj = s3_client().get_object(Bucket=settings.get().bucket,
                                     Key=upload_key(service.id, image_id))
    except ClientError:
        raise NotFound("no such image: upload it first")
    data = obj["Body"].read(MAX_BYTES + 1)
    ext = check_picture(data, logos.media_type(obj.get("ContentType", "")))
    key = f"images/{service.id}/{hashlib.sha256(data).hexdigest()}.{ext}"
    s3_client().put_object(Bucket=settings.get().bucket, Key=key, Body=data,
                           ContentType=next(t for t, (_, e) in FORMATS.items() if e == ext),
                           CacheControl=logos.CACHE_CONTROL)
    S = ServiceModel
    # The content as it shows with this picture too (if another check or an edit lands
    # meanwhile, the stored fingerprint no longer matches and reads render instead).
    html = stored_html(service.content, {**known, image_id: key})
    try:
        # ADD to a set: two checks at once both land, and a retry adds nothing twice.
        service.update(actions=[S.images.add({f"{image_id}={key}"}),
                                *(getattr(S, name).set(value) for name, value in html.items())],
                       condition=S.images.does_not_exist() | (size(S.images) < MAX_IMAGES))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        raise Conflict("a service holds at most 30 pictures", limit=MAX_IMAGES)
    return _present(image_id, key)


def check_picture(data: bytes, declared: str) -> str:
    """The extension of a valid picture, or InvalidImage saying what is wrong."""
    if not data:
        raise InvalidImage(problem="empty file")
    if len(data) > MAX_BYTES:
        raise InvalidImage(problem="too large", max_bytes=MAX_BYTES)
    expected = FORMATS.get(declared, (None,))[0]
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=sorted(f for f, _ in FORMATS.values())) \
                    as image:
                if expected is not None and image.format != expected:
                    raise InvalidImage(problem="content does not match Content-Type",
                                      content_type=declared, detected=image.format)
                if image.size[0] * image.size[1] > MAX_PIXELS:
                    raise InvalidImage(problem="too many pixels", max_pixels=MAX_PIXELS)
                image.load()
                found = image.format
    except InvalidImage:
        raise
    except Exception as error:  # noqa: BLE001 - any decoder failure means a bad picture
        raise InvalidImage(problem="not a decodable image", reason=type(error).__name__)
    return next(ext for fmt, ext in FORMATS.values() if fmt == found)


def _present(image_id: str, key: str) -> dict:
    return {"image_id": image_id, "url": logos.logo_url(key),
            "markdown": f"![说明](image:{image_id})"}
