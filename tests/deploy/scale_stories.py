"""The stories the scale model counts: one order and one contract period, end to end
through the API and the scheduled jobs, as the market runs them at scale."""
from chalicelib import clock
from tests.api import contracts_support as contracts
from tests.api.orders_support import BUYER, PROVIDER, deliver, listed_service, place
from tests.api.review_support import provider

DAY = 24 * 3600


def _jobs(api, *names: str) -> None:
    for name in names:
        api.invoke(name)


def market() -> str:
    """What a story needs before it starts (not counted): a provider with a listed service."""
    provider(PROVIDER)
    return listed_service()


def order_story(api, service_id: str) -> str:
    """Placed, paid, accepted, delivered, approved, reviewed by both sides, its release
    and notices driven by the sweeps, and its review window closed by the timer sweep."""
    oid = place(api, service_id).json["id"]
    assert api.post(f"/orders/{oid}/pay", user=BUYER).status == 200
    assert api.post(f"/orders/{oid}/accept", user=PROVIDER).status == 200
    reply = api.post(f"/orders/{oid}/messages", {"body": "首页初稿今晚发您"}, user=PROVIDER)
    assert reply.status == 201, reply
    assert deliver(api, oid).status == 200
    assert api.post(f"/orders/{oid}/approve", user=BUYER).json["status"] == "completed"
    for user in (BUYER, PROVIDER):
        reply = api.post(f"/orders/{oid}/reviews", {"rating": "good", "comment": "合作愉快"},
                         user=user)
        assert reply.status == 201, reply
    _jobs(api, "release_escrow", "deliver_notifications", "settle_payments")
    clock.advance(16 * DAY)
    _jobs(api, "sweep_timeouts", "deliver_notifications")
    return oid


def contract_story(api) -> str:
    """A contract drafted, signed, its deposit paid, gone live, and one statement opened
    by the sweep, submitted, confirmed and paid, with the jobs that follow."""
    contract = contracts.live(api, "2027-01-16")
    cid = contract["id"]
    contracts.at_beijing("2027-01-23", 0)
    contracts.sweep(api)
    [stmt] = contracts.statements(api, cid)
    sid = stmt["id"]
    base = f"/contracts/{cid}/statements/{sid}"
    assert api.post(f"{base}/submit", {"sales": 0}, user=PROVIDER).status == 200
    assert api.post(f"{base}/confirm", user=BUYER).status == 200
    assert api.post(f"{base}/pay", user=BUYER).status == 200
    _jobs(api, "release_escrow", "deliver_notifications", "settle_payments")
    return cid
