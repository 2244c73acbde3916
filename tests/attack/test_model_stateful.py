"""A property-based model test of the order and money rules.

Hypothesis runs random sequences of API actions by random actors (often the wrong one)
against the app in-process (moto, chalice.test.Client) and the same actions against the
naive reference model in reference_model.py, written from the contract. After every step
the API must agree with the model: each answer's status and error code, every order
(status, escrow, steps, deadlines, flags), each user's balance and credit, each service's
status and open orders; and the ledger audit must be clean.

The app's clock is frozen (and moved only by the test), so window edges are exact.
Default: 40 examples of up to 30 steps (about 3 minutes here); MODEL_EXAMPLES=n sets the
number, and the `slow` variant (make test-long, -m slow) runs 150 of up to 50 steps.
Failures Hypothesis found became plain tests in test_model_regressions.py.
"""
import os
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from unittest import mock

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, rule,
                                 run_state_machine_as_test)

from chalicelib import clock
from chalicelib import payments
from chalicelib.domain import analytics as rules
from tests.analytics_support import recomputed_market, recomputed_provider
from tests.api.catalog_support import approved_provider, listed
from tests.api.orders_support import upload
from tests.attack import reference_model as rm
from tests.support import OPERATOR, ApiClient
from tests.support import empty_moto_tables, fresh_sandbox

BASE = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
BUYERS = ("buyer-1", "buyer-2")
PROVIDERS = ("provider-1", "provider-2")
STRANGER = "stranger-9"
USERS = BUYERS + PROVIDERS + (OPERATOR, STRANGER)
# Who places orders: buyers, and providers buying from each other (or from themselves: 403).
ORDERERS = BUYERS + PROVIDERS
# service key → (provider, catalog body number, changes). Short texts and no tags: the
# market's search entries are many small items, and moto copies every table on each
# transaction.
SERVICES = {
    "fixed": ("provider-1", 0, {"pricing": "fixed", "price": 50000, "capacity": 2,
                                "title": "店铺装修", "summary": "首页装修", "tags": []}),
    "negotiable": ("provider-1", 1, {"pricing": "negotiable", "price": 80000,
                                     "title": "logo设计", "summary": "原创logo", "tags": []}),
    "other": ("provider-2", 2, {"pricing": "fixed", "price": 30000,
                                "title": "客服外包", "summary": "夜间客服", "tags": []}),
}
MAX_ORDERS = 8
OUTCOMES = Counter()  # answers seen, printed after a run (pytest -s) to judge coverage
CLOCK_MOVES = [rm.HOUR, 3 * rm.DAY, 7 * rm.DAY, 15 * rm.DAY, 0, 1, 23 * rm.HOUR]
JOBS = [None, "sweep_timeouts", "release_escrow"]

ORDER = st.integers(min_value=0, max_value=MAX_ORDERS - 1)
# Half the time a party of the order (the right actor for most actions), else anybody.
WHO = st.one_of(st.sampled_from(["@buyer", "@provider"]), st.sampled_from(USERS))
RATING = st.sampled_from(sorted(rm.POINTS))
SPLIT = st.sampled_from(["half", "refund_all", "release_all", "too_much", "nothing"])
ACTIONS = ("pay", "accept", "reject", "deliver", "approve", "request_revision", "cancel",
           "dispute", "resolve", "review", "price", "evidence", "withdraw_dispute")
# What the right actor may do next in each state, the happy path first.
NEXT_MOVES = {
    "awaiting_payment": [("pay", "@buyer"), ("price", "@provider"), ("cancel", "@buyer"),
                         ("price", "@buyer")],
    "awaiting_provider": [("accept", "@provider"), ("reject", "@provider"),
                          ("dispute", "@buyer")],
    "in_progress": [("deliver", "@provider"), ("dispute", "@provider"),
                    ("cancel", "@buyer"), ("cancel", "@provider")],
    "in_review": [("approve", "@buyer"), ("request_revision", "@buyer"),
                  ("dispute", "@buyer"), ("cancel", "@buyer")],
    # The operator decides, or the parties end it themselves (issue 24).
    # Withdrawal first: the order then lives on with its timers restarted.
    "disputed": [("withdraw_dispute", "@opener"), ("resolve", OPERATOR),
                 ("settle", "@provider"), ("evidence", "@buyer"), ("evidence", "@provider")],
}
# What each deadline is about: the action whose answer changes when it passes.
EDGE_MOVES = {"awaiting_payment": ("pay", "@buyer"), "awaiting_provider": ("accept", "@provider"),
              "in_progress": ("cancel", "@buyer"), "in_review": ("request_revision", "@buyer"),
              "completed": ("review", "@buyer"), "disputed": ("evidence", "@provider")}


# Each kind of move with its arguments; repeated kinds are drawn more often, so that
# orders get deep into their life cycle within a short run.
MOVES = {
    "progress": st.tuples(st.just("progress"), ORDER, st.integers(min_value=0, max_value=7),
                          RATING, SPLIT, st.integers(min_value=1, max_value=3)),
    "act": st.tuples(st.just("act"), st.sampled_from(ACTIONS), ORDER, WHO, RATING, SPLIT),
    "place": st.tuples(st.just("place"), st.sampled_from(BUYERS + ORDERERS),
                       st.sampled_from(sorted(SERVICES)),
                       st.sampled_from(["none", "list", "other"]),
                       st.sampled_from(["none", "deposit", "two_steps", "deposit_three", "none",
                                        "deposit", "wrong_sum", "deposit_last",
                                        "only_deposit"]),
                       st.sampled_from([1, 3, 10])),
    "tick": st.tuples(st.just("tick"), st.sampled_from(CLOCK_MOVES), st.sampled_from(JOBS)),
    "catalog": st.tuples(st.just("catalog"), st.sampled_from(["delist", "list"]),
                         st.sampled_from(sorted(SERVICES)), st.sampled_from(USERS)),
    "replay": st.tuples(st.just("replay"), st.booleans()),
    "to_deadline": st.tuples(st.just("to_deadline"), ORDER, st.sampled_from([0, -1, 1]),
                             st.sampled_from(["edge", "sweep_timeouts", None]), RATING),
    # Providers are drawn more often: they are the ones with money to take out.
    # A cancel proposed while disputed and answered at once (accepted: settled).
    "settle": st.tuples(st.just("settle"), ORDER, WHO, WHO,
                        st.sampled_from(["accept", "accept", "decline"]), SPLIT),
    "payout": st.tuples(st.just("payout"),
                        st.sampled_from(["account", "account", "withdraw", "withdraw",
                                         "withdraw", "refuse", "pay"]),
                        st.sampled_from(PROVIDERS * 3 + USERS),
                        st.sampled_from([5, 10, 1000, 20000, 50000, 10**6, "all"])),
}
WEIGHTS = ["progress"] * 4 + ["act"] * 3 + ["place", "place", "tick", "to_deadline",
                                            "to_deadline", "catalog", "replay", "payout",
                                            "settle"]
MOVE = st.sampled_from(WEIGHTS).flatmap(MOVES.get)
MOVE_METHODS = {"progress": "progress", "act": "act", "place": "place_order", "tick": "tick",
                "catalog": "catalog", "replay": "replay", "to_deadline": "to_deadline",
                "payout": "payout", "settle": "settle"}


# 改价 draws its amount from the same strategy as a resolution's split: the current
# amount (a provider's confirmation), a little less or more, and two out of bounds.
PRICE_FOR_SPLIT = {"refund_all": lambda a: a, "half": lambda a: max(1, a - 1000),
                   "release_all": lambda a: a + 500, "too_much": lambda a: rm.MAX_AMOUNT + 1,
                   "nothing": lambda a: 0}


def split_amounts(held: int, split: str) -> tuple[int, int]:
    return {"refund_all": (held, 0), "release_all": (0, held),
            "half": (held // 2, held - held // 2), "too_much": (held, 1),
            "nothing": (0, 0)}[split]


class MarketMachine(RuleBasedStateMachine):
    api: ApiClient  # bound by the test function

    def __init__(self):
        super().__init__()
        empty_moto_tables()  # a fresh market per example
        fresh_sandbox()
        clock.reset()
        self.model = rm.Market(BASE, OPERATOR)
        for user in PROVIDERS:
            approved_provider(self.api, user)
        self.model.approved.update(PROVIDERS)
        self.refusing = False  # whether the gateway refuses transfers
        # provider-1 can be paid out from the start; provider-2 must set an account first.
        assert self.api.put("/providers/me/payout-account", {"account": "13800138000",
                            "name": "张小美"}, user=PROVIDERS[0]).status == 200
        self.model.set_payout_account(PROVIDERS[0])
        for key, (provider, n, changes) in SERVICES.items():
            service = listed(self.api, provider, n, **changes)
            self.model.add_service(rm.Service(key, provider, changes["pricing"],
                                              changes["price"], changes.get("capacity"),
                                              id=service["id"]))
        self.touched = []
        self.keys, self.last_write = 0, None
        self.redo, self.reused_key = None, None
        OUTCOMES["(examples)"] += 1

    # --- plumbing ------------------------------------------------------------------
    def call(self, method: str, path: str, actor: str, body=None):
        """A write by `actor` under a fresh Idempotency-Key, remembered for `replay`."""
        self.keys += 1
        key = self.reused_key or f"model-{self.keys}"
        body = body if body is not None else {}
        reply = self.api.call(method, path, body, user=actor, operator=actor == OPERATOR,
                              headers={"Idempotency-Key": key})
        self.last_write = (method, path, actor, body, key, reply, self.model.now, self.redo)
        return reply

    def replay(self, same_body: bool):
        """The last write again with its key: the first answer replayed, nothing changed;
        with another body, 422 IDEMPOTENCY_KEY_REUSED."""
        if self.last_write is None:
            return
        method, path, actor, body, key, first, at, redo = self.last_write
        if self.model.now >= at + rm.IDEMPOTENCY_WINDOW:
            # The key's 24 h are over: it starts a new request, which the model judges
            # as the same move made afresh (never the first answer replayed).
            if same_body and redo is not None:
                self.reused_key = key
                try:
                    redo()
                finally:
                    self.reused_key = None
                OUTCOMES["replay after the window"] += 1
                assert "idempotent-replayed" not in self.last_write[5].headers
            return
        reply = self.api.call(method, path, body if same_body else {**body, "x": 1},
                              user=actor, operator=actor == OPERATOR,
                              headers={"Idempotency-Key": key})
        # CHOICE: a caller refused at the door (an operators-only route) never claims
        # the key: each try is answered afresh.
        at_the_door = path.startswith("/admin/") and actor != OPERATOR
        # A refusal of the input (400/401/404/422 VALIDATION_FAILED) stores nothing under
        # the key, as with Stripe: the retry is answered afresh, another body runs anew.
        refused_input = first.status in (400, 401, 404) or (
            first.status == 422 and first.error_code == "VALIDATION_FAILED")
        if at_the_door:
            self.expect(reply, rm.FORBIDDEN, f"retry {path}")
        elif refused_input:
            OUTCOMES[f"input refused, retried → {reply.status}"] += 1
            assert "idempotent-replayed" not in reply.headers, reply.headers
            if same_body:
                assert (reply.status, reply.error_code) == (first.status, first.error_code)
            else:
                assert reply.status < 500 and reply.error_code != "IDEMPOTENCY_KEY_REUSED"
        elif same_body:
            OUTCOMES[f"replay → {reply.status}"] += 1
            assert (reply.status, reply.json) == (first.status, first.json), (first, reply)
            assert reply.headers.get("idempotent-replayed") == "true", reply.headers
        else:
            self.expect(reply, rm.Expect(422, "IDEMPOTENCY_KEY_REUSED"), f"reuse {path}")

    def expect(self, reply, expected: rm.Expect, what: str):
        OUTCOMES[f"{what.split()[0]} → {reply.status} {reply.error_code or ''}".strip()] += 1
        assert reply.status < 500, f"{what}: {reply}"
        assert (reply.status, reply.error_code) == (expected.status, expected.code), \
            f"{what}: model expects {expected}, API answered {reply}"
        if reply.status >= 400:
            error = reply.json["error"]
            assert set(error) >= {"code", "message", "details"}, reply

    def order(self, pick: int) -> rm.Order:
        return self.model.orders[pick % len(self.model.orders)]

    def resolve_actor(self, who: str, order: rm.Order) -> str:
        return {"@buyer": order.buyer, "@provider": order.provider,
                "@opener": order.dispute_by or order.buyer}.get(who, who)

    def check_order_answer(self, reply, order: rm.Order) -> None:
        if reply.status == 200:
            assert view_of(reply.json) == order.view(), reply.json
        self.touched.append(order)

    @rule(move=MOVE)
    def step(self, move):
        """One move: (kind, *arguments); see MOVES for the kinds and their weights."""
        kind, *args = move
        OUTCOMES[f"({kind})"] += 1
        if kind == "place" and len(self.model.orders) >= MAX_ORDERS:
            return  # keep moto's tables small
        getattr(self, MOVE_METHODS[kind])(*args)

    # --- catalog -------------------------------------------------------------------
    @initialize(buyer=st.sampled_from(BUYERS), key=st.sampled_from(sorted(SERVICES)),
                shape=st.sampled_from(["none", "deposit", "two_steps"]))
    def first_order(self, buyer, key, shape):
        """Every example starts with an order, so the order rules always have work."""
        self.place_order(buyer, key, "none", shape, 10)

    def place_order(self, buyer, key, price, shape, due_days):
        service = self.model.services[key]
        amount = {"list": service.price, "none": None, "other": service.price + 1000}[price]
        steps = rm.plan_steps(amount or service.price, shape)
        due_at = self.model.now + timedelta(days=due_days)
        body = {"service_id": service.id, "requirement": "双十一首页，红色主题，突出满减活动",
                "due_at": rm.iso(due_at)}
        if amount is not None:
            body["price"] = amount
        if steps is not None:
            body["milestones"] = steps
        expected, order = self.model.place(buyer, key, amount, steps, due_at)
        self.redo = lambda: self.place_order(buyer, key, price, shape, due_days) \
            if len(self.model.orders) < MAX_ORDERS else None
        reply = self.call("POST", "/orders", buyer, body)
        self.expect(reply, expected, f"place {key} by {buyer}")
        if order is not None:
            order.id = reply.json["id"]
            assert view_of(reply.json) == order.view(), reply.json
            self.touched.append(order)

    def catalog(self, op, key, who):
        """下架 or 上架 again, by anybody."""
        expected = getattr(self.model, op)(who, key)
        self.redo = lambda: self.catalog(op, key, who)
        reply = self.call("POST", f"/services/{self.model.services[key].id}/{op}", who)
        self.expect(reply, expected, f"{op} {key} by {who}")

    # --- payouts (提现) ----------------------------------------------------------------
    def payout(self, op, who, amount):
        """Set a payout account, withdraw, or make the gateway refuse (or pay) transfers
        and run the release_escrow job, which pays or refuses what is pending (as a tick
        with that job does too)."""
        if op == "account":
            reply = self.call("PUT", "/providers/me/payout-account", who,
                              {"account": f"{who}@example.com", "name": "张小美"})
            self.expect(reply, self.model.set_payout_account(who), f"payout-account by {who}")
        elif op == "withdraw":
            if amount == "all":
                amount = self.model.balance.get(who, 0)
            expected, withdrawal = self.model.withdraw(who, amount)
            reply = self.call("POST", "/me/withdrawals", who, {"amount": amount})
            self.expect(reply, expected, f"withdraw {amount} by {who}")
            if withdrawal is not None:
                withdrawal.id = reply.json["id"]
                assert (reply.json["amount"], reply.json["status"]) == (amount, "pending")
        else:
            # The gateway pays (or refuses) from now on, and the driver runs at once.
            self.refusing = op == "refuse"
            payments.gateway().refuse_transfers = "PAYEE_NOT_EXIST" if self.refusing else None
            self.tick(0, "release_escrow")

    # --- orders ----------------------------------------------------------------------
    def do(self, action: str, order: rm.Order, actor: str):
        """One order action by `actor`, through the API and the model; both must agree."""
        body = {"reject": {"reason": "档期已满"}, "request_revision": {"note": "主色调改成蓝色"},
                "dispute": {"reason": "交付与需求不符"},
                "evidence": {"statement": "沟通记录为证"}}.get(action, {})
        verb = "dispute/withdraw" if action == "withdraw_dispute" else action.replace("_", "-")
        path = f"/orders/{order.id}/{verb}"
        if action == "deliver":
            file_id = "file_nope"
            if order.status == "in_progress":  # a really uploaded file, by the provider
                file_id = upload(self.api, order.id, provider=order.provider)
            body = {"file_ids": [file_id], "note": "终稿已上传"}
        expected = getattr(self.model, action)(actor, order)
        self.redo = lambda: self.do(action, order, actor)
        reply = self.call("POST", path, actor, body)
        self.expect(reply, expected, f"{action} {order.id} by {actor}")
        self.check_order_answer(reply, order)

    def resolve(self, order: rm.Order, actor: str, split: str):
        refund, release = split_amounts(order.held, split)
        expected = self.model.resolve(actor, order, refund, release)
        self.redo = lambda: self.resolve(order, actor, split)
        reply = self.call("POST", f"/admin/orders/{order.id}/resolve", actor,
                          {"refund": refund, "release": release, "note": "平台裁决",
                           "fault": "none"})
        self.expect(reply, expected, f"resolve {order.id} by {actor} ({refund}/{release})")
        self.check_order_answer(reply, order)

    def settle(self, pick, proposer, answerer, verb, split):
        """A party proposes a cancel on a disputed order and somebody answers it; an
        answer refused leaves the offer to its author, who withdraws it."""
        disputed = [o for o in self.model.orders if o.status == "disputed"]
        if not disputed:
            # Disputes are rare on the happy path: open one (the buyer) to work on.
            work = [o for o in self.model.orders if o.status in rm.OPEN_WORK]
            if work:
                self.do("dispute", work[pick % len(work)], work[pick % len(work)].buyer)
            disputed = [o for o in self.model.orders if o.status == "disputed"]
        if disputed:
            order = disputed[pick % len(disputed)]
            self.settle_order(order, self.resolve_actor(proposer, order),
                              self.resolve_actor(answerer, order), verb, split)

    def settle_order(self, order: rm.Order, author: str, answerer: str, verb: str, split: str):
        self.redo = None  # two writes: a retry after the key's window is not one move
        refund = order.held + 1 if split == "too_much" else split_amounts(order.held, split)[0]
        expected = self.model.propose_settlement(author, order, refund)
        reply = self.call("POST", f"/orders/{order.id}/proposals", author,
                          {"kind": "cancel", "refund": refund})
        self.expect(reply, expected, f"settle {order.id} by {author} ({refund})")
        self.touched.append(order)
        if reply.status != 201:
            return
        path = f"/orders/{order.id}/proposals/{reply.json['id']}"
        expected = self.model.answer_settlement(answerer, order, author, verb, refund)
        answered = self.call("POST", f"{path}/{verb}", answerer)
        self.expect(answered, expected, f"{verb} settlement {order.id} by {answerer}")
        if answered.status != 200:
            expected = self.model.answer_settlement(author, order, author, "withdraw", refund)
            self.expect(self.call("POST", f"{path}/withdraw", author), expected,
                        f"withdraw settlement {order.id}")

    def review(self, order: rm.Order, actor: str, rating: str):
        expected = self.model.review(actor, order, rating)
        self.redo = lambda: self.review(order, actor, rating)
        reply = self.call("POST", f"/orders/{order.id}/reviews", actor,
                          {"rating": rating, "comment": "沟通顺畅，交付准时"})
        self.expect(reply, expected, f"review {order.id} by {actor} ({rating})")
        self.touched.append(order)

    def price(self, order: rm.Order, actor: str, split: str):
        amount = PRICE_FOR_SPLIT[split](order.amount)
        expected = self.model.price(actor, order, amount)
        self.redo = lambda: self.price(order, actor, split)
        reply = self.call("POST", f"/orders/{order.id}/price", actor, {"amount": amount})
        self.expect(reply, expected, f"price {order.id} by {actor} ({amount})")
        self.check_order_answer(reply, order)

    def any_action(self, action: str, order: rm.Order, actor: str, rating: str, split: str):
        if action == "price":
            self.price(order, actor, split)
        elif action == "resolve":
            self.resolve(order, actor, split)
        elif action == "review":
            self.review(order, actor, rating)
        elif action == "settle":
            other = order.buyer if actor == order.provider else order.provider
            self.settle_order(order, actor, other, "accept", split)
        else:
            self.do(action, order, actor)

    def act(self, action, pick, who, rating, split):
        """Any action on any order by anybody (often the wrong one)."""
        order = self.order(pick)
        self.any_action(action, order, self.resolve_actor(who, order), rating, split)

    def progress(self, pick, choice, rating, split, times):
        """One of the moves the order's state allows, by the right actor, `times` over."""
        for _ in range(times):
            active = [o for o in self.model.orders if self.moves(o)]
            if not active:  # every order is closed: a buyer orders again
                if len(self.model.orders) < MAX_ORDERS:
                    self.place_order(BUYERS[pick % 2], sorted(SERVICES)[choice % 3], "none",
                                     "deposit_three", 10)
                return
            order = active[pick % len(active)]
            OUTCOMES[f"(progress in {order.status})"] += 1
            moves = self.moves(order)
            # The happy path (the first move) is the likeliest.
            action, who = moves[choice if choice < len(moves) else 0]
            self.any_action(action, order, self.resolve_actor(who, order), rating, split)

    def moves(self, order: rm.Order) -> list:
        if order.status == "completed":
            return [("review", "@" + side) for side in (rm.BUYER_ROLE, rm.PROVIDER_ROLE)
                    if not order.reviewed[side]]
        return NEXT_MOVES.get(order.status, [])

    # --- time and the scheduled functions ----------------------------------------
    def tick(self, seconds, job):
        """Move the clock, then maybe run a scheduled function."""
        if seconds:
            self.model.advance(seconds)
            reply = self.api.post("/_local/clock", {"advance_seconds": seconds})
            assert reply.status == 200 and reply.json["now"] == rm.iso(self.model.now), reply
        if job == "sweep_timeouts":
            self.model.sweep_timeouts()
            self.touched.extend(self.model.orders)
        if job == "release_escrow":
            # Every release and refund already ran in its request; withdrawals are paid
            # (or refused) only here.
            pending = sum(w.status == "pending" for w in self.model.withdrawals)
            OUTCOMES[f"(pay out {'refused' if self.refusing else 'paid'})"] += pending
            self.model.pay_out(self.refusing)
        if job:
            self.api.invoke(job)

    def to_deadline(self, pick: int, offset: int, then: str | None, rating: str):
        """Move the clock to one second before, exactly at, or one second after an
        order's next deadline, where the edge cases live; then the action the deadline
        is about (`edge`: pay, accept, cancel or review, by the right actor), or a job."""
        dated = [o for o in self.model.orders if o.deadline_at() is not None]
        if not dated:
            return
        order = dated[pick % len(dated)]
        seconds = int((order.deadline_at() - self.model.now).total_seconds()) + offset
        self.tick(max(seconds, 0), None if then == "edge" else then)
        if then == "edge":
            action, who = EDGE_MOVES[order.status]
            if order.status == "completed" and order.reviewed[rm.BUYER_ROLE]:
                who = "@provider"
            self.any_action(action, order, self.resolve_actor(who, order), rating, "half")

    # --- after every step -----------------------------------------------------------
    @invariant()
    def orders_match_the_model(self):
        for side, users in (("buyer", ORDERERS), ("provider", PROVIDERS)):
            for user in users:
                reply = self.api.get(f"/orders?as={side}&limit=100", user=user)
                assert reply.status == 200, reply
                actual = {o["id"]: view_of(o) for o in reply.json["items"]}
                expected = {o.id: o.view() for o in self.model.orders
                            if getattr(o, side) == user}
                assert actual == expected, (side, user)
        for order in {id(o): o for o in self.touched}.values():
            events = self.api.get(f"/orders/{order.id}/events?limit=100", user=order.buyer)
            assert [e["type"] for e in events.json["items"]] == order.events
            # Each event starts where the one before it ended.
            statuses = [(e["from"], e["to"]) for e in events.json["items"]]
            assert all(a[1] == b[0] for a, b in zip(statuses, statuses[1:])), statuses
            assert statuses[-1][1] == order.status, statuses
        self.touched = []

    @invariant()
    def money_and_standing_match_the_model(self):
        for user in ORDERERS:
            balance = self.api.get("/me/balance", user=user).json
            assert (balance["available"], balance["pending_withdrawal"]) == (
                self.model.balance.get(user, 0), self.model.pending_withdrawal.get(user, 0)), user
            public = self.api.get(f"/users/{user}").json
            assert standing_of(public) == self.model.standing(rm.BUYER_ROLE, user), user
        for user in PROVIDERS:
            public = self.api.get(f"/providers/{user}").json
            assert standing_of(public) == self.model.standing(rm.PROVIDER_ROLE, user), user
            listed_count = sum(1 for s in self.model.services.values()
                               if s.provider == user and s.status == "listed")
            assert public["listed_count"] == listed_count, user

    @invariant()
    def withdrawals_and_statements_match_the_model(self):
        for user in PROVIDERS:
            items = self.api.get("/me/withdrawals?limit=100", user=user).json["items"]
            expected = [(w.id, w.amount, w.status) for w in reversed(self.model.withdrawals)
                        if w.user == user]
            assert [(w["id"], w["amount"], w["status"]) for w in items] == expected, user
            # The statement lists every movement of `available`: it adds up to it.
            lines = self.api.get("/me/statement?limit=100", user=user).json["items"]
            assert sum(line["amount"] for line in lines) == self.model.balance.get(user, 0)

    @invariant()
    def services_match_the_model(self):
        for service in self.model.services.values():
            reply = self.api.get(f"/services/{service.id}", user=service.provider)
            got = {k: reply.json[k] for k in ("status", "open_orders", "rating_count")}
            assert got == {"status": service.status, "open_orders": service.open_orders,
                           "rating_count": service.rating_count}, service.key

    @invariant()
    def ledger_is_clean(self):
        OUTCOMES["(checks)"] += 1
        check = self.api.get("/admin/ledger/check", user=OPERATOR, operator=True)
        assert check.status == 200, check
        assert check.json["sum"] == 0 and check.json["violations"] == [], check.json
        # Only the payouts of withdrawals the job has not run for yet may be pending.
        pending = [w for w in self.model.withdrawals if w.status == "pending"]
        assert sorted((i["kind"], i["amount"]) for i in check.json["pending_instructions"]) == \
            sorted(("payout", w.amount) for w in pending), check.json

    def teardown(self):
        """After each random history: the day counters the writes kept are what the
        orders, the ledger and the reviews recompute to (once per example, not per step:
        the recomputation scans)."""
        last = rules.day_of(self.model.now)
        first = max(rules.day_of(BASE), (date.fromisoformat(last)
                                         - timedelta(days=rules.MAX_DAYS - 1)).isoformat())
        days = rules.days_between(first, last)
        query = f"from={first}&to={last}"
        market = self.api.get(f"/admin/analytics/daily?{query}", user=OPERATOR, operator=True)
        assert market.status == 200 and market.json["days"] == recomputed_market(days), query
        for user in PROVIDERS:
            mine = self.api.get(f"/me/analytics/daily?{query}", user=user)
            assert mine.json["days"] == recomputed_provider(user, days), user


def view_of(order: dict) -> dict:
    """The API's order answer, cut to what the model knows."""
    return {
        "status": order["status"], "amount": order["amount"], "escrow": order["escrow"],
        "price_agreed": order["price_agreed"],
        "milestones": [(m["amount"], m["release"], m["status"]) for m in order["milestones"]],
        **{k: order[k] for k in ("current_step", "revision_count", "delivery_count",
                                 "deadlines", "late_cancel_eligible", "reviewed_by_buyer",
                                 "reviewed_by_provider")},
    }


def standing_of(profile: dict) -> dict:
    return {"credit": profile["credit"], **profile["ratings"]}


def _run(moto_aws, chalice_app, examples: int, steps: int):
    # The clock stands still unless the test moves it: a window edge is an exact instant.
    with mock.patch.object(clock, "real_now", return_value=BASE), \
            Client(chalice_app, stage_name="local") as client:
        MarketMachine.api = ApiClient(client)
        run_state_machine_as_test(MarketMachine, settings=settings(
            max_examples=examples, stateful_step_count=steps, deadline=None,
            suppress_health_check=list(HealthCheck)))
    print("\n".join(f"{n:6d}  {what}" for what, n in sorted(OUTCOMES.items())))


def test_orders_and_money_follow_the_model(moto_aws, chalice_app):
    # 20 examples in `make test` (its time budget); the long variant below runs 150.
    _run(moto_aws, chalice_app, int(os.environ.get("MODEL_EXAMPLES", 20)), 30)


@pytest.mark.slow
def test_orders_and_money_follow_the_model_long(moto_aws, chalice_app):
    _run(moto_aws, chalice_app, int(os.environ.get("MODEL_EXAMPLES", 150)), 50)


def test_the_model_pays_out_and_gives_back_like_the_api(moto_aws, chalice_app):
    """A scripted walk through the payout moves, so that paid and refused withdrawals are
    compared with the model on every run, whatever the random examples drew."""
    with mock.patch.object(clock, "real_now", return_value=BASE), \
            Client(chalice_app, stage_name="local") as client:
        MarketMachine.api = ApiClient(client)
        machine = MarketMachine()

        def check():
            machine.money_and_standing_match_the_model()
            machine.withdrawals_and_statements_match_the_model()
            machine.ledger_is_clean()

        machine.first_order("buyer-1", "fixed", "none")
        machine.progress(0, 0, "good", "half", 4)  # pay, accept, deliver, approve
        assert machine.model.balance["provider-1"] == 50000
        machine.payout("withdraw", "provider-1", 20000)
        machine.payout("withdraw", "provider-2", 1000)  # nothing earned, no account
        check()
        machine.payout("refuse", None, None)
        assert [w.status for w in machine.model.withdrawals] == ["failed"]
        check()
        machine.payout("withdraw", "provider-1", "all")
        machine.replay(True)
        check()
        machine.payout("pay", None, None)
        assert [w.status for w in machine.model.withdrawals] == ["failed", "paid"]
        assert machine.model.balance["provider-1"] == 0
        check()


def test_the_model_ends_disputes_like_the_api(moto_aws, chalice_app):
    """A scripted walk through the dispute moves (issue 24), compared with the model on
    every run whatever the random examples drew: evidence from both sides and from the
    wrong people, a withdrawal by the other party and by the opener (the accept window
    restarted), evidence after the window, and a settlement declined then accepted."""
    with mock.patch.object(clock, "real_now", return_value=BASE), \
            Client(chalice_app, stage_name="local") as client:
        MarketMachine.api = ApiClient(client)
        machine = MarketMachine()

        def check():
            machine.orders_match_the_model()
            machine.money_and_standing_match_the_model()
            machine.ledger_is_clean()

        machine.first_order("buyer-1", "fixed", "deposit")
        machine.progress(0, 0, "good", "half", 1)  # paid
        order = machine.model.orders[0]
        machine.tick(6 * rm.DAY, None)
        machine.do("dispute", order, "provider-1")
        for who in ("buyer-1", "provider-1", OPERATOR, STRANGER):
            machine.do("evidence", order, who)
        machine.do("withdraw_dispute", order, "buyer-1")  # not the opener: 403
        check()
        machine.tick(3 * rm.DAY, None)
        machine.do("evidence", order, "buyer-1")  # the window has closed
        machine.do("withdraw_dispute", order, "provider-1")
        assert order.status == "awaiting_provider"
        machine.tick(6 * rm.DAY, "sweep_timeouts")  # the restarted window still runs
        check()
        machine.do("accept", order, "provider-1")
        machine.do("dispute", order, "buyer-1")
        machine.settle_order(order, "buyer-1", "provider-1", "decline", "half")
        machine.settle_order(order, "buyer-1", "buyer-1", "accept", "half")  # its author
        machine.settle_order(order, "provider-1", "buyer-1", "accept", "too_much")
        machine.settle_order(order, "provider-1", "buyer-1", "accept", "half")
        assert order.status == "cancelled"
        check()
