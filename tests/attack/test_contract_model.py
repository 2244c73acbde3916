"""A property-based model test of one contract's life and money (issue 23).

Hypothesis runs random sequences of party actions (often by the wrong party, on the
wrong statement) and clock moves of whole days, each day swept once, against the app
in-process (moto, chalice.test.Client, the sandbox gateway) and against the naive
reference in contract_reference.py, written from the contract. After every step the
API must agree with the model: each answer's status and code, the contract's status,
dates and deposit, every statement (period, status, amount, paid, paid from the
deposit), the provider's balance, and a clean ledger (every posting balanced, every
escrow consistent).

Kept fast for `make test`: 8 examples of up to 20 steps by default, about a minute
(CONTRACT_EXAMPLES=n sets more), on tables a single contract keeps small.
"""
import os
from collections import Counter
from datetime import datetime, timedelta
from unittest import mock

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, \
    run_state_machine_as_test

from chalicelib import clock
from tests.api.catalog_support import approved_provider, listed
from tests.api.contracts_support import terms as worked_example
from tests.attack import contract_reference as ref
from tests.conftest import _empty_tables
from tests.support import OPERATOR, ApiClient, fresh_sandbox

BUYER, PROVIDER, STRANGER = "buyer-1", "provider-1", "stranger-9"
# 09:00 in Beijing: every deadline (whole days after a sweep or an action) is a sweep.
START = datetime(2027, 1, 14, 9, 0, tzinfo=ref.BEIJING)
DAY = 24 * 3600
PRESETS = {
    "postpaid": worked_example(notice_days=3),
    "postpaid_bare": worked_example(deposit=0, trial_days=0, trial_fee=0, notice_days=0,
                                    commission_bps=0),
    "prepaid": worked_example(billing="prepaid", commission_bps=0, notice_days=10,
                              trial_days=3, trial_fee=30000),
    "prepaid_bare": worked_example(billing="prepaid", commission_bps=0, deposit=50000,
                                   trial_days=0, trial_fee=0, notice_days=0),
}
ACTIONS = ("sign", "pay_deposit", "go_live", "terminate", "submit", "confirm", "dispute",
           "resolve", "pay")
WHO = st.sampled_from(["buyer", "buyer", "provider", "provider", "stranger"])
OUTCOMES = Counter()
# What the right party does next in each contract state, to get deep within a short run.
NEXT = {"draft": [("sign", "provider"), ("sign", "buyer")],
        "awaiting_deposit": [("pay_deposit", "buyer")], "onboarding": [("go_live", "buyer")]}


class ContractMachine(RuleBasedStateMachine):
    api: ApiClient

    def __init__(self):
        super().__init__()
        _empty_tables(None)
        fresh_sandbox()
        clock.set_now(START)
        approved_provider(self.api, PROVIDER)
        self.service = listed(self.api, PROVIDER, 0, title="客服外包", summary="客服", tags=[])
        self.model = None
        self.cid = None
        self.keys = 0

    @initialize(preset=st.sampled_from(sorted(PRESETS)),
                live=st.sampled_from([True, True, True, False]))
    def propose(self, preset, live):
        OUTCOMES[preset] += 1
        reply = self.api.post("/contracts", {"service_id": self.service["id"],
                                             "requirement": "店铺售前售后", "terms": PRESETS[preset]},
                              user=BUYER)
        assert reply.status == 201, reply
        self.cid = reply.json["id"]
        self.model = ref.Contract(terms=PRESETS[preset], now=clock.now())
        if live:  # most examples start live, so that statements get their share of steps
            self.happy_path(3)
            self.happy_path(1)

    @rule(pick=st.integers(0, 5), choice=st.integers(0, 2),
          dispute=st.sampled_from([False, False, False, True]))
    def progress_bill(self, pick, choice, dispute):
        """The right party's next move on a statement (sometimes a dispute instead)."""
        if not self.model.bills:
            return
        bill = self.model.bills[pick % len(self.model.bills)]
        prepaid = self.model.terms["billing"] == "prepaid"
        if dispute and bill.status == ("paid" if prepaid else "submitted"):
            return self.act("dispute", "buyer", pick, choice)
        move = {"open": ("submit", "provider"), "submitted": ("confirm", "buyer"),
                "payable": ("pay", "buyer"), "paid": ("confirm", "buyer"),
                "disputed": ("resolve", "buyer")}.get(bill.status)
        if move:
            self.act(move[0], move[1], pick, choice)

    # --- moves -----------------------------------------------------------------------
    @rule(n=st.integers(min_value=1, max_value=3))
    def happy_path(self, n):
        """The right party's next step, `n` times (signing, the deposit, going live)."""
        for _ in range(n):
            moves = NEXT.get(self.model.status)
            if not moves:
                return
            action, who = next(((a, w) for a, w in moves
                                if a != "sign" or w not in self.model.signed), moves[0])
            self.act(action, who, 0, 0)

    @rule(action=st.sampled_from(ACTIONS), who=WHO, pick=st.integers(0, 5),
          choice=st.integers(0, 2))
    def act(self, action, who, pick, choice):
        user = {"buyer": BUYER, "provider": PROVIDER, "stranger": STRANGER}[who]
        bills = self.model.bills
        if action in ("submit", "confirm", "dispute", "resolve", "pay") and not bills:
            return
        bill = bills[pick % len(bills)] if bills else None
        path = f"/contracts/{self.cid}"
        if bill is not None:
            sid = self._sid(bill)
            spath = f"{path}/statements/{sid}"
        if who == "stranger":
            expected = ref.Answer(404, "NOT_FOUND")
            reply = self._post(f"{path}/terminate", {"reason": "路人"}, user)
            return self._check(reply, expected, "stranger")
        if action == "sign":
            expected, reply = self.model.sign(who), self._post(f"{path}/sign", {}, user)
        elif action == "pay_deposit":
            expected, reply = self.model.pay_deposit(who), self._post(f"{path}/pay", {}, user)
        elif action == "go_live":
            expected, reply = self.model.go_live(who), self._post(f"{path}/go-live", {}, user)
        elif action == "terminate":
            expected = self.model.terminate(who)
            reply = self._post(f"{path}/terminate", {"reason": "不合作了"}, user)
        elif action == "submit":
            sales = (0, 123456, 1000000)[choice]
            expected = self.model.submit(who, bill, sales)
            reply = self._post(f"{spath}/submit", {"sales": sales, "kpis": {"响应时间": "20秒"}},
                               user)
        elif action == "confirm":
            expected, reply = self.model.confirm(who, bill), self._post(f"{spath}/confirm", {}, user)
        elif action == "dispute":
            expected = self.model.dispute(who, bill)
            reply = self._post(f"{spath}/dispute", {"reason": "数据不符"}, user)
        elif action == "resolve":
            if bill.amount is None:
                return
            expected, amount = self.model.resolve(bill, ("all", "half", "none")[choice])
            reply = self.api.post(f"/admin{spath}/resolve", {"amount": amount, "note": "裁决"},
                                  user=OPERATOR, operator=True)
        else:
            expected, reply = self.model.pay(who, bill), self._post(f"{spath}/pay", {}, user)
        self._check(reply, expected, action)

    @rule(days=st.sampled_from([1, 1, 2, 4, 7, 12, 31]))
    def tick(self, days):
        """Whole days pass; the sweep runs on each day something falls due (as the
        every-minute schedule would: on other days it finds nothing) and on the last."""
        target = self.model.today + timedelta(days=days)
        while True:
            due = self.model.next_due()
            day = due if due is not None and due < target else target
            clock.advance((day - self.model.today).days * DAY)
            self.model.now = clock.now()
            self.api.invoke("sweep_contracts")
            self.model.sweep()
            if day == target:
                break
        self.api.invoke("release_escrow")
        OUTCOMES[f"tick {days}"] += 1

    # --- plumbing ------------------------------------------------------------------
    def _post(self, path, body, user):
        self.keys += 1
        return self.api.post(path, body, user=user, headers={"Idempotency-Key": f"m-{self.keys}"})

    def _sid(self, bill) -> str:
        return f"stm_{self.cid.removeprefix('ctr_')}_{bill.start.isoformat().replace('-', '')}"

    def _check(self, reply, expected: ref.Answer, what: str):
        OUTCOMES[f"{what} → {reply.status}"] += 1
        assert reply.status < 500, reply
        assert (reply.status, reply.error_code) == (expected.status, expected.code), \
            f"{what}: the model expects {expected}, the API answered {reply}"

    # --- the comparison after every step ------------------------------------------------
    @invariant()
    def the_contract_matches(self):
        if self.cid is None:
            return
        body = self.api.get(f"/contracts/{self.cid}", user=BUYER).json
        m = self.model
        assert (body["status"], body["live_on"], body["ends_on"]) == (
            m.status, m.live_on and m.live_on.isoformat(), m.ends_on and m.ends_on.isoformat())
        assert body["deposit"] == m.deposit_view()
        items = self.api.get(f"/contracts/{self.cid}/statements", user=BUYER).json["items"]
        seen = [(s["period_start"], s["period_end"], s["status"], s["amount"], s["paid"],
                 s["paid_from_deposit"]) for s in items]
        assert seen == [b.view() for b in m.bills]

    @invariant()
    def the_money_matches(self):
        if self.cid is None:
            return
        balance = self.api.get("/me/balance", user=PROVIDER).json["available"]
        assert balance == self.model.provider_balance
        check = self.api.get("/admin/ledger/check", user=OPERATOR, operator=True).json
        assert check["violations"] == [] and check["sum"] == 0, check


def _run(chalice_app, examples: int, steps: int):
    with mock.patch.object(clock, "real_now", return_value=START), \
            Client(chalice_app, stage_name="local") as client:
        ContractMachine.api = ApiClient(client)
        run_state_machine_as_test(ContractMachine, settings=settings(
            max_examples=examples, stateful_step_count=steps, deadline=None,
            suppress_health_check=list(HealthCheck)))
    print("\n".join(f"{n:6d}  {what}" for what, n in sorted(OUTCOMES.items())))


def test_a_contract_follows_the_model(moto_aws, chalice_app):
    _run(chalice_app, int(os.environ.get("CONTRACT_EXAMPLES", 8)), 20)


@pytest.mark.parametrize("found_first", ["older", "newer"])
def test_the_deposit_pays_the_oldest_overdue_bill_whatever_order_the_sweep_finds_them(
        moto_aws, chalice_app, monkeypatch, found_first):
    """Two prepaid bills fall due at the same instant; the sweep reads its shards one after
    another, so it may meet the newer first: the deposit still pays the older one."""
    from chalicelib.services.contracts import sweeping

    real = sweeping.due_statements

    def in_this_order(now, **kwargs):
        found, next_key, read = real(now, **kwargs)
        return sorted(found, reverse=found_first == "newer"), next_key, read

    monkeypatch.setattr(sweeping, "due_statements", in_this_order)
    with mock.patch.object(clock, "real_now", return_value=START), \
            Client(chalice_app, stage_name="local") as client:
        ContractMachine.api = ApiClient(client)
        machine = ContractMachine()
        machine.propose(preset="prepaid_bare", live=True)
        machine.tick(days=31)
        machine.tick(days=7)
        bills = machine.api.get(f"/contracts/{machine.cid}/statements", user=BUYER).json["items"]
        assert [(b["period_start"], b["paid_from_deposit"]) for b in bills] == [
            ("2027-01-14", 50000), ("2027-02-01", 0)]
        machine.the_contract_matches()
        machine.the_money_matches()
