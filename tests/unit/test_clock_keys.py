"""Stored timestamps (clock.to_key) read back as the same instant, in UTC, whichever
way clock.from_key parses them; what is not a timestamp is still refused."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock


@pytest.mark.parametrize("moment", [
    datetime(2026, 12, 7, 7, 0, 0, 123456, tzinfo=timezone.utc),
    datetime(2026, 12, 7, 7, 0, 0, tzinfo=timezone.utc),  # no microseconds: still six digits
    datetime(2027, 1, 15, 18, 0, 0, 1, tzinfo=timezone(timedelta(hours=8))),
])
def test_a_key_reads_back_as_the_same_instant_in_utc(moment):
    key = clock.to_key(moment)
    assert len(key) == 27
    back = clock.from_key(key)
    assert back == moment and back.utcoffset() == timedelta(0)
    assert clock.key_to_iso(key) == clock.to_iso(moment)


def test_other_shapes_parse_as_before_and_garbage_is_refused():
    assert clock.from_key("2026-12-07T07:00:00.5Z") == datetime(2026, 12, 7, 7, 0, 0, 500000,
                                                                tzinfo=timezone.utc)
    for bad in ("2026-13-07T07:00:00.123456Z", "2026-12-07 07:00:00.123456Z",
                "2026-12-07T07:00:00.123456+", "not a time"):
        with pytest.raises(ValueError):
            clock.from_key(bad)
