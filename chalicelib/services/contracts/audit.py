"""The ledger audit's part for contracts: each contract's escrow account agrees with its
counters (and they with each other: funded = held + released + refunded), its deposit
never goes below zero, and what its bills took from the deposit
is what the contract says was used. Scans, like the rest of the audit."""
from chalicelib.domain import escrow as money
from chalicelib.storage.contracts import ContractModel, StatementModel


def problems(balances: dict[str, int]) -> list[dict]:
    """Violations found in contracts, given every account's balance from the postings."""
    out: list[dict] = []
    used_by_bills: dict[str, int] = {}
    for s in StatementModel.scan(consistent_read=True):
        used_by_bills[s.contract_id] = used_by_bills.get(s.contract_id, 0) + int(
            s.paid_from_deposit)
        if int(s.paid) < 0 or (s.amount is not None and int(s.paid) > int(s.amount)):
            out.append({"kind": "statement_paid_out_of_range", "statement": s.id,
                        "paid": int(s.paid), "amount": s.amount})
    for c in ContractModel.scan(consistent_read=True):
        held = int(c.escrow_held)
        base = {"contract": c.id, "held": held}
        account = balances.get(money.escrow_account(c.id), 0)
        if account != held:
            out.append({**base, "kind": "contract_escrow_differs_from_postings",
                        "postings": account})
        funded, released, refunded = (int(c.escrow_funded or 0), int(c.escrow_released or 0),
                                      int(c.escrow_refunded or 0))
        if funded != held + released + refunded:
            out.append({**base, "kind": "contract_escrow_counters_inconsistent",
                        "funded": funded, "released": released, "refunded": refunded})
        deposit = int(c.deposit_paid) - int(c.deposit_used) - int(c.deposit_returned)
        if held < 0 or deposit < 0:
            out.append({**base, "kind": "contract_escrow_negative", "deposit_held": deposit})
        if used_by_bills.get(c.id, 0) != int(c.deposit_used):
            out.append({**base, "kind": "deposit_used_differs_from_bills",
                        "used": int(c.deposit_used), "bills": used_by_bills.get(c.id, 0)})
    return out
