"""The ledger audit: proves that the postings balance and that every order's escrow, every
account head, every withdrawal and the platform's revenue agree with them. It scans every
money table, which is right for an audit an operator runs on purpose and wrong anywhere
else."""
from chalicelib.domain import escrow as money
from chalicelib.domain import payouts as payout_rules
from chalicelib.domain.instructions import DONE
from chalicelib.domain.orders import CLOSED
from chalicelib.services.contracts import audit as contract_audit
from chalicelib.storage.ledger import AccountModel, InstructionModel, PostingModel
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.payouts import WithdrawalModel


def check_ledger() -> dict:
    """Every invariant of the ledger, with the violations found (empty when clean)."""
    violations = []
    postings = list(PostingModel.scan(consistent_read=True))
    for p in postings:
        for problem in money.posting_problems(p):
            violations.append({"kind": "posting_unbalanced", "posting": p.id, "problem": problem})
    balances = money.balances(postings)
    total = sum(balances.values())
    if total != 0:
        violations.append({"kind": "postings_do_not_sum_to_zero", "sum": total})

    pending = {}
    fees = 0
    for ins in InstructionModel.scan(consistent_read=True):
        if ins.status == DONE and ins.kind == money.RELEASE:
            fees += int(ins.fee or 0)
        elif ins.status == DONE and ins.kind == money.REVERSAL:
            fees -= int(ins.fee or 0)  # a reversed deposit's fee went back to escrow
        if ins.status != DONE:
            pending.setdefault(ins.order_id, []).append(
                {"id": ins.id, "kind": ins.kind, "amount": int(ins.amount), "status": ins.status})

    for order in OrderModel.scan(consistent_read=True):
        funded, released = int(order.escrow_funded), int(order.escrow_released)
        refunded, held = int(order.escrow_refunded), int(order.escrow_held)
        base = {"order": order.id, "held": held}
        if held != funded - released - refunded:
            violations.append({**base, "kind": "escrow_counters_inconsistent", "funded": funded,
                               "released": released, "refunded": refunded})
        if held < 0:
            violations.append({**base, "kind": "escrow_negative"})
        account = balances.get(money.escrow_account(order.id), 0)
        if account != held:
            violations.append({**base, "kind": "escrow_differs_from_postings",
                               "postings": account})
        if order.status in CLOSED and held != 0 and order.id not in pending:
            violations.append({**base, "kind": "closed_order_holds_money",
                               "status": order.status})

    revenue = balances.get(money.REVENUE, 0)
    if revenue != fees:
        violations.append({"kind": "revenue_differs_from_fees", "postings": revenue,
                           "fees": fees})

    heads = set()
    for head in AccountModel.scan(consistent_read=True):
        heads.add(head.id)
        from_postings = balances.get(head.id, 0)
        if int(head.balance) != from_postings:
            violations.append({"kind": f"{_head_kind(head.id)}_differs_from_postings",
                               "account": head.id, "balance": int(head.balance),
                               "postings": from_postings})
        # A debt account holds what its provider owes: never positive. Every other
        # head is what the platform owes: never negative.
        if _head_kind(head.id) == "debt" and int(head.balance) > 0:
            violations.append({"kind": "debt_positive", "account": head.id,
                               "balance": int(head.balance)})
        elif _head_kind(head.id) != "debt" and int(head.balance) < 0:
            violations.append({"kind": "account_negative", "account": head.id,
                               "balance": int(head.balance)})
    for account, amount in balances.items():
        if _head_kind(account) and account not in heads and amount:
            violations.append({"kind": f"{_head_kind(account)}_without_head",
                               "account": account, "postings": amount})

    violations += _withdrawal_problems(balances, {p.id: p for p in postings})
    violations += contract_audit.problems(balances)

    return {"accounts": len(balances), "sum": total, "revenue": revenue,
            "violations": violations,
            "pending_instructions": [i for items in pending.values() for i in items]}


def _withdrawal_problems(balances: dict, postings: dict) -> list[dict]:
    """Each withdrawal's money is where its status says: a pending one in its user's
    withdrawing account, a paid one paid out, a failed one given back — once."""
    problems, in_flight = [], {}
    for w in WithdrawalModel.scan(consistent_read=True):
        amount = int(w.amount)
        if w.status == payout_rules.PENDING:
            in_flight[w.user_id] = in_flight.get(w.user_id, 0) + amount
        expected = {payout_rules.PAID: payout_rules.PAYOUT,
                    payout_rules.FAILED: payout_rules.RETURNED}.get(w.status)
        for kind in (payout_rules.PAYOUT, payout_rules.RETURNED):
            posting = postings.get(payout_rules.posting_id(w.id, kind))
            if (posting is not None) != (kind == expected) or (
                    posting is not None and int(posting.amount) != amount):
                problems.append({"kind": "withdrawal_differs_from_postings", "withdrawal": w.id,
                                 "status": w.status, "posting": kind})
        if postings.get(payout_rules.posting_id(w.id, payout_rules.WITHDRAWAL)) is None:
            problems.append({"kind": "withdrawal_without_posting", "withdrawal": w.id})
    users = set(in_flight) | {money.account_owner(a) for a in balances
                              if money.account_kind(a) == "withdrawing"}
    for user in sorted(users):
        held = balances.get(payout_rules.withdrawing_account(user), 0)
        if held != in_flight.get(user, 0):
            problems.append({"kind": "withdrawing_differs_from_withdrawals", "user": user,
                             "postings": held, "pending": in_flight.get(user, 0)})
    return problems


def _head_kind(account: str) -> str | None:
    """Accounts that keep a head item (a balance conditions can test), by kind."""
    kind = money.account_kind(account)
    return kind if kind in ("payable", "withdrawing", "debt") else None
