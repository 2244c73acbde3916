"""Idempotency as Stripe does it: a request refused on its input before the API began to
act on it stores nothing under its Idempotency-Key, so the same key with a corrected body
is a new request; answers of requests that ran (2xx, refusals decided by state) replay."""
from chalicelib import clock
from chalicelib.services import idempotency
from chalicelib.storage.idempotency import IdempotencyRecord
from tests.api.orders_support import BUYER, PROVIDER, due_in, listed_service, place


def order_body(service_id, **changes):
    return {"service_id": service_id, "requirement": "双十一首页，红色主题",
            "due_at": due_in(), **changes}


def test_a_typo_refused_as_invalid_leaves_the_key_free_for_the_corrected_order(api):
    service_id = listed_service()
    key = {"Idempotency-Key": "order-form-1"}
    body = order_body(service_id)
    typo = api.post("/orders", {**body, "due_at": "下周五"}, user=BUYER, headers=key)
    assert typo.status == 422 and typo.error_code == "VALIDATION_FAILED"
    fixed = api.post("/orders", body, user=BUYER, headers=key)
    assert fixed.status == 201 and "idempotent-replayed" not in fixed.headers
    again = api.post("/orders", body, user=BUYER, headers=key)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json["id"] == fixed.json["id"]


def test_bad_json_stores_nothing_under_the_key(api):
    key = {"Idempotency-Key": "order-form-2"}
    broken = api.call("POST", "/orders", raw=b'{"service_id": ', user=BUYER, headers=key)
    assert broken.status == 400
    assert IdempotencyRecord.count(f"{BUYER}#order-form-2") == 0


def test_an_unknown_service_is_not_the_keys_answer(api):
    key = {"Idempotency-Key": "order-form-3"}
    unknown = api.post("/orders", order_body("svc_nope"), user=BUYER, headers=key)
    assert unknown.status == 404 and unknown.error_code == "NOT_FOUND"
    assert IdempotencyRecord.count(f"{BUYER}#order-form-3") == 0
    placed = api.post("/orders", order_body(listed_service()), user=BUYER, headers=key)
    assert placed.status == 201 and "idempotent-replayed" not in placed.headers


def test_a_refusal_decided_by_the_orders_state_is_replayed(api):
    oid = place(api, listed_service()).json["id"]
    key = {"Idempotency-Key": "accept-early"}
    early = api.post(f"/orders/{oid}/accept", user=PROVIDER, headers=key)
    assert early.status == 409
    replay = api.post(f"/orders/{oid}/accept", user=PROVIDER, headers=key)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert (replay.status, replay.json) == (early.status, early.json)


def test_a_retaken_window_is_released_not_forgotten(aws):
    """A retry of a request whose first try crashed may meet an input refusal; the first
    try may have acted, so the key keeps its window and its body."""
    now = clock.now().timestamp()
    first = idempotency.claim("buyer-1", "k", "print-a", now)
    idempotency.release(first)
    retry = idempotency.claim("buyer-1", "k", "print-a", now + 5)
    idempotency.forget(retry)
    again = idempotency.claim("buyer-1", "k", "print-a", now + 6)
    assert again.request_key == first.request_key
    fresh = idempotency.claim("buyer-1", "other", "print-a", now)
    idempotency.forget(fresh)
    assert IdempotencyRecord.count("buyer-1#other") == 0
