"""An Idempotency-Key's 24 h window, by the app's clock: inside it the first answer is
replayed; after it the key starts a new request and never answers with an older
resource, even while DynamoDB's TTL has not yet deleted the old record."""
import pytest

from chalicelib import clock
from chalicelib.domain.errors import IdempotencyInProgress, IdempotencyKeyReused
from chalicelib.services import idempotency
from chalicelib.storage.idempotency import IdempotencyRecord
from tests.api.orders_support import BUYER, listed_service, place
from tests.support import fresh_sandbox

DAY = 24 * 3600


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def travel(api, seconds):
    assert api.post("/_local/clock", {"advance_seconds": seconds}).status == 200


def order_body(service_id):
    return {"service_id": service_id, "requirement": "双十一首页，红色主题",
            "due_at": "2030-01-01T00:00:00+00:00"}


def test_a_key_replays_within_24_hours_and_places_a_new_order_after(api):
    service_id = listed_service()
    body = order_body(service_id)
    key = {"Idempotency-Key": "order-key-1"}
    first = api.post("/orders", body, user=BUYER, headers=key)
    assert first.status == 201
    travel(api, DAY - 60)
    replay = api.post("/orders", body, user=BUYER, headers=key)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json["id"] == first.json["id"]

    travel(api, 61)
    # The old record is still stored (TTL is lazy): expiry is decided by the app's clock.
    assert IdempotencyRecord.get(f"{BUYER}#order-key-1").state == "complete"
    fresh = api.post("/orders", body, user=BUYER, headers=key)
    assert fresh.status == 201 and "idempotent-replayed" not in fresh.headers
    assert fresh.json["id"] != first.json["id"]
    assert fresh.json["created_at"] > first.json["created_at"]
    mine = api.get("/orders?as=buyer", user=BUYER).json["items"]
    assert {o["id"] for o in mine} == {first.json["id"], fresh.json["id"]}
    # The new window replays the new order, not the old one.
    again = api.post("/orders", body, user=BUYER, headers=key)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json["id"] == fresh.json["id"]


def test_a_key_reused_after_its_window_for_another_service_orders_that_service(api):
    first_service, other_service = listed_service(), listed_service(title="客服外包")
    key = {"Idempotency-Key": "order-key-2"}
    first = api.post("/orders", order_body(first_service), user=BUYER, headers=key)
    refused = api.post("/orders", order_body(other_service), user=BUYER, headers=key)
    assert refused.error_code == "IDEMPOTENCY_KEY_REUSED"
    travel(api, DAY + 1)
    other = api.post("/orders", order_body(other_service), user=BUYER, headers=key)
    assert other.status == 201 and other.json["service_id"] == other_service
    assert other.json["id"] != first.json["id"]


def test_an_action_repeated_after_the_window_is_answered_afresh(api, sandbox):
    oid = place(api, listed_service()).json["id"]
    key = {"Idempotency-Key": "pay-key-1"}
    assert api.post(f"/orders/{oid}/pay", user=BUYER, headers=key).status == 200
    travel(api, DAY + 1)
    # Within the window this would be the replayed 200; now it is a new request for an
    # order already paid: refused, not the old answer, and nothing charged again.
    again = api.post(f"/orders/{oid}/pay", user=BUYER, headers=key)
    assert again.status == 409 and again.error_code == "INVALID_TRANSITION"
    assert "idempotent-replayed" not in again.headers
    assert [c[0] for c in sandbox.calls] == ["charge"]


def test_a_released_claim_is_retried_in_the_same_window(aws):
    """A request that failed (5xx) releases its claim: the retry runs again as the same
    request, so it recognises what the first try may have written; a different body is
    still the key reused."""
    now = clock.now().timestamp()
    first = idempotency.claim("buyer-1", "k", "print-a", now)
    assert first.replay is None
    idempotency.release(first)
    with pytest.raises(IdempotencyKeyReused):
        idempotency.claim("buyer-1", "k", "print-b", now + 5)
    retry = idempotency.claim("buyer-1", "k", "print-a", now + 5)
    assert retry.request_key == first.request_key
    with pytest.raises(IdempotencyInProgress):
        idempotency.claim("buyer-1", "k", "print-a", now + 6)
    idempotency.complete(retry, idempotency.StoredResponse(200, "{}", {}))
    assert idempotency.claim("buyer-1", "k", "print-a", now + 7).replay.status == 200
    later = idempotency.claim("buyer-1", "k", "print-b", now + DAY)
    assert later.replay is None and later.request_key != first.request_key
