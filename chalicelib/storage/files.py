"""S3 access for logos and deliverables. The client is created lazily, so cold starts
do not pay for it on routes that never touch S3, and straight from botocore with the
loader the DynamoDB sessions share (boto3 would re-read botocore's endpoint data: about
40 ms more on the first request that shows a logo)."""
from chalicelib import settings as settings_module

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
