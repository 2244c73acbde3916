"""S3 access for logos, deliverables and pinned files. The client is created lazily, so
cold starts do not pay for it on routes that never touch S3, and straight from botocore
with the loader the DynamoDB sessions share (boto3 would re-read botocore's endpoint
data: about 40 ms more on the first request that shows a logo).

Pinning: an upload form (presigned POST) names one key and stays valid for minutes, but
within them it can be posted again, so the bytes under an upload key are the uploader's
to change. What a party hands over (a delivery, an attachment) is first copied to a
pinned key: under `pinned/`, which no upload form ever names, new for every pin (so two
attempts at once never write the same key), and never written again. Downloads of what
was handed over read the pinned key, whatever is uploaded later.
"""
from urllib.parse import quote

from chalicelib import ids
from chalicelib import settings as settings_module

PINNED_PREFIX = "pinned/"

_client = None


def s3_client():
    global _client
    if _client is None:
        from botocore.config import Config

        from chalicelib.storage.base import botocore_session

        cfg = settings_module.get()
        _client = botocore_session().create_client(
            "s3", region_name=cfg.region, endpoint_url=cfg.s3_endpoint,
            config=Config(signature_version="s3v4", connect_timeout=5, read_timeout=10,
                          retries={"max_attempts": 3, "mode": "standard"},
                          s3={"addressing_style": "path"}),
        )
    return _client


def reset_client() -> None:
    global _client
    _client = None


def pinned_key(scope: str, file_id: str) -> str:
    """A fresh key for a pinned copy of `file_id` (scope: e.g. the order id)."""
    return f"{PINNED_PREFIX}{scope}/{file_id}/{ids.new_id('pin')}"


def pin(source_key: str, target_key: str) -> int | None:
    """Copy what is at `source_key` now to `target_key`; the size of the copy, or None
    when nothing was uploaded there. The copy carries no tags (the abandoned-upload rule
    must never match it) and keeps the upload's Content-Type."""
    from botocore.exceptions import ClientError

    bucket = settings_module.get().bucket
    client = s3_client()
    try:
        client.copy_object(Bucket=bucket, Key=target_key,
                           CopySource={"Bucket": bucket, "Key": source_key},
                           TaggingDirective="REPLACE")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    # The size of the copy itself, not of the source: the source may change meanwhile.
    return int(client.head_object(Bucket=bucket, Key=target_key).get("ContentLength", 0))


def download_url(key: str, *, filename: str, content_type: str | None, expires: int) -> str:
    """A presigned GET that saves the object as `filename`."""
    params = {"Bucket": settings_module.get().bucket, "Key": key,
              "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}"}
    if content_type:
        params["ResponseContentType"] = content_type
    return s3_client().generate_presigned_url("get_object", ExpiresIn=expires, Params=params)
