"""Files for messages: presigned uploads as strict as the deliverables' (the exact key, the
declared type, exactly the declared size, tagged pending until sent), at most
MAX_ATTACHMENTS per order and only while it is open, pinning a file when a message carries it, and
presigned downloads for whoever may read the conversation."""
from datetime import datetime

from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, ids, settings
from chalicelib.domain import messages as message_rules
from chalicelib.domain import orders as life
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (AttachmentLimitReached, NotFound, OrderClosed,
                                      ValidationFailed)
from chalicelib.services import threads
from chalicelib.services.deliverables import (check_content_type, download_link,
                                              safe_filename, upload_form)
from chalicelib.storage.files import s3_client
from chalicelib.storage.messages import AttachmentModel, MessageFile

class Unsendable(ValidationFailed):
    """Some file_ids of a message cannot be sent (unknown, not the author's, not
    uploaded, not the declared size, or already part of another message)."""

    def __init__(self, file_ids: list[str], problem: str):
        super().__init__("some files cannot be attached",
                         errors=[{"field": "file_ids", "problem": problem,
                                  "file_ids": file_ids}])


def request_upload(caller: Caller, order_id: str, *, filename: str, content_type: str,
                   size: int, now: datetime, thread: str = threads.ORDER) -> dict:
    """A presigned S3 POST for one message file, bound to its key, type and exact size."""
    order = threads.open_thread(caller, order_id, thread)
    message_rules.check_may_write(order.role, order.status, order.operator_may_write)
    if order.closed:
        # A closed conversation is a record, not a store: 50 MB grants on a cancelled
        # order would be free storage for anyone who once placed one.
        raise OrderClosed("files are attached while the order or contract is open",
                          status=order.status)
    check_content_type(content_type)
    limit = settings.get().max_attachments
    if _count(order.id) >= limit:
        raise AttachmentLimitReached(max_attachments=limit)
    file_id = ids.new_id("file")
    name = safe_filename(filename)
    key = f"orders/{order.id}/attachments/{file_id}/{name}"
    item = AttachmentModel(order.id, file_id, uploader_id=caller.user_id, s3_key=key,
                           filename=name, content_type=content_type, size=size,
                           created_at=clock.to_key(now))
    item.save()
    # Counted again after the write: of requests racing for the last places, any that
    # went over takes its own file back, so the order never keeps more than the limit
    # (at worst a racer is refused that a moment later would have fitted).
    if _count(order.id) > limit:
        item.delete()
        raise AttachmentLimitReached(max_attachments=limit)
    # Exactly `size` bytes of exactly this type at exactly this key, tagged as pending:
    # the file a message will show is the file that was declared, and an upload never
    # sent expires with the deliveries' abandoned uploads.
    return upload_form(key, content_type, size) | {"file_id": file_id, "filename": name}


def _count(order_id: str) -> int:
    """Attachments asked for on the order, sent or not (a consistent read)."""
    return AttachmentModel.count(order_id, consistent_read=True)


def download_url(caller: Caller, order_id: str, file_id: str,
                 thread: str = threads.ORDER) -> dict:
    """A presigned GET of a sent file (parties, operators) or of one's own unsent upload."""
    order = threads.open_thread(caller, order_id, thread)
    if order.role == life.SYSTEM or not _plausible_id(file_id):
        raise NotFound("no such file")
    item = _get(order.id, file_id)
    sent = item is not None and item.message_id is not None
    if item is None or not message_rules.may_fetch_file(reader_id=caller.user_id,
                                                uploader_id=item.uploader_id, sent=sent):
        raise NotFound("no such file")
    return download_link(item.pinned_key if sent else item.s3_key, item.filename)


def pin(caller: Caller, order_id: str, file_ids: list[str], message_id: str):
    """Freeze the caller's uploaded files for a message: each is copied to a key under the
    message that no upload policy names, and must be exactly its declared size there.

    Returns (the files as the message shows them, the attachment updates for the
    message's transaction). Nothing is recorded here: a copy whose message never
    commits is an orphan object, never a changed file.
    """
    items = []
    for file_id in file_ids:
        item = _get(order_id, file_id) if _plausible_id(file_id) else None
        if item is None or item.uploader_id != caller.user_id:
            # Another party's file is as unknown to the caller as a made-up id.
            raise Unsendable([file_id], "unknown")
        if item.message_id is not None:
            raise Unsendable([file_id], "already sent")
        items.append(item)
    bucket = settings.get().bucket
    shown, updates = [], []
    for item in items:
        pinned = f"orders/{order_id}/messages/{message_id}/{item.file_id}/{item.filename}"
        try:
            # Without the upload's tags: the sent copy must never expire as an
            # abandoned upload.
            s3_client().copy_object(Bucket=bucket, Key=pinned,
                                    CopySource={"Bucket": bucket, "Key": item.s3_key},
                                    MetadataDirective="REPLACE", ContentType=item.content_type,
                                    TaggingDirective="REPLACE")
            size = s3_client().head_object(Bucket=bucket, Key=pinned).get("ContentLength")
        except ClientError as error:
            if _missing(error):
                raise Unsendable([item.file_id], "not uploaded")
            raise
        if size != int(item.size):
            raise Unsendable([item.file_id], "not the declared size")
        shown.append(MessageFile(file_id=item.file_id, filename=item.filename,
                                 content_type=item.content_type, size=int(item.size)))
        updates.append((item, pinned))
    return shown, updates


def sent_actions(item: AttachmentModel, pinned_key: str, message_id: str, at: str):
    """The attachment's update in the message's transaction, with its condition: still
    unsent and still the author's, so two messages can never claim one file."""
    A = AttachmentModel
    return (A(item.order_id, item.file_id),
            [A.message_id.set(message_id), A.pinned_key.set(pinned_key), A.sent_at.set(at)],
            A.message_id.does_not_exist() & (A.uploader_id == item.uploader_id))


def send_within(tx, pinned: list, owner_id: str, at: str) -> None:
    """Mark each pinned file sent by `owner_id` (a message, evidence, a statement) in the
    owner's own transaction, each conditional on being still unsent (sent_actions)."""
    for item, key in pinned:
        target, actions, condition = sent_actions(item, key, owner_id, at)
        tx.update("attachment", target, actions=actions, condition=condition)


def refuse_taken(pinned: list, refusal) -> None:
    """After a refused transaction of send_within: the files another owner took first
    are refused by name; nothing is raised when none was."""
    taken = [item.file_id for (item, _), failed
             in zip(pinned, refusal.failed_each("attachment")) if failed]
    if taken:
        raise Unsendable(taken, "already sent")


def _get(order_id: str, file_id: str) -> AttachmentModel | None:
    try:
        return AttachmentModel.get(order_id, file_id, consistent_read=True)
    except DoesNotExist:
        return None


def _plausible_id(file_id) -> bool:
    return isinstance(file_id, str) and 1 <= len(file_id) <= 128


def _missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    return code in ("NoSuchKey", "404", "NotFound")
