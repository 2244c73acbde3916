"""Qualification documents (资质材料): uploaded with the application, seen by the
applicant and operators only, downloaded by operators while they review."""

from chalicelib import settings
from chalicelib.storage.files import s3_client
from tests.api.catalog_support import APPLICATION, OPERATOR, PROVIDER, PROVIDER_2

LICENCE = b"%PDF-1.4 business licence scan"


def add_document(api, user=PROVIDER, data=LICENCE, **changes):
    body = {"kind": "business_license", "filename": "营业执照.pdf",
            "content_type": "application/pdf", "size": len(data), **changes}
    reply = api.post("/providers/me/documents", body, user=user)
    if reply.status == 201:
        s3_client().put_object(Bucket=settings.get().bucket,
                               Key=reply.json["upload"]["fields"]["key"], Body=data,
                               ContentType=body["content_type"])
    return reply


def test_documents_go_with_the_application_and_operators_download_them(api):
    assert add_document(api).error_code == "INVALID_STATE"  # apply first
    assert api.post("/providers/me/application", APPLICATION, user=PROVIDER).status == 201
    added = add_document(api)
    assert added.status == 201, added
    doc_id = added.json["document_id"]
    mine = api.get("/providers/me", user=PROVIDER).json["documents"]
    assert mine == [{"id": doc_id, "kind": "business_license", "filename": "营业执照.pdf",
                     "content_type": "application/pdf", "size": len(LICENCE),
                     "uploaded_at": mine[0]["uploaded_at"]}]
    pending = api.get("/admin/providers?status=pending", user=OPERATOR, operator=True).json
    assert [d["id"] for d in pending["items"][0]["documents"]] == [doc_id]
    link = api.get(f"/admin/providers/{PROVIDER}/documents/{doc_id}", user=OPERATOR,
                   operator=True)
    assert link.status == 200, link
    assert "Signature" in link.json["url"] or "X-Amz-Signature" in link.json["url"]
    # Nobody else reads them: not the applicant through the operators' route, not the
    # public profile.
    assert api.get(f"/admin/providers/{PROVIDER}/documents/{doc_id}",
                   user=PROVIDER).status in (403, 404)
    assert api.get(f"/admin/providers/{PROVIDER}/documents/doc_nothing", user=OPERATOR,
                   operator=True).error_code == "NOT_FOUND"
    assert api.post(f"/admin/providers/{PROVIDER}/approve", user=OPERATOR,
                    operator=True).status == 200
    public = api.get(f"/providers/{PROVIDER}").json
    assert "documents" not in public and "contact" not in public


def test_documents_are_checked_and_bounded(api):
    assert api.post("/providers/me/application", APPLICATION, user=PROVIDER_2).status == 201
    assert add_document(api, PROVIDER_2, content_type="text/html").error_code == \
        "VALIDATION_FAILED"
    assert add_document(api, PROVIDER_2, kind="selfie").error_code == "VALIDATION_FAILED"
    big = api.post("/providers/me/documents", {
        "kind": "other", "filename": "a.pdf", "content_type": "application/pdf",
        "size": 5 * 1024 * 1024 + 1}, user=PROVIDER_2)
    assert big.error_code == "VALIDATION_FAILED"
    for _ in range(10):
        assert add_document(api, PROVIDER_2, kind="other").status == 201
    assert add_document(api, PROVIDER_2).error_code == "INVALID_STATE"
    assert len(api.get("/providers/me", user=PROVIDER_2).json["documents"]) == 10
