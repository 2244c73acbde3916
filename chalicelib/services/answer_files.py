"""Files that answer a requirement form's `kind: file` questions (需求表附件). The buyer
uploads them before the order exists, into its own area (`answers#<buyer>` in the
attachments table, as strict as message files: exact key, type and size, tagged pending);
placing the order checks each answer is such an upload of the buyer's, completed at its
declared size and not used by another order, and claims it in the order's own
transaction: the file then belongs to the order like a sent message file, readable by
both parties at GET /orders/{id}/attachments/{file_id}. (The upload itself:
services.answer_uploads.)"""

from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist

from chalicelib import settings
from chalicelib.domain.errors import ValidationFailed
from chalicelib.storage.files import s3_client
from chalicelib.storage.messages import AttachmentModel

FORM = "answers"  # the message id a claimed answer file carries


def area(buyer_id: str) -> str:
    """The attachments partition of a buyer's not yet claimed answer files."""
    return f"answers#{buyer_id}"


def claim(buyer_id: str, questions: list, answers: dict, order_id: str, at: str) -> list:
    """Check every `kind: file` answer (422 naming `answers.<id>` for each misfit) and
    copy each file under the order; the writes that claim them, each `op(tx)`, for the
    order's transaction (conditional: a file claimed once is claimed by one order)."""
    problems, writes = [], []
    bucket = settings.get().bucket
    for q in questions:
        file_id = answers.get(q["id"])
        if q.get("kind") != "file" or not file_id:
            continue
        field = f"answers.{q['id']}"
        item = _get(buyer_id, file_id)
        if item is None or item.uploader_id != buyer_id:
            problems.append({"field": field, "problem": "not an uploaded file"})
            continue
        if item.message_id == order_id:
            continue  # claimed by this very order: a retry whose first try committed
        if item.message_id is not None:
            problems.append({"field": field, "problem": "already used"})
            continue
        pinned = f"orders/{order_id}/answers/{item.file_id}/{item.filename}"
        try:
            # Copied without the upload's tags: the order's copy never expires.
            s3_client().copy_object(Bucket=bucket, Key=pinned,
                                    CopySource={"Bucket": bucket, "Key": item.s3_key},
                                    MetadataDirective="REPLACE", ContentType=item.content_type,
                                    TaggingDirective="REPLACE")
            size = s3_client().head_object(Bucket=bucket, Key=pinned).get("ContentLength")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                problems.append({"field": field, "problem": "not uploaded"})
                continue
            raise
        if size != int(item.size):
            problems.append({"field": field, "problem": "not the declared size"})
            continue
        writes.append(_claim_write(item, order_id, pinned, at))
    if problems:
        raise ValidationFailed("some answers are not files you uploaded", errors=problems)
    return writes


def _claim_write(item: AttachmentModel, order_id: str, pinned: str, at: str):
    A = AttachmentModel

    def op(tx):
        tx.update("answer_file", A(item.order_id, item.file_id),
                  actions=[A.message_id.set(order_id), A.pinned_key.set(pinned),
                           A.sent_at.set(at)],
                  condition=A.message_id.does_not_exist())
        tx.save("order_file", A(order_id, item.file_id, uploader_id=item.uploader_id,
                                s3_key=pinned, filename=item.filename,
                                content_type=item.content_type, size=int(item.size),
                                created_at=at, message_id=FORM, pinned_key=pinned, sent_at=at),
                condition=A.file_id.does_not_exist())
    return op


def _get(buyer_id: str, file_id) -> AttachmentModel | None:
    if not isinstance(file_id, str) or not 1 <= len(file_id) <= 128:
        return None
    try:
        return AttachmentModel.get(area(buyer_id), file_id, consistent_read=True)
    except DoesNotExist:
        return None
