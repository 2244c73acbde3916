"""Delivery files: presigned uploads straight to S3, the `deliver` transition that pins
the files that really arrived, and presigned downloads of exactly what was delivered.

An upload form names one key, one Content-Type and the exact size, and expires within
minutes. At `deliver` each file is copied to a pinned key (`storage.files.pin`) and the
delivery records that key, in the same transaction as the state change; from then on
the buyer, the provider and operators download the pinned copy, so nothing the provider
uploads later (the same form posted again) changes what was delivered."""
import re
import unicodedata
from datetime import datetime
from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, ids, settings
from chalicelib.domain import orders as life
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import DeliverablesWithdrawn, Forbidden, InvalidTransition, NotFound, ValidationFailed
from chalicelib.services import orders
from chalicelib.storage import files
from chalicelib.storage.files import s3_client
from chalicelib.storage.orders import DeliverableModel

MAX_FILE_BYTES = life.DELIVERABLE_MAX_BYTES
# Long enough to start a 50 MB upload on a slow line; short enough that a form is not a
# standing licence to write.
UPLOAD_EXPIRES_SECONDS = 600
DOWNLOAD_EXPIRES_SECONDS = 600
UPLOAD_PREFIX = "orders/"
# Every upload arrives tagged upload=pending (the signed POST policy requires the field);
# what is delivered or sent is copied to a pinned key without it. The bucket's lifecycle rule expires what still
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


def check_content_type(content_type: str) -> None:
    """Refuse anything but `type/subtype`: it goes into the signed upload policy and back
    out as a header."""
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise ValidationFailed("content_type must be a MIME type such as image/png",
                               errors=[{"field": "content_type", "problem": "not a MIME type"}])


def download_link(key: str, filename: str, content_type: str | None = None) -> dict:
    """A short-lived presigned GET of `key` that saves as `filename`."""
    url = files.download_url(key, filename=filename, content_type=content_type,
                             expires=DOWNLOAD_EXPIRES_SECONDS)
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
    key = f"{UPLOAD_PREFIX}{order.id}/{file_id}/{name}"
    DeliverableModel(order.id, file_id, s3_key=key, filename=name, content_type=content_type,
                     size=size, created_at=clock.to_key(now)).save()
    return upload_form(key, content_type, size) | {"file_id": file_id, "filename": name}


def upload_form(key: str, content_type: str, size: int) -> dict:
    """The presigned S3 POST of one upload (deliveries, message attachments), and its
    limits. The policy binds the exact key (boto adds it), the declared type, the exact
    size and the upload=pending tag, so the browser cannot upload something else under
    the file id, nor an object the abandoned-upload rule would not expire."""
    upload = s3_client().generate_presigned_post(
        settings.get().bucket, key,
        Fields={"Content-Type": content_type, "tagging": _PENDING_TAGGING},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size],
                    {"tagging": _PENDING_TAGGING}],
        ExpiresIn=UPLOAD_EXPIRES_SECONDS)
    return {"upload": {"url": upload["url"], "fields": upload["fields"]}, "max_bytes": size,
            "expires_in": UPLOAD_EXPIRES_SECONDS}


def deliver_order(caller: Caller, order_id: str, *, file_ids: list[str], note: str,
                  now: datetime, request_key: str | None = None) -> dict:
    """The provider hands in a numbered delivery of uploaded files, pinned → in_review."""
    order = orders.load(order_id)
    role = orders.role_of(caller, order)
    life.decide(order.status, life.DELIVER, role, orders.facts(order, now))
    pins, missing = {}, []
    # One call for all the files' items (consistent: an upload recorded a moment ago).
    items = {i.file_id: i for i in DeliverableModel.batch_get(
        [(order.id, f) for f in dict.fromkeys(file_ids)], consistent_read=True)}
    for file_id in file_ids:
        pinned = _pin(items.get(file_id))
        if pinned is None:
            missing.append(file_id)
        else:
            pins[file_id] = pinned
    if missing:
        raise ValidationFailed("some files were not uploaded",
                               errors=[{"field": "file_ids", "problem": "not uploaded",
                                        "file_ids": missing}])
    # The pinned copies carry no tag; the uploads themselves keep theirs and expire with
    # the abandoned-upload rule, since nothing is ever served from them once delivered.
    return orders.present(orders.transition(
        caller, order_id, life.DELIVER, now, params={"file_ids": file_ids, "pins": pins},
        data={"note": note, "file_ids": file_ids}, request_key=request_key, read=order), caller)


def _pin(item: DeliverableModel | None) -> str | None:
    """Copy an uploaded, undelivered file of this order to a pinned key; None if it was
    never requested, never arrived (or arrived with another size than its form allowed)."""
    if item is None:
        return None
    if item.version is not None:
        return item.pinned_key or item.s3_key  # already delivered: the commit refuses it
    key = files.pinned_key(item.order_id, item.file_id)
    size = files.pin(item.s3_key, key)
    # The form allows exactly the declared size; a different one was not our upload.
    if size is None or not 0 < size <= MAX_FILE_BYTES or size != int(item.size):
        return None
    return key


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
    if role == life.BUYER and life.deliverables_withdrawn(order.status,
                                                          orders.milestones_of(order)):
        raise DeliverablesWithdrawn(status=order.status)
    # A delivered file is served from its pinned copy, for everyone; a draft from its
    # upload key (the provider's own, to check what arrived).
    key = item.pinned_key or item.s3_key if item.version is not None else item.s3_key
    return download_link(key, item.filename, item.content_type)


def present(item: DeliverableModel) -> dict:
    return {"file_id": item.file_id, "filename": item.filename,
            "content_type": item.content_type, "size": int(item.size),
            "version": int(item.version) if item.version is not None else None,
            "created_at": clock.key_to_iso(item.created_at),
            "delivered_at": clock.key_to_iso(item.delivered_at)}
