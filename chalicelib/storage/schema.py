"""Creating the tables, indexes and bucket the app needs, from the models themselves.

The same definitions feed the deployed CloudFormation template, so tested and deployed
schemas cannot drift.
"""
import json

from chalicelib import settings as settings_module
from chalicelib.storage import base
from chalicelib.storage.files import s3_client


def all_models():
    # Importing the model modules registers every table.
    from chalicelib.storage import models  # noqa: F401 - every model registers its table

    # By table, not by registration: which modules an import loads first changes with
    # what the app loads lazily (chalicelib/lazy.py), and the template must not.
    return sorted(base.REGISTRY, key=lambda model: model.TABLE_SUFFIX)


def create_missing_tables(*, add_indexes: bool = False) -> list[str]:
    """Create the tables that do not exist; with `add_indexes` (a local stack keeping its
    data), also the indexes declared since an existing table was made."""
    created = []
    for model in all_models():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            created.append(model.Meta.table_name)
        elif add_indexes:
            created += add_missing_indexes(model)
            created += add_missing_stream(model)
    return created


def add_missing_stream(model) -> list[str]:
    """Turn on the stream a model declares (Meta.stream_view_type) on a table made
    before it did, as CloudFormation does for a deployed one. Only what is written from
    then on is in the stream: the caller backfills what it derives from it."""
    view = getattr(model.Meta, "stream_view_type", None)
    if not view:
        return []
    described = model._get_connection().describe_table()
    if (described.get("StreamSpecification") or {}).get("StreamEnabled"):
        return []
    base.connection().dispatch("UpdateTable", {
        "TableName": model.Meta.table_name,
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}})
    return [f"{model.Meta.table_name}.stream"]


def add_missing_indexes(model) -> list[str]:
    """Give a table made before an index was declared that index (as CloudFormation does
    for a deployed one), so a local stack's data survives e.g. market_index.by_best."""
    described = model._get_connection().describe_table()
    have = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
    schema = model._get_schema()
    added = []
    for index in schema["global_secondary_indexes"]:
        if index["index_name"] in have:
            continue
        base.connection().dispatch("UpdateTable", {
            "TableName": model.Meta.table_name,
            "AttributeDefinitions": schema["attribute_definitions"],
            "GlobalSecondaryIndexUpdates": [{"Create": {
                "IndexName": index["index_name"], "KeySchema": index["key_schema"],
                "Projection": index["projection"]}}]})
        added.append(f"{model.Meta.table_name}.{index['index_name']}")
    return added


def create_bucket_if_missing() -> None:
    cfg = settings_module.get()
    client = s3_client()
    names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if cfg.bucket not in names:
        if cfg.region == "us-east-1":
            client.create_bucket(Bucket=cfg.bucket)
        else:
            client.create_bucket(Bucket=cfg.bucket,
                                 CreateBucketConfiguration={"LocationConstraint": cfg.region})
    # As the deployed bucket (deploy/template.py): an overwrite or delete keeps the old
    # version. Set on every start, so a bucket made before this is versioned too.
    client.put_bucket_versioning(Bucket=cfg.bucket,
                                 VersioningConfiguration={"Status": "Enabled"})
    if cfg.s3_endpoint:
        # The local S3 server stands in for the CDN too: logos (public content) are read
        # straight from it by their stable URL, and nothing else is. Deployed, the bucket
        # policy in the packaged template lets only the CloudFront distribution read logos/.
        client.put_bucket_policy(Bucket=cfg.bucket, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Sid": "LogosArePublic", "Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{cfg.bucket}/logos/*"}]}))
