"""Shared steps for message tests: a file uploaded for a message the way a browser
would, with the presigned POST's key."""
from chalicelib import settings
from chalicelib.storage.files import s3_client
from tests.api.orders_support import BUYER


def attach(api, oid, data=b"logo reference v1", user=BUYER, filename="参考logo.png",
           content_type="image/png", **kw):
    """Ask for an upload and put the bytes where the presigned POST would (an order's,
    or a contract's when `oid` is one)."""
    kind = "contracts" if oid.startswith("ctr_") else "orders"
    ticket = api.post(f"/{kind}/{oid}/attachments",
                      {"filename": filename, "content_type": content_type, "size": len(data)},
                      user=user, **kw)
    assert ticket.status == 200, ticket
    s3_client().put_object(Bucket=settings.get().bucket, Key=ticket.json["upload"]["fields"]["key"],
                           Body=data, ContentType=content_type)
    return ticket.json["file_id"]
