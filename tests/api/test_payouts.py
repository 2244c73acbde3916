"""Payouts (提现) through the API, on moto and DynamoDB Local: a provider sets where to be
paid, withdraws, and `available` drops at once; the release_escrow driver transfers it
through the gateway. A refused transfer puts the money back exactly once; an unknown
outcome is asked again with the same key, with backoff, then parked for operators."""
import pytest

from chalicelib import clock, settings
from chalicelib.domain.actors import Caller
from chalicelib.services import instructions, payouts
from chalicelib.storage.idempotency import record_key
from chalicelib.storage.ledger import InstructionModel
from tests.api.catalog_support import approved_provider
from tests.api.orders_support import BUYER, OPERATOR, PROVIDER, ledger_clean
from tests.api.payouts_support import (ALIPAY, balance, earned, pay_out, with_payout_account,
                                       withdraw, withdrawal)
from tests.jobs.sweep_support import DAY, HOUR, travel
from tests.support import fresh_sandbox


@pytest.fixture(autouse=True)
def sandbox():
    return fresh_sandbox()


def test_a_withdrawal_drops_available_at_once_and_the_job_pays_it(api, sandbox):
    release_order = earned(api, 50000)
    with_payout_account(api)
    assert balance(api) == {"available": 50000, "pending_withdrawal": 0, "currency": "CNY"}

    asked = withdraw(api, 30000)
    assert asked.status == 201, asked
    assert (asked.json["amount"], asked.json["status"]) == (30000, "pending")
    assert asked.json["account"] == "138****8000"  # answers never show the whole account
    assert balance(api) == {"available": 20000, "pending_withdrawal": 30000, "currency": "CNY"}
    assert sandbox.transfers == {}  # the transfer is the scheduled job's, not the request's
    ledger_clean(api)

    assert pay_out(api)["moved"] == 1
    paid = withdrawal(api, asked.json["id"])
    assert paid["status"] == "paid" and paid["paid_at"] and paid["failed_at"] is None
    assert balance(api) == {"available": 20000, "pending_withdrawal": 0, "currency": "CNY"}
    assert list(sandbox.transfers.values()) == [
        ("sandbox-transfer-1", ALIPAY["account"], ALIPAY["name"], 30000)]
    assert pay_out(api)["found"] == 0
    lines = api.get("/me/statement", user=PROVIDER).json["items"]
    assert [(line["kind"], line["amount"]) for line in lines] == [
        ("withdrawal", -30000), ("release", 50000)]
    assert lines[0]["withdrawal_id"] == asked.json["id"]
    assert (lines[1]["order_id"], lines[1]["fee"]) == (release_order, 0)
    assert ledger_clean(api)["sum"] == 0


def test_more_than_available_is_refused_and_changes_nothing(api):
    earned(api, 20000)
    with_payout_account(api)
    refused = withdraw(api, 20001)
    assert (refused.status, refused.error_code) == (409, "INSUFFICIENT_BALANCE")
    assert refused.json["error"]["details"]["available"] == 20000
    assert balance(api)["available"] == 20000
    assert api.get("/me/withdrawals", user=PROVIDER).json == {"items": [], "next_cursor": None}
    assert withdraw(api, 20000).status == 201  # all of it is fine
    assert withdraw(api, 10).error_code == "INSUFFICIENT_BALANCE"
    ledger_clean(api)


def test_a_provider_who_never_earned_has_nothing_to_withdraw(api):
    approved_provider(api)
    with_payout_account(api)
    refused = withdraw(api, 100)
    assert (refused.status, refused.error_code) == (409, "INSUFFICIENT_BALANCE")
    assert refused.json["error"]["details"]["available"] == 0
    assert balance(api) == {"available": 0, "pending_withdrawal": 0, "currency": "CNY"}


def test_without_a_payout_account_a_withdrawal_is_refused(api):
    earned(api, 20000)
    refused = withdraw(api, 100)
    assert (refused.status, refused.error_code) == (409, "PAYOUT_ACCOUNT_REQUIRED")
    assert balance(api)["available"] == 20000


def test_the_payout_account_belongs_to_providers(api):
    assert api.get("/providers/me/payout-account", user=PROVIDER).error_code == "NOT_FOUND"
    refused = api.put("/providers/me/payout-account", ALIPAY, user=BUYER)
    assert (refused.status, refused.error_code) == (403, "PROVIDER_NOT_APPROVED")
    approved_provider(api)
    saved = with_payout_account(api)
    assert (saved["account"], saved["name"]) == (ALIPAY["account"], ALIPAY["name"])
    assert api.get("/providers/me/payout-account", user=PROVIDER).json == saved
    assert api.put("/providers/me/payout-account", {"account": "", "name": "张小美"},
                   user=PROVIDER).error_code == "VALIDATION_FAILED"


def test_a_suspended_provider_may_still_take_out_what_they_earned(api):
    earned(api, 20000)
    with_payout_account(api)
    assert api.post(f"/admin/providers/{PROVIDER}/suspend", {"reason": "违规"}, user=OPERATOR,
                    operator=True).status == 200
    assert withdraw(api, 20000).status == 201


def test_the_payee_is_fixed_when_the_withdrawal_is_asked(api, sandbox):
    earned(api, 20000)
    with_payout_account(api)
    asked = withdraw(api, 5000).json
    with_payout_account(api, account="new@example.com")
    pay_out(api)
    assert [t[1] for t in sandbox.transfers.values()] == [ALIPAY["account"]]
    assert withdrawal(api, asked["id"])["account"] == "138****8000"


@pytest.mark.parametrize("amount", [0, 9, -100, 12.5, "100", None, True])
def test_a_withdrawal_is_whole_fen_from_ten(api, amount):
    approved_provider(api)
    with_payout_account(api)
    assert withdraw(api, amount).error_code == "VALIDATION_FAILED"


def test_a_retry_with_the_same_key_withdraws_once(api):
    earned(api, 50000)
    with_payout_account(api)
    key = {"Idempotency-Key": "withdraw-1"}
    first = withdraw(api, 10000, headers=key)
    again = withdraw(api, 10000, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert again.json == first.json and again.headers.get("idempotent-replayed") == "true"
    assert withdraw(api, 20000, headers=key).error_code == "IDEMPOTENCY_KEY_REUSED"
    assert balance(api)["available"] == 40000


def test_a_retry_whose_first_try_committed_but_lost_its_answer_finds_it(api):
    # The claim on the key is released when the first try answers 5xx; the retry runs
    # the service again and must find its own withdrawal, not make a second one.
    earned(api, 50000)
    with_payout_account(api)
    key = record_key(PROVIDER, "withdraw-lost")
    first = payouts.request_withdrawal(Caller(PROVIDER), 10000, clock.now(), request_key=key)
    again = payouts.request_withdrawal(Caller(PROVIDER), 10000, clock.now(), request_key=key)
    assert again["id"] == first["id"]
    assert balance(api)["available"] == 40000
    ledger_clean(api)


def test_a_refused_transfer_puts_the_money_back_exactly_once(api, sandbox):
    earned(api, 50000)
    with_payout_account(api)
    asked = withdraw(api, 30000).json
    sandbox.refuse_transfers = "PAYEE_NOT_EXIST"

    assert pay_out(api)["moved"] == 1
    failed = withdrawal(api, asked["id"])
    assert (failed["status"], failed["failure_reason"]) == ("failed", "PAYEE_NOT_EXIST")
    assert balance(api) == {"available": 50000, "pending_withdrawal": 0, "currency": "CNY"}

    # Whatever runs it again, the money came back once.
    instruction_id = f"{asked['id']}:payout"
    assert instructions.execute_instruction(instruction_id, clock.now()) == "done"
    assert payouts.execute_payout(InstructionModel.get(instruction_id, consistent_read=True),
                                  clock.now()) is False
    assert pay_out(api)["found"] == 0
    assert balance(api)["available"] == 50000
    lines = api.get("/me/statement", user=PROVIDER).json["items"]
    assert [(line["kind"], line["amount"]) for line in lines] == [
        ("withdrawal_returned", 30000), ("withdrawal", -30000), ("release", 50000)]
    assert sandbox.transfers == {}
    ledger_clean(api)

    sandbox.refuse_transfers = None  # the provider fixes the account and asks again
    again = withdraw(api, 50000).json
    pay_out(api)
    assert withdrawal(api, again["id"])["status"] == "paid"
    assert balance(api) == {"available": 0, "pending_withdrawal": 0, "currency": "CNY"}
    ledger_clean(api)


def test_an_unknown_outcome_is_retried_with_backoff_then_parked(api, sandbox, monkeypatch):
    monkeypatch.setenv("INSTRUCTION_MAX_ATTEMPTS", "3")
    settings.reload()
    earned(api, 50000)
    with_payout_account(api)
    asked = withdraw(api, 30000).json
    sandbox.transfer_errors = 100  # the gateway times out, again and again

    first = pay_out(api)
    assert (first["found"], first["failed"]) == (1, 1)
    instruction = InstructionModel.get(f"{asked['id']}:payout", consistent_read=True)
    assert (instruction.status, instruction.attempts) == ("pending", 1)
    assert "TimeoutError" in instruction.last_error
    assert pay_out(api)["found"] == 0  # not due again until its backoff has passed
    travel(HOUR)
    assert pay_out(api)["failed"] == 1
    travel(HOUR)
    assert pay_out(api)["failed"] == 1
    instruction = InstructionModel.get(f"{asked['id']}:payout", consistent_read=True)
    assert (instruction.status, instruction.attempts) == ("parked", 3)
    stuck = api.get("/admin/stuck", user=OPERATOR, operator=True).json["items"]
    assert [(s["id"], s["status"]) for s in stuck] == [(f"{asked['id']}:payout", "parked")]
    travel(DAY)
    assert pay_out(api)["found"] == 0
    # Nothing is decided while the outcome is unknown: the money stays on its way out.
    assert withdrawal(api, asked["id"])["status"] == "pending"
    assert balance(api) == {"available": 20000, "pending_withdrawal": 30000, "currency": "CNY"}
    check = ledger_clean(api)
    assert [(i["kind"], i["status"]) for i in check["pending_instructions"]] == [
        ("payout", "parked")]
    assert [c[0] for c in sandbox.calls].count("transfer") == 3


def test_a_transfer_whose_answer_was_lost_is_asked_again_and_paid_once(api, sandbox):
    earned(api, 50000)
    with_payout_account(api)
    asked = withdraw(api, 30000).json
    sandbox.lost_transfer_answers = 1  # the gateway paid, the answer never came back

    assert pay_out(api)["failed"] == 1
    assert withdrawal(api, asked["id"])["status"] == "pending"
    travel(HOUR)
    assert pay_out(api)["moved"] == 1
    assert withdrawal(api, asked["id"])["status"] == "paid"
    assert len(sandbox.transfers) == 1  # asked twice with the same key, paid once
    assert [c[0] for c in sandbox.calls].count("transfer") == 2
    assert balance(api) == {"available": 20000, "pending_withdrawal": 0, "currency": "CNY"}
    ledger_clean(api)


def test_the_fee_is_kept_before_anything_can_be_withdrawn(api, monkeypatch):
    monkeypatch.setenv("PLATFORM_FEE_BPS", "500")
    settings.reload()
    earned(api, 49900)
    with_payout_account(api)
    assert balance(api)["available"] == 47405
    assert withdraw(api, 47406).error_code == "INSUFFICIENT_BALANCE"
    assert withdraw(api, 47405).status == 201
    pay_out(api)
    check = ledger_clean(api)
    assert (check["revenue"], check["sum"]) == (2495, 0)
    release = api.get("/me/statement", user=PROVIDER).json["items"][-1]
    assert (release["kind"], release["amount"], release["fee"]) == ("release", 47405, 2495)


def test_lists_page_newest_first_and_belong_to_the_caller(api):
    earned(api, 50000)
    with_payout_account(api)
    made = [withdraw(api, 1000 + i).json["id"] for i in range(3)]
    first = api.get("/me/withdrawals?limit=2", user=PROVIDER).json
    assert [w["id"] for w in first["items"]] == made[:0:-1]
    rest = api.get(f"/me/withdrawals?limit=2&cursor={first['next_cursor']}", user=PROVIDER).json
    assert [w["id"] for w in rest["items"]] == made[:1] and rest["next_cursor"] is None
    stolen = api.get(f"/me/withdrawals?cursor={first['next_cursor']}", user=BUYER)
    assert stolen.error_code == "INVALID_REQUEST"
    assert api.get("/me/withdrawals", user=BUYER).json["items"] == []
    assert api.get("/me/statement", user=BUYER).json["items"] == []

    seen, cursor = [], None
    while True:
        page = api.get("/me/statement?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                       user=PROVIDER).json
        seen += [(line["kind"], line["amount"]) for line in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [("withdrawal", -1002), ("withdrawal", -1001), ("withdrawal", -1000),
                    ("release", 50000)]
