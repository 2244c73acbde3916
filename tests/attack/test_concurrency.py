"""Races with real threads on DynamoDB Local, beyond tests/integration's pairs: many
approvals of one order, three parties at a deadline, one Idempotency-Key sent from
several threads at once, many contenders for the tenth listing slot, and two escrow
releases draining the same instructions.

Requests go through `routing.serve` (authentication, Idempotency-Key, error mapping)
with a request object per thread: chalice.test.Client keeps the current request in one
global and cannot carry concurrent requests. After each race: exactly one winner, every
loser a 409 in the contract's shape, money moved once, the ledger clean.
"""
import importlib
import json
import pkgutil
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

from chalicelib import api as api_package
from chalicelib import clock
from chalicelib.api import errors
from chalicelib.api.auth import issue_token
from chalicelib.api.routing import ROUTES, serve
from chalicelib.domain.errors import DomainError
from chalicelib.jobs import release_escrow, sweep_timeouts
from chalicelib.services import instructions, ledger_check, orders, payouts, stuck
from chalicelib.storage.catalog import ProviderModel, ServiceModel, UserModel
from chalicelib.storage.ledger import InstructionModel, PostingModel
from chalicelib.storage.orders import OrderEventModel, OrderModel
from tests.integration.races_support import AS_OPERATOR
from tests.api.catalog_support import approved_provider, draft, listed, with_logo
from tests.api.orders_support import listed_service
from tests.integration.races_support import AS_BUYER, AS_PROVIDER, in_review, new_order
from tests.jobs.sweep_support import deadline
from tests.support import Reply, race

ROUNDS = 4


# --- requests without chalice.test.Client ---------------------------------------
def _views() -> dict:
    found = {}
    for info in pkgutil.iter_modules(api_package.__path__):
        module = importlib.import_module(f"chalicelib.api.{info.name}")
        for spec in ROUTES:
            fn = getattr(module, spec.name, None)
            if callable(fn) and getattr(fn, "__module__", None) == module.__name__:
                found[(spec.method, spec.path)] = (spec, fn)
    return found


def http(method: str, template: str, body=None, *, user: str, operator=False, key=None,
         **params) -> Reply:
    """One request through the app's serving code, safe to run from several threads."""
    spec, fn = _views()[(method, template)]
    headers = {"authorization": f"Bearer {issue_token(user, ['operator'] if operator else [])}",
               "content-type": "application/json"}
    if key:
        headers["idempotency-key"] = key
    request = SimpleNamespace(headers=headers, query_params={}, raw_body=json.dumps(
        body or {}, ensure_ascii=False).encode())
    answer = serve(request, spec, fn, params)
    text = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
    return Reply(SimpleNamespace(status_code=answer.status_code, headers=answer.headers or {},
                                 body=text.encode()))


def as_reply(result) -> Reply:
    """A service-layer result as the API would answer it (a refusal in its error shape)."""
    if isinstance(result, DomainError):
        answer = errors.from_domain(result)
        return Reply(SimpleNamespace(status_code=answer.status_code, headers=answer.headers,
                                     body=answer.body.encode()))
    assert not isinstance(result, Exception), result  # anything else would be a 500
    return Reply(SimpleNamespace(status_code=200, headers={}, body=b"{}"))


def assert_losers_are_409s(replies, codes):
    for reply in replies:
        assert reply.status == 409, reply
        assert set(reply.json["error"]) == {"code", "message", "details"}, reply
        assert reply.error_code in codes, reply


def assert_ledger_clean():
    report = ledger_check.check_ledger()
    assert (report["violations"], report["sum"], report["pending_instructions"]) == ([], 0, [])


def postings_of(order_id):
    return sorted((p.kind, int(p.amount)) for p in PostingModel.scan(
        PostingModel.order_id == order_id, consistent_read=True))


# --- many approvals of one order -------------------------------------------------
def test_eight_approvals_of_one_order_release_one_step_once(ddb):
    oid = new_order(milestones=[{"title": "首页", "amount": 40000, "release": "on_approval"},
                                {"title": "详情页", "amount": 50000, "release": "on_approval"}])
    in_review(oid)
    replies = race(*[lambda: http("POST", "/orders/{order_id}/approve", user=AS_BUYER.user_id,
                                  order_id=oid)] * 8)
    wins = [r for r in replies if r.status == 200]
    assert len(wins) == 1, replies
    assert_losers_are_409s([r for r in replies if r.status != 200],
                           {"INVALID_TRANSITION", "CONFLICT"})
    assert wins[0].json["escrow"] == {"funded": 90000, "released": 40000, "refunded": 0,
                                      "held": 50000}
    assert postings_of(oid) == [("fund", 90000), ("release", 40000)]
    assert payouts.balance(AS_PROVIDER)["available"] == 40000
    events = [e.type for e in OrderEventModel.query(oid, consistent_read=True)]
    assert events.count("approved") == 1, events
    assert_ledger_clean()


# --- three parties at a deadline ---------------------------------------------------
def test_pay_cancel_and_the_payment_sweep_at_the_deadline(ddb):
    outcomes = Counter()
    for _ in range(ROUNDS):
        oid = new_order(price=12000)
        due = deadline(oid, "pay_by")
        clock.set_now(due + timedelta(seconds=1))
        results = race(
            lambda oid=oid, due=due: orders.pay_order(AS_BUYER, oid, due - timedelta(seconds=1)),
            lambda oid=oid, due=due: orders.cancel_order(AS_BUYER, oid,
                                                         due - timedelta(seconds=1)),
            sweep_timeouts.run)
        release_escrow.run()
        users = [as_reply(r) for r in results[:2]]
        order = orders.present(OrderModel.get(oid, consistent_read=True), AS_OPERATOR)
        events = [e.type for e in OrderEventModel.query(oid, consistent_read=True)]
        assert len(events) == 2, events  # placed + exactly one move
        winner = events[1]
        outcomes[winner] += 1
        user_wins = [r for r in users if r.status == 200]
        assert len(user_wins) == (0 if winner == "payment_window_closed" else 1), users
        # A cancel that arrives after the payment landed meets a paid order, which the
        # buyer may no longer cancel on their own: that is a clean refusal too.
        assert_losers_are_409s([r for r in users if r.status != 200],
                               {"INVALID_TRANSITION", "CONFLICT", "CANCEL_NOT_ALLOWED"})
        if winner == "paid":
            assert order["status"] == "awaiting_provider"
            assert order["escrow"]["held"] == 12000
        else:
            assert order["status"] == "cancelled"
            # A charge that lost the race is booked to the closed order and refunded at
            # once (money for an order closed meanwhile): nothing stays held.
            escrow = order["escrow"]
            assert escrow["funded"] == escrow["refunded"] and escrow["held"] == 0, escrow
            charges = [c for c in ddb.calls if c[0] == "charge" and c[1] == oid]
            voids = [c for c in ddb.calls if c[0] == "refund" and c[3] == f"{oid}:refund:void"]
            assert len({c[3] for c in voids}) == len({c[3] for c in charges}), ddb.calls
        assert_ledger_clean()
    assert sum(outcomes.values()) == ROUNDS


def test_accept_reject_cancel_and_the_expiry_sweep_at_the_deadline(ddb):
    outcomes = Counter()
    for _ in range(ROUNDS):
        oid = new_order(price=30000)
        orders.pay_order(AS_BUYER, oid, clock.now())
        due = deadline(oid, "accept_by")
        clock.set_now(due + timedelta(seconds=1))
        before = due - timedelta(seconds=1)
        results = race(
            lambda oid=oid, before=before: orders.accept_order(AS_PROVIDER, oid, before),
            lambda oid=oid, before=before: orders.reject_order(AS_PROVIDER, oid, "档期已满",
                                                               before),
            lambda oid=oid, before=before: orders.cancel_order(AS_BUYER, oid, before),
            sweep_timeouts.run)
        release_escrow.run()
        accept, reject, cancel = (as_reply(r) for r in results[:3])
        # The buyer may not cancel a paid order the provider has not taken on.
        assert_losers_are_409s([cancel], {"CANCEL_NOT_ALLOWED", "INVALID_TRANSITION", "CONFLICT"})
        events = [e.type for e in OrderEventModel.query(oid, consistent_read=True)]
        assert len(events) == 3, events  # placed, paid + exactly one move
        winner = events[2]
        outcomes[winner] += 1
        user_wins = [r for r in (accept, reject) if r.status == 200]
        assert len(user_wins) == (0 if winner == "expired" else 1), (accept, reject)
        assert_losers_are_409s([r for r in (accept, reject) if r.status != 200],
                               {"INVALID_TRANSITION", "CONFLICT"})
        order = orders.present(OrderModel.get(oid, consistent_read=True), AS_OPERATOR)
        refunded = 0 if winner == "accepted" else 30000
        assert order["escrow"] == {"funded": 30000, "released": 0, "refunded": refunded,
                                   "held": 30000 - refunded}, (winner, order["escrow"])
        refunds = {c[3] for c in ddb.calls if c[0] == "refund" and c[3].startswith(oid)}
        assert len(refunds) == (0 if winner == "accepted" else 1), refunds
        assert_ledger_clean()
    assert sum(outcomes.values()) == ROUNDS


# --- one Idempotency-Key from several threads ------------------------------------
def assert_one_execution(replies, status):
    """One ran; the others replayed its answer or were told it is still running."""
    ran = [r for r in replies if r.status == status and "idempotent-replayed" not in r.headers]
    assert len(ran) == 1, replies
    for reply in replies:
        if reply is ran[0]:
            continue
        if reply.status == status:
            assert reply.headers["idempotent-replayed"] == "true", reply
            assert reply.json == ran[0].json, reply
        else:
            assert_losers_are_409s([reply], {"IDEMPOTENCY_IN_PROGRESS"})
    return ran[0].json


def test_one_key_paying_from_six_threads_charges_once(ddb):
    for n in range(ROUNDS):
        oid = new_order(price=20000 + n)
        replies = race(*[lambda oid=oid: http("POST", "/orders/{order_id}/pay",
                                              user=AS_BUYER.user_id, key=f"pay-{oid}",
                                              order_id=oid)] * 6)
        paid = assert_one_execution(replies, 200)
        assert paid["status"] == "awaiting_provider" and paid["escrow"]["held"] == 20000 + n
        assert len([c for c in ddb.calls if c[0] == "charge" and c[1] == oid]) == 1
        assert postings_of(oid) == [("fund", 20000 + n)]
    assert_ledger_clean()


def test_one_key_placing_from_six_threads_makes_one_order(ddb):
    service_id = listed_service(price=30000)
    for n in range(ROUNDS):
        buyer = f"buyer-idem-{n}"
        body = {"service_id": service_id, "requirement": "双十一首页装修，红色主题",
                "due_at": clock.to_iso(clock.now() + timedelta(days=10))}
        replies = race(*[lambda body=body, buyer=buyer: http("POST", "/orders", body,
                                                             user=buyer, key="place-once")] * 6)
        placed = assert_one_execution(replies, 201)
        mine = list(OrderModel.by_buyer.query(buyer))
        assert [o.id for o in mine] == [placed["id"]]
        # Counted once among the buyer's unpaid orders (an unpaid order takes no
        # capacity slot since issue 21: the slot is the payment's).
        assert UserModel.get(buyer, consistent_read=True).unpaid_orders == 1
    assert ServiceModel.get(service_id, consistent_read=True).open_orders == 0


# --- the tenth listing slot ------------------------------------------------------------
def test_five_services_racing_for_the_tenth_slot_and_a_double_click(api, ddb):
    provider = "provider-1"
    approved_provider(api, user=provider)
    for i in range(8):
        listed(api, user=provider, n=i)
    twice = draft(api, user=provider, n=8)
    with_logo(api, twice["id"], user=provider)
    # The ninth service listed by a double click: listed once, counted once.
    replies = race(*[lambda: http("POST", "/services/{service_id}/list", user=provider,
                                  service_id=twice["id"])] * 2)
    assert sorted(r.status for r in replies) == [200, 409], replies
    assert_losers_are_409s([r for r in replies if r.status == 409], {"INVALID_STATE", "CONFLICT"})
    assert ProviderModel.get(provider, consistent_read=True).listed_count == 9

    contenders = []
    for n in range(20, 25):
        service = draft(api, user=provider, n=n)
        with_logo(api, service["id"], user=provider)
        contenders.append(service["id"])
    replies = race(*[lambda sid=sid: http("POST", "/services/{service_id}/list", user=provider,
                                          service_id=sid) for sid in contenders])
    assert [r.status for r in replies].count(200) == 1, replies
    assert_losers_are_409s([r for r in replies if r.status != 200],
                           {"LISTING_LIMIT_REACHED", "CONFLICT"})
    assert ProviderModel.get(provider, consistent_read=True).listed_count == 10
    statuses = Counter(ServiceModel.get(s, consistent_read=True).status for s in contenders)
    assert statuses == {"listed": 1, "draft": 4}


# --- two escrow drivers on the same instructions -------------------------------------
def test_two_release_runs_drain_the_same_instructions_once(ddb, monkeypatch):
    """Refunds left pending are driven once by concurrent sweeps; the releases were paid
    in their approvals' own transactions and leave the sweeps nothing to do."""
    monkeypatch.setattr(instructions, "execute_quietly", lambda written, now: set())
    released, refunded = [], []
    for n in range(3):
        oid = new_order(price=40000 + n)
        in_review(oid)
        orders.approve_order(AS_BUYER, oid, clock.now())
        released.append(oid)
        oid = new_order(price=50000 + n)
        orders.pay_order(AS_BUYER, oid, clock.now())
        orders.reject_order(AS_PROVIDER, oid, "档期已满", clock.now())
        refunded.append(oid)
    pending = [i for i in InstructionModel.scan(consistent_read=True) if i.status == "pending"]
    assert sorted(i.kind for i in pending) == ["refund"] * 3
    for _ in range(ROUNDS):
        results = race(release_escrow.run, release_escrow.run)
        assert not any(isinstance(r, Exception) for r in results), results
    assert release_escrow.run()["found"] == 0
    for n, oid in enumerate(released):
        assert postings_of(oid) == [("fund", 40000 + n), ("release", 40000 + n)]
    for n, oid in enumerate(refunded):
        assert postings_of(oid) == [("fund", 50000 + n), ("refund", 50000 + n)]
    assert payouts.balance(AS_PROVIDER)["available"] == sum(40000 + n for n in range(3))
    # The gateway may have been asked twice; it refunds once per instruction.
    refunds = {k: v[2] for k, v in ddb.refunds.items() if ":refund:" in k}
    assert sorted(refunds.values()) == [50000, 50001, 50002]
    assert stuck.list_stuck(limit=100, start_key=None)[0] == []
    assert_ledger_clean()
