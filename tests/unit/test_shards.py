"""The shard arithmetic of due work (storage.shards), without AWS: which key an item is
written under, and which keys a reader reads while a shard count changes."""
import pytest

from chalicelib import settings
from chalicelib.storage import shards


@pytest.fixture
def layout(monkeypatch):
    def use(now: int, previous: int) -> None:
        monkeypatch.setenv("DUE_SHARDS", str(now))
        monkeypatch.setenv("DUE_SHARDS_PREVIOUS", str(previous))
        settings.reload()

    yield use
    monkeypatch.undo()
    settings.reload()


def test_the_shard_is_a_crc32_of_the_id_the_same_in_every_process():
    # zlib.crc32(b"ord_1") == 1062559179: a fixed number, where hash() changes per process.
    assert shards.shard_of("ord_1", 16) == 1062559179 % 16 == 11
    assert shards.key("PENDING", "ord_1", 16) == "PENDING#11"
    assert shards.key("DUE", "ord_1", 1) == "DUE"  # one shard: the key written before sharding


def test_ids_spread_over_every_shard():
    counts = [0] * 16
    for n in range(1600):
        counts[shards.shard_of(f"ord_{n:05d}", 16)] += 1
    assert min(counts) > 60 and max(counts) < 140  # about 100 each


def test_by_default_writers_use_16_shards_and_readers_also_read_the_unsharded_key(layout):
    layout(16, 1)
    assert settings.get().due_shards == 16
    assert shards.read_keys("PENDING") == ["PENDING"] + [f"PENDING#{i:02d}" for i in range(16)]
    assert shards.key("PENDING", "ord_1") == "PENDING#11"


@pytest.mark.parametrize("now, previous", [(16, 8), (8, 16), (16, 16), (4, 32)])
def test_readers_read_every_key_of_both_layouts(layout, now, previous):
    layout(now, previous)
    keys = shards.read_keys("PENDING")
    for item in (f"ins_{n}" for n in range(200)):
        assert shards.key("PENDING", item, now) in keys
        assert shards.key("PENDING", item, previous) in keys
        assert set(shards.keys_of("PENDING", item)) == {shards.key("PENDING", item, now),
                                                          shards.key("PENDING", item, previous)}
    assert len(keys) == len(set(keys)) == max(now, previous)


def test_the_outbox_and_the_timers_have_more_shards_than_the_rest(layout):
    layout(16, 16)
    assert len(shards.read_keys("OUTBOX")) == 64 and len(shards.read_keys("DUE")) == 32
    assert len(shards.read_keys("PENDING")) == 16
    assert {shards.key("OUTBOX", f"ntf_{n}") for n in range(2000)} == set(shards.read_keys("OUTBOX"))
    layout(16, 1)  # sharding off stays one bare key whatever the weight
    assert shards.read_keys("OUTBOX")[0] == "OUTBOX" and shards.key("OUTBOX", "ntf_1", 1) == "OUTBOX"


def test_one_shard_reads_one_key(layout):
    layout(1, 1)
    assert shards.read_keys("OUTBOX") == ["OUTBOX"]
    assert shards.key("OUTBOX", "ntf_1") == "OUTBOX"


@pytest.mark.parametrize("raw", ["0", "65", "-1", "sixteen", "1.5"])
def test_a_shard_count_that_would_hide_due_work_refuses_to_start(monkeypatch, raw):
    monkeypatch.setenv("DUE_SHARDS", raw)
    with pytest.raises(settings.ConfigurationError):
        settings.load()


def test_sixteen_shards_unless_told(monkeypatch):
    monkeypatch.delenv("DUE_SHARDS", raising=False)
    monkeypatch.delenv("DUE_SHARDS_PREVIOUS", raising=False)
    assert (settings.load().due_shards, settings.load().due_shards_previous) == (16, 1)


def test_each_run_begins_at_the_next_shard():
    from datetime import datetime, timedelta, timezone

    t = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)
    assert shards.turn(t + timedelta(minutes=1)) == shards.turn(t) + 1
    assert shards.turn(t + timedelta(seconds=59)) == shards.turn(t)
