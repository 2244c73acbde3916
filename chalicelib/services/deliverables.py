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
UPLOAD_PREFIX = "orders/"
# Every upload arrives tagged upload=pending (the signed POST policy requires the field);
# delivering a file removes the tag. The bucket's lifecycle rule expires what still
# carries it after a week: files uploaded and never delivered.
PENDING_TAG = ("upload", "pending")
_PENDING_TAGGING = ("<Tagging><TagSet><Tag><Key>%s</Key><Value>%s</Value></Tag></TagSet>"
                    "</Tagging>" % PENDING_TAG)
_UNSAFE = re.compile(r"[^\w.\-() ]+")
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}", re.I)


def safe_filename(name: str) -> str:
    """The last path segment, with anything that is not a word character, dot, dash,
    bracket or space replaced: no traversal, no header injection, Chinese kept."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:120] or "file"


def request_upload(caller: Caller, order_id: str, *, filename: str, content_type: str,
                   size: int, now: datetime) -> dict:
    """A presigned S3 POST for one delivery file, bound to its type and size."""
    order = orders.load(order_id)
    if orders.role_of(caller, order) != life.PROVIDER:
        raise Forbidden("only the provider uploads deliveries")
    if order.status != life.IN_PROGRESS:
        raise InvalidTransition("files are uploaded while the order is in progress",
                                status=order.status)
    if not _CONTENT_TYPE.fullmatch(content_type):
        # It goes into the signed policy and back out as a header: only type/subtype.
        raise ValidationFailed("content_type must be a MIME type such as image/png",
                               errors=[{"field": "content_type", "problem": "not a MIME type"}])
    file_id = ids.new_id("file")
    name = safe_filename(filename)
    key = f"{UPLOAD_PREFIX}{order.id}/{file_id}/{name}"
    DeliverableModel(order.id, file_id, s3_key=key, filename=name, content_type=content_type,
                     size=size, created_at=clock.to_key(now)).save()
    # The policy binds the declared type and caps the size, so the browser cannot
    # upload something else under this file id.
    upload = s3_client().generate_presigned_post(
        settings.get().bucket, key,
        Fields={"Content-Type": content_type, "tagging": _PENDING_TAGGING},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, size],
                    {"tagging": _PENDING_TAGGING}],
        ExpiresIn=UPLOAD_EXPIRES_SECONDS)
    return {"upload": {"url": upload["url"], "fields": upload["fields"]}, "file_id": file_id,
            "filename": name, "max_bytes": size}


def deliver_order(caller: Caller, order_id: str, *, file_ids: list[str], note: str,
                  now: datetime, request_key: str | None = None) -> dict:
    """The provider hands in a numbered delivery of uploaded files → in_review."""
    order = orders.load(order_id)
    role = orders.role_of(caller, order)
    life.decide(order.status, life.DELIVER, role, orders.facts(order, now))
    arrived = {f: _arrived(order.id, f) for f in file_ids}
    missing = [f for f, key in arrived.items() if key is None]
    if missing:
        raise ValidationFailed("some files were not uploaded",
                               errors=[{"field": "file_ids", "problem": "not uploaded",
                                        "file_ids": missing}])
    # Untagged before the delivery commits: a delivery whose files could still expire must
    # not happen; an untagged file whose delivery then fails is only kept too long.
    for key in arrived.values():
        s3_client().delete_object_tagging(Bucket=settings.get().bucket, Key=key)
    return orders.present(orders.transition(
        caller, order_id, life.DELIVER, now, params={"file_ids": file_ids},
        data={"note": note, "file_ids": file_ids}, request_key=request_key))


def _arrived(order_id: str, file_id: str) -> str | None:
    """The S3 key of an uploaded file of this order, None if it never arrived."""
    try:
        item = DeliverableModel.get(order_id, file_id, consistent_read=True)
    except DoesNotExist:
        return None
    try:
        head = s3_client().head_object(Bucket=settings.get().bucket, Key=item.s3_key)
    except ClientError:
        return None
    return item.s3_key if 0 < head.get("ContentLength", 0) <= MAX_FILE_BYTES else None


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
    url = s3_client().generate_presigned_url(
        "get_object", ExpiresIn=DOWNLOAD_EXPIRES_SECONDS,
        Params={"Bucket": settings.get().bucket, "Key": item.s3_key,
                "ResponseContentDisposition":
                    f"attachment; filename*=UTF-8''{quote(item.filename, safe='')}"})
    return {"url": url, "filename": item.filename, "expires_in": DOWNLOAD_EXPIRES_SECONDS}


def present(item: DeliverableModel) -> dict:
    return {"file_id": item.file_id, "filename": item.filename,
            "content_type": item.content_type, "size": int(item.size),
            "version": int(item.version) if item.version is not None else None,
            "created_at": clock.key_to_iso(item.created_at),
            "delivered_at": clock.key_to_iso(item.delivered_at)}
