"""The upload of a requirement-form file (需求表附件), before the order exists: a presigned
POST into the buyer's own area, as strict as a message file's (services.answer_files
checks and claims it when the order is placed)."""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, ids, settings
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import AttachmentLimitReached, Forbidden, NotFound, ServiceNotListed
from chalicelib.services.answer_files import area
from chalicelib.services.deliverables import check_content_type, safe_filename, upload_form
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.messages import AttachmentModel


def request_upload(caller: Caller, service_id: str, *, filename: str, content_type: str,
                   size: int, now: datetime) -> dict:
    """A presigned POST for one answer file, for a listed service one may order."""
    _orderable(caller, service_id)
    check_content_type(content_type)
    limit = settings.get().max_attachments
    if AttachmentModel.count(area(caller.user_id),
                             filter_condition=AttachmentModel.message_id.does_not_exist(),
                             consistent_read=True) >= limit:
        raise AttachmentLimitReached(max_attachments=limit)
    file_id = ids.new_id("file")
    name = safe_filename(filename)
    # Under the uploads prefix: tagged pending, it expires if no order ever claims it.
    key = f"orders/answer-files/{file_id}/{name}"
    AttachmentModel(area(caller.user_id), file_id, uploader_id=caller.user_id, s3_key=key,
                    filename=name, content_type=content_type, size=size,
                    created_at=clock.to_key(now)).save()
    return upload_form(key, content_type, size) | {"file_id": file_id, "filename": name}


def _orderable(caller: Caller, service_id: str) -> None:
    try:
        service = ServiceModel.get(service_id, consistent_read=True) \
            if isinstance(service_id, str) and 1 <= len(service_id) <= 128 else None
    except DoesNotExist:
        service = None
    if service is None or service.status == "draft":
        raise NotFound("no such service")
    if service.provider_id == caller.user_id:
        raise Forbidden("you cannot order your own service")
    if service.status != "listed":
        raise ServiceNotListed()
