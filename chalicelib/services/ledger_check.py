"""The ledger audit: proves that the postings balance and that every order's escrow,
every account head and the platform's revenue agree with them. It scans every money table, which is right for an
audit an operator runs on purpose and wrong anywhere else."""
from chalicelib.domain import escrow as money
from chalicelib.domain.orders import CLOSED
from chalicelib.storage.ledger import AccountModel, InstructionModel, PostingModel
from chalicelib.storage.orders import OrderModel


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
        if ins.status == "done" and ins.kind == money.RELEASE:
            fees += int(ins.fee or 0)
        if ins.status != "done":
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
        if int(head.balance) < 0:
            violations.append({"kind": "account_negative", "account": head.id,
                               "balance": int(head.balance)})
    for account, amount in balances.items():
        if _head_kind(account) and account not in heads and amount:
            violations.append({"kind": f"{_head_kind(account)}_without_head",
                               "account": account, "postings": amount})

    return {"accounts": len(balances), "sum": total, "revenue": revenue,
            "violations": violations,
            "pending_instructions": [i for items in pending.values() for i in items]}


def _head_kind(account: str) -> str | None:
    """Accounts that keep a head item (a balance conditions can test), by kind."""
    kind = account.split(":", 1)[0]
    return kind if kind in ("payable", "withdrawing") else None
