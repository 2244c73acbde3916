"""Fixtures of the attack tests."""
from datetime import timedelta

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import clock
from chalicelib.local import engines
from tests.attack.authz_support import World
from tests.attack.faults import Faults
from tests.support import ApiClient, create_moto_tables


@pytest.fixture(scope="module")
def world():
    """A moto world shared by one test module (see the module docstring for why)."""
    from app import app

    clock.reset()
    with mock_aws():
        engines.point_at(None, None, "test-")
        create_moto_tables()
        with Client(app, stage_name="local") as client:
            yield World(ApiClient(client))
    clock.reset()


# --- fixtures of the fault-injection tests ------------------------------------------------------------------
@pytest.fixture
def moto_api(moto_aws, chalice_app):
    with Client(chalice_app, stage_name="local") as client:
        yield ApiClient(client)


@pytest.fixture
def faults(monkeypatch):
    return Faults().install(monkeypatch)


@pytest.fixture
def wall(monkeypatch):
    """Real time, movable: an idempotency claim left in progress expires after 60 s of it."""
    skew = [timedelta(0)]
    real = clock.real_now
    monkeypatch.setattr(clock, "real_now", lambda: real() + skew[0])

    def pass_seconds(seconds):
        skew[0] += timedelta(seconds=seconds)

    return pass_seconds


@pytest.fixture(autouse=True)
def many_unpaid_orders(monkeypatch):
    """The attack worlds place many orders for one buyer as their setup; the per-buyer
    limit (MAX_UNPAID_ORDERS, issue 21) has its own tests (tests/api/
    test_capacity_counts_money.py, tests/integration/test_money_seams_races.py)."""
    from chalicelib import settings

    monkeypatch.setenv("MAX_UNPAID_ORDERS", "1000")
    settings.reload()
    yield
    monkeypatch.delenv("MAX_UNPAID_ORDERS")
    settings.reload()
