"""Fixtures of the integration suites."""
import pytest

from chalicelib import settings


@pytest.fixture(autouse=True)
def many_unpaid_orders(monkeypatch):
    """These races place many orders for one buyer as their setup; the per-buyer limit
    (MAX_UNPAID_ORDERS) has its own race in test_money_seams_races, which sets it back."""
    monkeypatch.setenv("MAX_UNPAID_ORDERS", "1000")
    settings.reload()
    yield
    monkeypatch.delenv("MAX_UNPAID_ORDERS")
    settings.reload()
