"""Qualification document routes (资质材料): the applicant uploads, operators download."""
from chalice import Blueprint

from chalicelib import lazy
from chalicelib.api import answers
from chalicelib.api.routing import OPERATOR, USER, route
from chalicelib.api.schema import Enum, Int, Obj, Str
from chalicelib.domain import providers as provider_rules

documents = lazy.module("chalicelib.services.provider_documents")

bp = Blueprint(__name__)

DOCUMENT_UPLOAD = Obj({
    "kind": Enum(list(provider_rules.DOCUMENT_KINDS)),
    "filename": Str(1, 200, example="营业执照.pdf"),
    "content_type": Enum(list(provider_rules.DOCUMENT_TYPES)),
    "size": Int(minimum=1, maximum=provider_rules.DOCUMENT_MAX_BYTES, description="bytes, exactly"),
}, name="DocumentUploadRequest")


@route(bp, "/providers/me/documents", "POST", auth=USER, body=DOCUMENT_UPLOAD, status=201,
       response=answers.DOCUMENT_TICKET, tag="providers")
def request_document_upload(req):
    """Add a qualification document to the caller's application: its upload form."""
    b = req.body
    return documents.request_document_upload(req.caller, kind=b["kind"], filename=b["filename"],
                                             content_type=b["content_type"], size=b["size"],
                                             now=req.now)


@route(bp, "/admin/providers/{provider_id}/documents/{document_id}", "GET", auth=OPERATOR,
       response=answers.DOCUMENT_DOWNLOAD, tag="admin")
def download_document(req):
    """A short download link for an applicant's document (operators reviewing)."""
    return documents.document_download(req.params["provider_id"], req.params["document_id"])
