"""Delivery files: presigned uploads straight to S3, the `deliver` transition that only
accepts files that really arrived, and presigned downloads for the order's parties."""
import re
import unicodedata
from datetime import datetime
from urllib.parse import quote

from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, ids, settings
from chalicelib.domain import orders as life
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from chalicelib.services import orders
from chalicelib.storage.files import s3_client
from chalicelib.storage.orders import DeliverableModel

MAX_FILE_BYTES = 50 * 1024 * 1024
UPLOAD_EXPIRES_SECONDS = 3600
DOWNLOAD_EXPIRES_SECONDS = 600
_UNSAFE = re.compile(r"[^\w.\-() ]+")
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}", re.I)


def safe_filename(name: str) -> str:
    """The last path segment, with anything that is not a word character, dot, dash,
    bracket or space replaced: no traversal, no header injection, Chinese kept."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:120] or "file"


def check_content_type(content_type: str) -> None:
    """Refuse anything but `type/subtype`: it goes into the signed upload policy and back
    out as a header."""
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise ValidationFailed("content_type must be a MIME type such as image/png",
                               errors=[{"field": "content_type", "problem": "not a MIME type"}])


def download_link(key: str, filename: str) -> dict:
    """A short-lived presigned GET of `key` that saves as `filename`."""
    url = s3_client().generate_presigned_url(
        "get_object", ExpiresIn=DOWNLOAD_EXPIRES_SECONDS,
        Params={"Bucket": settings.get().bucket, "Key": key,
                "ResponseContentDisposition":
                    f"attachment; filename*=UTF-8''{quote(filename, safe='')}"})
    return {"url": url, "filename": filename, "expires_in": DOWNLOAD_EXPIRES_SECONDS}


def request_upload(caller: Caller, order_id: str, *, filename: str, content_type: str,
                   size: int, now: datetime) -> dict:
    """A presigned S3 POST for one delivery file, bound to its type and size."""
    order = orders.load(order_id)
    if orders.role_of(caller, order) != life.PROVIDER:
        raise Forbidden("only the provider uploads deliveries")
    if order.status != life.IN_PROGRESS:
        raise InvalidTransition("files are uploaded while the order is in progress",
                                status=order.status)
    check_content_type(content_type)
    file_id = ids.new_id("file")
    name = safe_filename(filename)
    key = f"orders/{order.id}/{file_id}/{name}"
    DeliverableModel(order.id, file_id, s3_key=key, filename=name, content_type=content_type,
                     size=size, created_at=clock.to_key(now)).save()
    # The policy binds the declared type and caps the size, so the browser cannot
    # upload something else under this file id.
    upload = s3_client().generate_presigned_post(
        settings.get().bucket, key, Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, size]],
        ExpiresIn=UPLOAD_EXPIRES_SECONDS)
    return {"upload": {"url": upload["url"], "fields": upload["fields"]}, "file_id": file_id,
            "filename": name, "max_bytes": size}


def deliver_order(caller: Caller, order_id: str, *, file_ids: list[str], note: str,
                  now: datetime) -> dict:
    """The provider hands in a numbered delivery of uploaded files → in_review."""
    order = orders.load(order_id)
    role = orders.role_of(caller, order)
    life.decide(order.status, life.DELIVER, role, orders.facts(order, now))
    missing = [f for f in file_ids if not _arrived(order.id, f)]
    if missing:
        raise ValidationFailed("some files were not uploaded",
                               errors=[{"field": "file_ids", "problem": "not uploaded",
                                        "file_ids": missing}])
    return orders.present(orders.transition(
        caller, order_id, life.DELIVER, now, params={"file_ids": file_ids},
        data={"note": note, "file_ids": file_ids}))


def _arrived(order_id: str, file_id: str) -> bool:
    try:
        item = DeliverableModel.get(order_id, file_id, consistent_read=True)
    except DoesNotExist:
        return False
    try:
        head = s3_client().head_object(Bucket=settings.get().bucket, Key=item.s3_key)
    except ClientError:
        return False
    return 0 < head.get("ContentLength", 0) <= MAX_FILE_BYTES


def list_deliverables(caller: Caller, order_id: str) -> list[dict]:
    """The order's files; the buyer sees only delivered ones."""
    order = orders.load(order_id)
    role = orders.role_of(caller, order)
    items = DeliverableModel.query(order.id, consistent_read=True)
    return [present(i) for i in items if role != life.BUYER or i.version is not None]


def download_url(caller: Caller, order_id: str, file_id: str) -> dict:
    """A short-lived presigned GET, for the buyer (delivered files), provider and operator."""
    order = orders.load(order_id)
    role = orders.role_of(caller, order)
    if role == life.SYSTEM:
        raise NotFound("no such file")
    if not isinstance(file_id, str) or not 1 <= len(file_id) <= 128:
        raise NotFound("no such file")
    try:
        item = DeliverableModel.get(order.id, file_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such file")
    if role == life.BUYER and item.version is None:
        raise NotFound("no such file")  # not delivered yet: the buyer cannot see drafts
    return download_link(item.s3_key, item.filename)


def present(item: DeliverableModel) -> dict:
    return {"file_id": item.file_id, "filename": item.filename,
            "content_type": item.content_type, "size": int(item.size),
            "version": int(item.version) if item.version is not None else None,
            "created_at": clock.key_to_iso(item.created_at),
            "delivered_at": clock.key_to_iso(item.delivered_at)}
