"""Requirement-form files (需求表附件): the upload a `kind: file` question's answer names
when the buyer places the order."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.orders import UPLOAD
from chalicelib.api.routing import USER, route

answer_uploads = lazy.module("chalicelib.services.answer_uploads")

bp = Blueprint(__name__)


@route(bp, "/services/{service_id}/answer-files", "POST", auth=USER, body=UPLOAD, status=201,
       response=answers.UPLOAD, tag="orders",
       errors_=["NOT_FOUND", "FORBIDDEN", "VALIDATION_FAILED", "SERVICE_NOT_LISTED",
                "ATTACHMENT_LIMIT_REACHED"])
def request_answer_file(req):
    """A presigned S3 POST for one file answering the service's form (exact type and
    size); POST /orders then takes its `file_id` as the answer."""
    b = req.body
    return answer_uploads.request_upload(req.caller, req.params["service_id"],
                                         filename=b["filename"], content_type=b["content_type"],
                                         size=b["size"], now=req.now)
