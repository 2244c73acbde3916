"""Filling big tables fast: clone items the app itself wrote, under fresh ids.

The app writes one real order (or one listed service's market entries) through its own
API; these helpers copy those items thousands of times with the id replaced everywhere
it appears (keys, index keys, sort strings), straight into the table with BatchWriteItem.
Working on the raw items keeps the bench independent of how each model is spelled.
"""
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

from chalicelib import settings


def client():
    cfg = settings.get()
    return boto3.client("dynamodb", region_name=cfg.region, endpoint_url=cfg.dynamodb_endpoint,
                        config=Config(retries={"max_attempts": 10, "mode": "standard"},
                                      max_pool_connections=8))


def table_name(suffix: str) -> str:
    return settings.get().table_prefix + suffix


def items_mentioning(table: str, needle: str) -> list[dict]:
    """Every item of a (small, bench-only) table with `needle` in any string."""
    found, kwargs = [], {"TableName": table}
    ddb = client()
    while True:
        page = ddb.scan(**kwargs)
        found += [item for item in page["Items"] if needle in repr(item)]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def clone(value, old: str, new: str):
    """A copy of a raw DynamoDB item with every occurrence of `old` replaced."""
    if isinstance(value, dict):
        return {k: clone(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v, old, new) for v in value]
    if isinstance(value, str):
        return value.replace(old, new)
    return value


def put_all(table: str, items, workers: int = 4) -> int:
    """BatchWriteItem in chunks of 25 from a few threads (DynamoDB Local serves requests
    in parallel), retrying what DynamoDB leaves unprocessed."""
    ddb = client()

    def flush(batch):
        requests = {table: [{"PutRequest": {"Item": item}} for item in batch]}
        while requests:
            answer = ddb.batch_write_item(RequestItems=requests)
            requests = answer.get("UnprocessedItems") or {}
        return len(batch)

    def chunks():
        chunk = []
        for item in items:
            chunk.append(item)
            if len(chunk) == 25:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(flush, chunks()))
