"""Who may do what in an inquiry, and what a reply time is."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import inquiries as rules
from chalicelib.domain.errors import Forbidden, NotFound

OPENED = datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc)
PARTIES = {"buyer_id": "buyer-1", "provider_id": "provider-1"}


def test_the_two_parties_and_nobody_else():
    assert rules.role_in("buyer-1", **PARTIES) == rules.BUYER
    assert rules.role_in("provider-1", **PARTIES) == rules.PROVIDER
    with pytest.raises(NotFound):
        rules.role_in("buyer-2", **PARTIES)
    assert rules.other_party(rules.BUYER, **PARTIES) == "provider-1"
    assert rules.other_party(rules.PROVIDER, **PARTIES) == "buyer-1"


def test_only_the_provider_offers_and_never_asks_itself():
    rules.check_may_offer(rules.PROVIDER)
    with pytest.raises(Forbidden):
        rules.check_may_offer(rules.BUYER)
    with pytest.raises(Forbidden):
        rules.check_may_open("provider-1", "provider-1")
    rules.check_may_open("buyer-1", "provider-1")


@pytest.mark.parametrize("after, seconds", [(None, None), (timedelta(0), 0),
                                            (timedelta(minutes=3, seconds=2), 182),
                                            (timedelta(days=2), 172800),
                                            (timedelta(seconds=-5), 0)])  # clocks disagree
def test_reply_seconds(after, seconds):
    assert rules.reply_seconds(OPENED, None if after is None else OPENED + after) == seconds
