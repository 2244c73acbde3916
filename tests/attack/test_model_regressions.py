"""Plain regression tests for what the model test (test_model_stateful.py) found or
needed to learn, written as explicit API calls.

No disagreement between the API and the contract was found in the app; these pin the
two edges the model had to be taught: a window's end is exclusive for the actor and
inclusive for the sweep, and an operators-only door is checked before an
Idempotency-Key is claimed."""
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, escrow,
                                      ledger_clean, paid_order)
from tests.jobs.sweep_support import clock_at, status, sweep


def test_at_the_end_of_the_accept_window_accepting_is_refused_and_the_sweep_expires(api):
    order_id = paid_order(api, price=50000)
    clock_at(order_id, "accept_by", -1)
    sweep(api)
    assert status(api, order_id) == "awaiting_provider"

    clock_at(order_id, "accept_by", 0)
    late = api.post(f"/orders/{order_id}/accept", user=PROVIDER)
    assert late.status == 409 and late.error_code == "INVALID_TRANSITION"
    sweep(api)
    assert status(api, order_id) == "expired"
    assert escrow(api, order_id) == {"funded": 50000, "released": 0, "refunded": 50000,
                                     "held": 0}
    ledger_clean(api)


def test_a_non_operator_retrying_a_resolve_under_one_key_is_refused_every_time(api):
    order_id = accepted_order(api, price=60000)
    assert api.post(f"/orders/{order_id}/dispute", {"reason": "交付与需求不符"},
                    user=BUYER).status == 200
    key = {"Idempotency-Key": "resolve-1"}
    for body in ({"refund": 60000, "release": 0, "fault": "none"}, {"refund": 0, "release": 60000, "fault": "none"}):
        reply = api.post(f"/admin/orders/{order_id}/resolve", body, user=BUYER, headers=key)
        assert reply.status == 403 and reply.error_code == "FORBIDDEN"
        assert "idempotent-replayed" not in reply.headers
    # The key was never claimed by the buyer's refused tries; the operator's own key works.
    resolved = api.post(f"/admin/orders/{order_id}/resolve", {"refund": 60000, "release": 0, "fault": "none"},
                        user=OPERATOR, operator=True, headers=key)
    assert resolved.status == 200 and resolved.json["status"] == "resolved"
    ledger_clean(api)
