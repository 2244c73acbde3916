"""Fixtures of the attack tests."""
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import clock
from chalicelib.local import engines
from chalicelib.storage import schema
from tests.attack.authz_support import World
from tests.support import ApiClient


@pytest.fixture(scope="module")
def world():
    """A moto world shared by one test module (see the module docstring for why)."""
    from app import app

    clock.reset()
    with mock_aws():
        engines.point_at(None, None, "test-")
        schema.create_missing_tables()
        schema.create_bucket_if_missing()
        with Client(app, stage_name="local") as client:
            yield World(ApiClient(client))
    clock.reset()

