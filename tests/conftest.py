"""Shared fixtures.

Every test that takes `api` (or `aws`) runs twice: against moto in-process (fast) and
against Amazon's DynamoDB Local with moto's S3 server (catches what moto lets slip:
transaction conflicts and validation). `-m "not dynamodb_local"` skips the second.
"""
import functools
import os
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Read at import time by the app: must be set before it is imported.
os.environ["STAGE"] = "local"
os.environ["TABLE_PREFIX"] = "test-"
os.environ["BUCKET_NAME"] = "market-test-files"
os.environ.pop("DYNAMODB_ENDPOINT", None)
os.environ.pop("S3_ENDPOINT", None)
os.environ.pop("JWT_SECRET", None)
# The local stage writes notification mail under LOCAL_DATA_DIR: never the real one.
os.environ["LOCAL_DATA_DIR"] = tempfile.mkdtemp(prefix="market-test-data-")
# Due work is write-sharded (storage.shards, 16 by default): each sweep page and gauge
# reads every shard, ten times the queries (and the time) of one key on moto. Two shards
# keep every sharded path, and the unsharded keys being retired, in play;
# tests/jobs/test_sharded_sweeps.py, tests/unit/test_shards.py and the scale model run
# the default counts.
os.environ["DUE_SHARDS"] = "2"

from chalicelib.local import engines  # noqa: E402

engines.dummy_aws_credentials()

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib import clock  # noqa: E402
from chalicelib.local.stream_reader import services_reader  # noqa: E402
from chalicelib.storage import schema  # noqa: E402
from tests.support import (  # noqa: E402
    ApiClient,
    create_moto_tables,
    fresh_sandbox,
    quick_moto_transactions,
)

quick_moto_transactions()

# Fixtures shared by tests in several folders (the Alipay stand-in in-process).
pytest_plugins = ["tests.api.alipay_support"]


# Files whose tests check answers, validation and one-item writes (no transaction, no
# race): their DynamoDB Local variants find little that moto misses, so they run in
# `make test-long` (marked slow), keeping `make test` within its time budget. Money,
# orders, contracts, after-sale, listing, the market's stream and every race keep both.
DYNAMODB_LOCAL_IN_LONG_RUN_ONLY = frozenset({
    "test_channels.py", "test_cors.py", "test_system.py", "test_providers.py",
    "test_notification_reads.py", "test_users.py", "test_market.py", "test_services.py",
})


def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("aws") == "dynamodb_local":
            item.add_marker(pytest.mark.dynamodb_local)
            if item.path.name in DYNAMODB_LOCAL_IN_LONG_RUN_ONLY:
                item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def local_engines():
    """DynamoDB Local (in memory) and moto's S3 server, once per test session."""
    ddb_port, s3_port = engines.free_port(), engines.free_port()
    # Tied to this process: a test run killed by a timeout must not leave java running.
    ddb = engines.start_dynamodb_local(ddb_port, die_with_parent=True)
    s3 = engines.start_s3_server(s3_port)
    yield {"dynamodb": f"http://127.0.0.1:{ddb_port}", "s3": f"http://127.0.0.1:{s3_port}"}
    s3.stop()
    engines.stop(ddb)


_point_at = engines.point_at


@pytest.fixture(params=["moto", "dynamodb_local"])
def aws(request):
    """Fresh, empty tables and bucket on one of the two engines."""
    clock.reset()
    if request.param == "moto":
        with mock_aws():
            _point_at(None, None, "test-")
            create_moto_tables()
            yield "moto"
    else:
        endpoints = request.getfixturevalue("local_engines")
        _point_at(endpoints["dynamodb"], endpoints["s3"], request.getfixturevalue("local_prefix"))
        _empty_tables(endpoints["dynamodb"])
        # The services stream keeps the earlier tests' records (and the emptying's):
        # this test's market index starts from its own.
        services_reader().read()
        # An earlier moto test's mock_aws() reset also empties the in-process S3 server.
        schema.create_bucket_if_missing()
        yield "dynamodb_local"
    clock.reset()


@pytest.fixture(scope="session")
def local_prefix(local_engines):
    """The session's tables on DynamoDB Local, created once.

    Creating and deleting every table for each test cost 10-20 s per test on a busy
    machine; emptying them (below) costs a scan of a few items.
    """
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    _point_at(local_engines["dynamodb"], local_engines["s3"], prefix)
    schema.create_missing_tables()
    schema.create_bucket_if_missing()
    return prefix


@functools.lru_cache(maxsize=4)
def _dynamodb_client(endpoint: str):
    """One client per DynamoDB Local: making a boto3 client costs more than emptying the tables."""
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


def _empty_tables(endpoint: str) -> None:
    """Delete every item of the session's tables, so each test starts on empty ones."""
    client = _dynamodb_client(endpoint) if endpoint else boto3.client("dynamodb", region_name="us-east-1")
    for model in schema.all_models():
        name = model.Meta.table_name
        # The key names from the model, not a DescribeTable per table and test.
        keys = [k["AttributeName"] for k in model._get_schema()["key_schema"]]
        names = {f"#k{i}": key for i, key in enumerate(keys)}
        pages = client.get_paginator("scan").paginate(
            TableName=name, ConsistentRead=True, ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names)
        for page in pages:
            items = page["Items"]
            for start in range(0, len(items), 25):
                requests = {name: [{"DeleteRequest": {"Key": item}}
                                   for item in items[start:start + 25]]}
                while requests:
                    requests = client.batch_write_item(RequestItems=requests)["UnprocessedItems"]


@pytest.fixture
def moto_aws():
    """moto only: for tests that need many items or no second engine."""
    clock.reset()
    with mock_aws():
        _point_at(None, None, "test-")
        create_moto_tables()
        yield "moto"
    clock.reset()


@pytest.fixture
def chalice_app():
    from app import app

    return app


@pytest.fixture
def api(aws, chalice_app):
    """An API client (chalice.test.Client) on fresh tables, on both engines."""
    with Client(chalice_app, stage_name="local") as client:
        yield ApiClient(client)


@pytest.fixture
def ddb(aws):
    """DynamoDB Local only (races need real conflicts), with a fresh payment sandbox."""
    if aws == "moto":
        pytest.skip("moto serialises everything and never raises TransactionConflict")

    return fresh_sandbox()
