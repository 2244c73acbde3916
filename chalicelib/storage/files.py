"""S3 access for logos and deliverables. The client (and boto3 itself) is created
lazily: cold starts should not pay for it on routes that never touch S3."""
from chalicelib import settings as settings_module

_client = None


def s3_client():
    global _client
    if _client is None:
        import boto3
        from botocore.config import Config

        cfg = settings_module.get()
        _client = boto3.client(
            "s3", region_name=cfg.region, endpoint_url=cfg.s3_endpoint,
            config=Config(signature_version="s3v4", connect_timeout=5, read_timeout=10,
                          retries={"max_attempts": 3, "mode": "standard"},
                          s3={"addressing_style": "path"}),
        )
    return _client


def reset_client() -> None:
    global _client
    _client = None
