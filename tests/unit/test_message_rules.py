"""Message rules without AWS: who writes on an order in which state, who is told, who
may fetch a file."""
import pytest

from chalicelib.domain import messages as rules
from chalicelib.domain import orders as life
from chalicelib.domain.errors import Forbidden, NotFound


@pytest.mark.parametrize("status", life.STATES)
def test_the_parties_write_in_every_state(status):
    rules.check_may_write(life.BUYER, status)
    rules.check_may_write(life.PROVIDER, status)


@pytest.mark.parametrize("status", life.STATES)
def test_an_operator_writes_only_on_a_dispute(status):
    if status in (life.DISPUTED, life.RESOLVED):
        rules.check_may_write(life.OPERATOR, status)
    else:
        with pytest.raises(Forbidden):
            rules.check_may_write(life.OPERATOR, status)


def test_the_jobs_have_no_voice():
    with pytest.raises(NotFound):
        rules.check_may_write(life.SYSTEM, life.DISPUTED)


def test_the_other_party_is_told_and_both_when_an_operator_writes():
    assert rules.recipients(life.BUYER, "b", "p") == ["p"]
    assert rules.recipients(life.PROVIDER, "b", "p") == ["b"]
    assert rules.recipients(life.OPERATOR, "b", "p") == ["b", "p"]


def test_an_unsent_file_is_its_uploaders_alone():
    assert rules.may_fetch_file(reader_id="b", uploader_id="b", sent=False)
    assert not rules.may_fetch_file(reader_id="p", uploader_id="b", sent=False)
    assert rules.may_fetch_file(reader_id="p", uploader_id="b", sent=True)
