"""Read state: marking by id or all, the unread list, and an unread count kept by a
counter that is exact however often and however concurrently notices are marked."""
import pytest

from chalicelib import clock
from chalicelib.services import notifications
from chalicelib.services.notifications import notify
from chalicelib.storage.notifications import NotificationModel, UnreadCounterModel
from tests.support import race

BUYER, OTHER = "buyer-1", "buyer-2"


def send(user, text, kind="order_paid"):
    clock.advance(60)
    return notify(user, kind, text=text, order_id="ord_1", now=clock.now())["id"]


def count(api, user=BUYER) -> int:
    reply = api.get("/me/notifications/unread-count", user=user)
    assert reply.status == 200, reply
    return reply.json["count"]


def unread_texts(api, user=BUYER) -> list[str]:
    reply = api.get("/me/notifications?unread=true", user=user)
    assert reply.status == 200, reply
    return [n["text"] for n in reply.json["items"]]


def mark(api, body, user=BUYER):
    return api.post("/me/notifications/read", body, user=user)


def test_each_notice_raises_the_count_and_marking_lowers_it(api):
    ids = [send(BUYER, f"通知 {n}") for n in range(3)]
    send(OTHER, "别人的通知")
    assert count(api) == 3 and count(api, OTHER) == 1
    reply = mark(api, {"ids": [ids[0], ids[2]]})
    assert reply.status == 200 and reply.json["marked"] == 2 and reply.json["unread"] == 1
    assert count(api) == 1 and count(api, OTHER) == 1
    assert unread_texts(api) == ["通知 1"]
    inbox = api.get("/me/notifications", user=BUYER).json["items"]
    assert [(n["text"], n["read"]) for n in inbox] == [
        ("通知 2", True), ("通知 1", False), ("通知 0", True)]


def test_the_count_is_read_from_the_counter_not_counted(api):
    send(BUYER, "通知")
    UnreadCounterModel(BUYER).update(actions=[UnreadCounterModel.unread.set(7)])
    assert count(api) == 7


def test_marking_twice_counts_once(api):
    ids = [send(BUYER, f"通知 {n}") for n in range(2)]
    assert mark(api, {"ids": [ids[0]]}).json["marked"] == 1
    again = mark(api, {"ids": ids})
    assert again.json == {"marked": 1, "unread": 0, "more": False}
    assert mark(api, {"ids": ids}).json["marked"] == 0
    assert count(api) == 0 and unread_texts(api) == []


def test_overlapping_marks_count_each_notice_once(api):
    # What two overlapping requests do, in the order a race can take: the second batch
    # holds notices the first already flipped, and only the rest lower the counter.
    for n in range(4):
        send(BUYER, f"通知 {n}")
    sks = [n.sk for n in NotificationModel.query(BUYER)]
    assert notifications._mark(BUYER, sks[:3]) == 3
    assert notifications._mark(BUYER, sks) == 1
    assert notifications._mark(BUYER, sks) == 0
    assert count(api) == 0
    assert [n.read for n in NotificationModel.query(BUYER)] == [True] * 4


def test_concurrent_marks_of_the_same_notices_count_each_once(api, aws):
    if aws == "moto":
        pytest.skip("moto's transactions are not atomic across threads; DynamoDB Local's are")
    ids = [send(BUYER, f"通知 {n}") for n in range(4)]
    caller = type("Caller", (), {"user_id": BUYER})()
    results = race(*[lambda: notifications.mark_read(caller, ids) for _ in range(3)],
                   lambda: notifications.mark_all_read(caller))
    marked = []
    for result in results:
        if isinstance(result, Exception):
            # A transaction conflict that outlasted the retries answers 409: nothing moved.
            assert type(result).__name__ == "Conflict", result
        else:
            marked.append(result["marked"])
    assert sum(marked) == 4
    assert count(api) == 0
    assert UnreadCounterModel.get(BUYER, consistent_read=True).unread == 0


def test_another_users_ids_mark_nothing(api):
    mine = send(OTHER, "别人的通知")
    send(BUYER, "我的通知")
    reply = mark(api, {"ids": [mine, "ntf_nonsense", "ntf_" + "9" * 20 + "a" * 16]})
    assert reply.status == 200 and reply.json["marked"] == 0 and reply.json["unread"] == 1
    assert count(api, OTHER) == 1
    assert api.get("/me/notifications", user=OTHER).json["items"][0]["read"] is False


def test_mark_all_marks_every_unread_notice(api):
    ids = [send(BUYER, f"通知 {n}") for n in range(5)]
    mark(api, {"ids": [ids[1]]})
    reply = mark(api, {"all": True})
    assert reply.status == 200 and reply.json == {"marked": 4, "unread": 0, "more": False}
    assert count(api) == 0 and unread_texts(api) == []
    assert mark(api, {"all": True}).json["marked"] == 0


def test_mark_all_stops_at_its_budget_and_says_so(api, monkeypatch):
    monkeypatch.setattr(notifications, "MARK_ALL_PAGES", 1)
    monkeypatch.setattr(notifications, "_MARK_BATCH", 2)
    for n in range(5):
        send(BUYER, f"通知 {n}")
    first = mark(api, {"all": True}).json
    assert first == {"marked": 2, "unread": 3, "more": True}
    assert count(api) == 3 and len(unread_texts(api)) == 3


def test_the_counter_never_goes_below_zero(api):
    # A notice whose counter was lost (e.g. written before counters existed).
    ids = [send(BUYER, f"通知 {n}") for n in range(2)]
    UnreadCounterModel(BUYER).update(actions=[UnreadCounterModel.unread.set(1)])
    reply = mark(api, {"ids": ids})
    assert reply.json["marked"] == 2 and reply.json["unread"] == 0
    assert UnreadCounterModel.get(BUYER, consistent_read=True).unread == 0
    assert unread_texts(api) == []


def test_unread_lists_newest_first_and_pages(api):
    for n in range(3):
        send(BUYER, f"通知 {n}")
    first = api.get("/me/notifications?unread=true&limit=2", user=BUYER).json
    assert [n["text"] for n in first["items"]] == ["通知 2", "通知 1"]
    rest = api.get(f"/me/notifications?unread=true&limit=2&cursor={first['next_cursor']}",
                   user=BUYER).json
    assert [n["text"] for n in rest["items"]] == ["通知 0"]
    # A cursor of the unread list is not one of the full list.
    other = api.get(f"/me/notifications?limit=2&cursor={first['next_cursor']}", user=BUYER)
    assert other.status == 400


def test_the_unread_list_reads_only_unread_items(api):
    ids = [send(BUYER, f"通知 {n}") for n in range(6)]
    mark(api, {"ids": ids[:5]})
    result = NotificationModel.unread.query(BUYER)
    assert [n.id for n in result] == [ids[5]]
    assert result.page_iter.total_scanned_count == 1  # the read ones left the index


def test_bad_mark_requests_are_refused(api):
    send(BUYER, "通知")
    for body in ({}, {"ids": []}, {"ids": ["x"] * 101}, {"all": False},
                 {"ids": ["ntf_1"], "all": True}, {"ids": "ntf_1"}, {"other": 1}):
        reply = mark(api, body)
        assert reply.status == 422 and reply.error_code == "VALIDATION_FAILED", (body, reply)
    assert mark(api, None, user=None).status == 401
    assert count(api) == 1


def test_messages_and_review_replies_raise_the_counter_in_their_transaction(api):
    from chalicelib.storage.base import transaction

    with transaction() as tx:
        notifications.write_in(tx, [
            notifications.notification_put(BUYER, "message", text="一", now=clock.now()),
            notifications.notification_put(BUYER, "message", text="二", now=clock.now()),
            notifications.notification_put(OTHER, "message", text="三", now=clock.now())])
    assert count(api) == 2 and count(api, OTHER) == 1
