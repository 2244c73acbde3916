"""`allowed_actions`: every order answer tells its caller what they may do to it now,
exactly what the API would accept, so that a client shows no button the API refuses."""
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      listed_service, paid_order, place)

AS_OPERATOR = {"user": OPERATOR, "operator": True}


def allowed(api, oid, **who):
    reply = api.get(f"/orders/{oid}", **who)
    assert reply.status == 200, reply
    return set(reply.json["allowed_actions"])


def test_an_unpaid_order_is_the_buyers_to_pay_or_cancel(api):
    oid = place(api, listed_service()).json["id"]
    assert allowed(api, oid, user=BUYER) == {"pay", "cancel"}
    assert allowed(api, oid, user=PROVIDER) == set()  # a fixed price: nothing to agree


def test_a_negotiable_price_is_paid_only_once_the_provider_agreed(api):
    oid = place(api, listed_service(pricing="negotiable")).json["id"]
    assert api.post(f"/orders/{oid}/price", {"amount": 42000}, user=BUYER).status == 200
    assert allowed(api, oid, user=BUYER) == {"price", "cancel"}  # no pay: not agreed yet
    assert allowed(api, oid, user=PROVIDER) == {"price"}
    agreed = api.post(f"/orders/{oid}/price", {"amount": 42000}, user=PROVIDER)
    assert set(agreed.json["allowed_actions"]) == {"price"}  # the provider's own answer
    assert allowed(api, oid, user=BUYER) == {"pay", "price", "cancel"}


def test_each_party_sees_its_own_moves_as_the_order_goes_on(api):
    oid = paid_order(api)
    assert allowed(api, oid, user=PROVIDER) == {"accept", "reject", "dispute", "propose"}
    assert allowed(api, oid, user=BUYER) == {"dispute", "propose"}
    accepted = api.post(f"/orders/{oid}/accept", user=PROVIDER)
    assert set(accepted.json["allowed_actions"]) == {"deliver", "cancel", "dispute", "propose"}
    # The buyer's late cancel waits for 15 days past the due date.
    assert allowed(api, oid, user=BUYER) == {"dispute", "propose"}
    assert deliver(api, oid).status == 200
    assert allowed(api, oid, user=BUYER) == {"approve", "request-revision", "dispute",
                                             "propose"}
    assert allowed(api, oid, user=PROVIDER) == {"dispute", "propose"}
    approved = api.post(f"/orders/{oid}/approve", user=BUYER)
    assert approved.json["status"] == "completed"
    assert set(approved.json["allowed_actions"]) == set()
    assert allowed(api, oid, user=PROVIDER) == set()


def test_one_open_proposal_takes_propose_away_from_both(api):
    oid = accepted_order(api)
    proposed = api.post(f"/orders/{oid}/proposals", {"kind": "extension",
                                                     "due_at": "2027-03-01T10:00:00+08:00"},
                        user=PROVIDER)
    assert proposed.status == 201, proposed
    assert "propose" not in allowed(api, oid, user=BUYER)
    assert "propose" not in allowed(api, oid, user=PROVIDER)


def test_a_disputed_order_is_the_operators_to_resolve(api):
    oid = accepted_order(api)
    api.post(f"/orders/{oid}/dispute", {"reason": "交付物与需求不符"}, user=BUYER)
    assert allowed(api, oid, **AS_OPERATOR) == {"resolve"}
    # The parties may still end it themselves: give evidence, settle with a cancel
    # proposal, and the opener may withdraw it.
    assert allowed(api, oid, user=BUYER) == {"evidence", "propose", "withdraw-dispute"}
    assert allowed(api, oid, user=PROVIDER) == {"evidence", "propose"}
    queued = api.get("/admin/orders?status=disputed", **AS_OPERATOR).json["items"]
    assert [set(o["allowed_actions"]) for o in queued if o["id"] == oid] == [{"resolve"}]
