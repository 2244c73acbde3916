"""Qualification documents (资质材料): files an applicant uploads with its provider
application (licence, ID card …), listed on its own profile and in the operators'
application list, and downloadable by operators only while they review.

The list lives on the provider's item (at most 10, appended with a size condition), so
reading a profile or a page of applications costs nothing more; the bytes go straight
to S3 through a presigned POST bound to one key, type and exact size.
"""
from datetime import datetime

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size as size_of

from chalicelib import clock, ids, settings
from chalicelib.domain import providers as provider_rules
from chalicelib.domain.errors import InvalidState, NotFound
from chalicelib.services.deliverables import safe_filename
from chalicelib.storage.base import condition_failed
from chalicelib.storage.catalog import ProviderModel, get_provider
from chalicelib.storage.files import download_url, s3_client

KINDS = provider_rules.DOCUMENT_KINDS
CONTENT_TYPES = provider_rules.DOCUMENT_TYPES
MAX_BYTES = provider_rules.DOCUMENT_MAX_BYTES
MAX_DOCUMENTS = 10
UPLOAD_EXPIRES_SECONDS = 900
DOWNLOAD_EXPIRES_SECONDS = 300


def request_document_upload(caller, *, kind: str, filename: str, content_type: str,
                            size: int, now: datetime) -> dict:
    """Add a document to the caller's application and answer its upload form."""
    document_id = ids.new_id("doc")
    name = safe_filename(filename)
    key = f"providers/{caller.user_id}/documents/{document_id}/{name}"
    entry = {"id": document_id, "kind": kind, "filename": name, "content_type": content_type,
             "size": size, "key": key, "uploaded_at": clock.to_key(now)}
    P = ProviderModel
    try:
        # Only an existing application takes documents, and only up to ten of them.
        P(caller.user_id).update(
            actions=[P.documents.set((P.documents | []).append([entry]))],
            condition=P.user_id.exists() & (P.documents.does_not_exist()
                                            | (size_of(P.documents) < MAX_DOCUMENTS)))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        if get_provider(caller.user_id) is None:
            raise InvalidState("apply first: documents belong to an application",
                               status="none")
        raise InvalidState("an application holds at most 10 documents", limit=MAX_DOCUMENTS)
    upload = s3_client().generate_presigned_post(
        settings.get().bucket, key, Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
        ExpiresIn=UPLOAD_EXPIRES_SECONDS)
    return {"document_id": document_id,
            "upload": {"url": upload["url"], "fields": upload["fields"]},
            "expires_in": UPLOAD_EXPIRES_SECONDS}


def document_download(provider_id: str, document_id: str) -> dict:
    """A short presigned download of one applicant's document (operators' route)."""
    profile = get_provider(provider_id)
    found = next((d for d in _entries(profile) if d["id"] == document_id), None)
    if found is None:
        raise NotFound("no such document")
    return {"url": download_url(found["key"], filename=found["filename"],
                                content_type=found["content_type"],
                                expires=DOWNLOAD_EXPIRES_SECONDS),
            "filename": found["filename"], "expires_in": DOWNLOAD_EXPIRES_SECONDS}


def documents_of(profile: ProviderModel | None) -> list[dict]:
    """What the applicant and operators see of the documents (never the S3 key)."""
    return [{"id": d["id"], "kind": d["kind"], "filename": d["filename"],
             "content_type": d["content_type"], "size": int(d["size"]),
             "uploaded_at": clock.key_to_iso(d.get("uploaded_at"))}
            for d in _entries(profile)]


def _entries(profile: ProviderModel | None) -> list[dict]:
    if profile is None:
        return []
    return [d.as_dict() if hasattr(d, "as_dict") else dict(d)
            for d in profile.documents or []]
