"""Escrow money math, pure: milestone plans, the postings each movement produces, the
deterministic ids that make every movement happen at most once, and balance rules.

Accounts: `gateway` (money outside the platform), `escrow:<order>` (held for one
order), `payable:<provider>` (what the platform owes a provider), `revenue` (the
platform's fees). A posting moves a positive amount from one account to another, so
every posting balances by construction and the sum over all accounts is always zero.

Platform fee: a release of `amount` fen pays `fee = floor(amount × bps / 10000)` into
`revenue` and `amount − fee` to the provider. It is rounded down, so a fraction of a
fen stays with the provider, and it is taken on each release (each milestone step, or
an operator's split) on its own.
"""
from dataclasses import dataclass

from chalicelib.domain.errors import ValidationFailed

GATEWAY = "gateway"
REVENUE = "revenue"
ON_ACCEPT, ON_APPROVAL = "on_accept", "on_approval"
PENDING, RELEASED, REFUNDED, SPLIT = "pending", "released", "refunded", "split"
RELEASE, REFUND, FUND, FEE = "release", "refund", "fund", "fee"
# A full refund (全额退款) takes back a deposit released at acceptance: the provider's part
# (`reversal`, what its available balance cannot cover lent first from its `debt`
# account), the platform's fee (`fee_reversal`); later releases repay the debt first.
REVERSAL, FEE_REVERSAL, DEBT, DEBT_REPAYMENT = ("reversal", "fee_reversal", "debt",
                                                "debt_repayment")
MAX_STEPS = 10
MAX_FEE_BPS = 10000  # basis points: 10000 is the whole release


def escrow_account(order_id: str) -> str:
    return f"escrow:{order_id}"


def payable_account(provider_id: str) -> str:
    return f"payable:{provider_id}"


def account_kind(account: str) -> str:
    """What an account is (`escrow`, `payable`, `withdrawing`, `debt`, …): its prefix."""
    return account.split(":", 1)[0]


def account_owner(account: str) -> str | None:
    """Whose account it is (the order, contract or user after the prefix); None for the
    platform's own (`gateway`, `revenue`)."""
    kind, _, owner = account.partition(":")
    return owner or None


def instruction_id(order_id: str, kind: str, step: int | None) -> str:
    """Deterministic, so recording the same decision twice collides instead of paying twice."""
    return f"{order_id}:{kind}:{'all' if step is None else step}"


def partial_refund_id(order_id: str, proposal_id: str) -> str:
    """A partial refund's instruction: one per accepted proposal."""
    return f"{order_id}:refund:{proposal_id}"


def funding_id(payment_id: str) -> str:
    """The funding posting of one payment (the first payment's id is its order's)."""
    return f"{payment_id}:fund:all"


def funded_payment(posting_id: str) -> str:
    """The payment a funding posting (funding_id) books."""
    return posting_id.removesuffix(":fund:all")


def debt_account(provider_id: str) -> str:
    """What a provider owes the platform (a reversed deposit its available balance could
    not cover): a negative balance, repaid from its next releases."""
    return f"debt:{provider_id}"


def fee_posting_id(instruction_id: str) -> str:
    """The fee's posting sits next to the release's own (whose id is the instruction's)."""
    return f"{instruction_id}:fee"


def platform_fee(amount: int, bps: int) -> int:
    """The platform's fee on a release of `amount` fen: floor(amount × bps / 10000)."""
    if isinstance(bps, bool) or not isinstance(bps, int) or not 0 <= bps <= MAX_FEE_BPS:
        raise ValueError(f"the fee must be 0..{MAX_FEE_BPS} basis points, not {bps!r}")
    if amount < 0:
        raise ValueError("a release moves a positive amount")
    # Integer arithmetic only: a float would round 0.29 * 100 to 28.999…
    return amount * bps // MAX_FEE_BPS


@dataclass(frozen=True)
class Posting:
    from_account: str
    to_account: str
    amount: int


def posting_for(kind: str, order_id: str, provider_id: str, amount: int) -> Posting:
    """The one balanced posting a fund, release or refund of `amount` produces."""
    if amount <= 0:
        raise ValueError("a posting moves a positive amount")
    escrow = escrow_account(order_id)
    if kind == FUND:
        return Posting(GATEWAY, escrow, amount)
    if kind == RELEASE:
        return Posting(escrow, payable_account(provider_id), amount)
    if kind == REFUND:
        return Posting(escrow, GATEWAY, amount)
    raise ValueError(f"unknown movement {kind}")


def release_postings(order_id: str, provider_id: str, amount: int,
                     fee: int) -> list[tuple[str, Posting]]:
    """What a release of `amount` with `fee` posts, as (kind, posting): the provider's
    part and the platform's, each only when positive; together they take `amount` out
    of escrow."""
    if not 0 <= fee <= amount or amount <= 0:
        raise ValueError("a release's fee lies between zero and the amount")
    escrow = escrow_account(order_id)
    out = []
    if amount - fee:
        out.append((RELEASE, Posting(escrow, payable_account(provider_id), amount - fee)))
    if fee:
        out.append((FEE, Posting(escrow, REVENUE, fee)))
    return out


@dataclass(frozen=True)
class Reversal:
    """How a released deposit step of `amount` (of which `fee` went to the platform) is
    taken back: `from_available` of the provider's part from its available balance,
    `borrowed` (the rest) lent from its debt account first."""

    step: int
    amount: int
    fee: int
    from_available: int
    borrowed: int

    def postings(self, order_id: str, provider_id: str) -> list[tuple[str, str, Posting]]:
        """(id suffix, kind, posting) of the reversal, each only when positive."""
        escrow, payable = escrow_account(order_id), payable_account(provider_id)
        out = []
        if self.borrowed:
            out.append(("debt", DEBT, Posting(debt_account(provider_id), payable,
                                              self.borrowed)))
        if self.amount - self.fee:
            out.append(("provider", REVERSAL, Posting(payable, escrow, self.amount - self.fee)))
        if self.fee:
            out.append(("fee", FEE_REVERSAL, Posting(REVENUE, escrow, self.fee)))
        return out


def plan_reversals(released: list[tuple[int, int, int]], available: int) -> list[Reversal]:
    """Reverse deposit steps, given as (step, amount, fee), out of `available`: each
    step's provider part comes from what is available as far as it reaches, the rest
    is borrowed (becomes debt). A withdrawal already requested is never taken back."""
    out, left = [], max(0, available)
    for step, amount, fee in released:
        if not 0 <= fee <= amount:
            raise ValueError("a fee lies between zero and the amount")
        net = amount - fee
        taken = min(left, net)
        left -= taken
        out.append(Reversal(step, amount, fee, taken, net - taken))
    return out


def debt_repayment(net: int, owed: int) -> int:
    """What of a release's `net` (the provider's part) repays its debt first."""
    return max(0, min(net, owed))


def released_deposits(milestones: list[dict]) -> list[int]:
    """The on_accept steps (定金) released at acceptance: what a full refund takes back."""
    return [i for i, s in enumerate(milestones)
            if s["release"] == ON_ACCEPT and s["status"] == RELEASED]


def statement_account(posting: Posting) -> str | None:
    """The account whose statement lists this posting (the postings' sparse by_account
    index): a provider's payable account when the posting moves money in or out of
    it; None for movements no user's statement shows (funding, refunds, fees, payouts
    leaving the withdrawing account)."""
    for account in (posting.to_account, posting.from_account):
        if account.startswith("payable:"):
            return account
    return None


def yuan(fen: int) -> str:
    """An amount for people to read: 80000 → ¥800.00."""
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def plan_milestones(amount: int, steps: list[dict] | None, default_title: str, *,
                    deposit_max_bps: int = MAX_FEE_BPS) -> list[dict]:
    """The order's steps: the milestones checked, or one step for the whole amount.
    `deposit_max_bps`: the largest share of `amount` the on_accept steps (定金) may take
    together, since they reach the provider before any work is seen."""
    if not steps:
        return [{"title": default_title[:60], "amount": amount, "release": ON_APPROVAL,
                 "status": PENDING}]
    problems = []
    if not 1 <= len(steps) <= MAX_STEPS:
        problems.append({"field": "milestones", "problem": "wrong number of items",
                         "min_items": 1, "max_items": MAX_STEPS})
    total = sum(s["amount"] for s in steps)
    if total != amount:
        problems.append({"field": "milestones", "problem": "amounts must sum to the order amount",
                         "sum": total, "amount": amount})
    seen_approval = False
    for i, step in enumerate(steps):
        if step["release"] == ON_APPROVAL:
            seen_approval = True
        elif seen_approval:
            problems.append({"field": f"milestones[{i}].release",
                             "problem": "on_accept steps (deposits) come before every other step"})
    if not seen_approval:
        problems.append({"field": "milestones",
                         "problem": "at least one step must be released on approval"})
    deposit = sum(s["amount"] for s in steps if s["release"] == ON_ACCEPT)
    if deposit > amount * deposit_max_bps // MAX_FEE_BPS:
        problems.append({"field": "milestones", "problem": "the on_accept steps (deposit) "
                         "exceed the largest share of the amount allowed",
                         "deposit": deposit, "max_bps": deposit_max_bps,
                         "max_deposit": amount * deposit_max_bps // MAX_FEE_BPS})
    if problems:
        raise ValidationFailed("the milestones are invalid", errors=problems)
    return [{"title": s["title"], "amount": s["amount"], "release": s["release"],
             "status": PENDING} for s in steps]


_WHEN = {ON_ACCEPT: "接单时结算", ON_APPROVAL: "验收后结算"}


def describe_plan(milestones: list[dict]) -> str:
    """The plan for people to read, each step's amount and when it is released:
    "付款计划：①定金 ¥300.00（接单时结算）②首页 ¥700.00（验收后结算）"."""
    marks = "①②③④⑤⑥⑦⑧⑨⑩"
    parts = [f"{marks[i] if i < len(marks) else i + 1}{s['title']} {yuan(int(s['amount']))}"
             f"（{_WHEN.get(s['release'], s['release'])}）" for i, s in enumerate(milestones)]
    return "付款计划：" + "".join(parts)


def deposit_steps(milestones: list[dict]) -> list[int]:
    """The leading on_accept steps still pending: released when the provider accepts."""
    out = []
    for i, step in enumerate(milestones):
        if step["release"] != ON_ACCEPT:
            break
        if step["status"] == PENDING:
            out.append(i)
    return out


def first_approval_step(milestones: list[dict]) -> int:
    return next(i for i, s in enumerate(milestones) if s["release"] == ON_APPROVAL)


def undecided_amount(milestones: list[dict]) -> int:
    """What is held and not yet promised to anyone: the steps still pending."""
    return sum(s["amount"] for s in milestones if s["status"] == PENDING)


def refund_off_last_steps(milestones: list[dict], refund: int) -> list[tuple[int, int, str]]:
    """A partial refund (部分退款) taken off the last pending steps first: each touched
    step as (index, its new amount, its new status); a step taken whole is refunded."""
    if refund <= 0 or refund >= undecided_amount(milestones):
        raise ValueError("a partial refund leaves part of what is held, and takes some")
    out = []
    for i in range(len(milestones) - 1, -1, -1):
        step = milestones[i]
        if refund == 0 or step["status"] != PENDING:
            continue
        taken = min(refund, step["amount"])
        refund -= taken
        left = step["amount"] - taken
        out.append((i, left, PENDING if left else REFUNDED))
    return out


def anything_released(milestones: list[dict]) -> bool:
    """Whether any step's money went (or is going) to the provider, in whole or in part."""
    return any(s["status"] in (RELEASED, SPLIT) for s in milestones)


def check_split(held: int, refund: int, release: int) -> None:
    """The operator's resolution must account for exactly what is held."""
    if refund < 0 or release < 0 or refund + release != held:
        raise ValidationFailed("refund + release must equal what escrow holds",
                               held=held, refund=refund, release=release)


def after_movement(escrow: dict, kind: str, amount: int) -> dict:
    """The escrow counters after a movement; refuses to take held below zero."""
    out = dict(escrow)
    if kind == FUND:
        out["funded"] += amount
        out["held"] += amount
        return out
    if amount > out["held"]:
        raise ValueError("escrow cannot go below zero")
    out["held"] -= amount
    out["released" if kind == RELEASE else "refunded"] += amount
    return out


# An escrow's counters (an order's or a contract's): every fen that came in (`funded`) is
# still held, or went to the provider, or back to the buyer.
COUNTERS = ("funded", "held", "released", "refunded")


class EscrowInvariantBroken(RuntimeError):
    """A change would break `funded = held + released + refunded` or take `held` below
    zero: a bug in the code that built it, never a user's mistake, so it stops the change
    loudly (no transaction is written) instead of being logged."""


def checked_escrow(deltas: dict, before: dict | None = None) -> dict | None:
    """Assert a change of escrow counters keeps the invariant; the counters after it
    (None when `before` is not known). The change alone must balance
    (Δfunded = Δheld + Δreleased + Δrefunded); with `before`, the counters after it must
    satisfy funded = held + released + refunded and held ≥ 0."""
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise EscrowInvariantBroken(f"not an escrow counter: {sorted(unknown)}")
    d = {k: int(deltas.get(k, 0)) for k in COUNTERS}
    if d["funded"] != d["held"] + d["released"] + d["refunded"]:
        raise EscrowInvariantBroken(f"an unbalanced escrow change: {d}")
    if before is None:
        return None
    after = {k: int(before.get(k) or 0) + d[k] for k in COUNTERS}
    if after["funded"] != after["held"] + after["released"] + after["refunded"]:
        raise EscrowInvariantBroken(f"funded ≠ held + released + refunded after {d}: {after}")
    if after["held"] < 0:
        raise EscrowInvariantBroken(f"held below zero after {d}: {after}")
    return after


def fund(amount: int) -> dict:
    """Money in from the gateway: held."""
    return {"funded": amount, "held": amount}


def release(amount: int) -> dict:
    """Held money to the provider."""
    return {"held": -amount, "released": amount}


def refund(amount: int) -> dict:
    """Held money back to the buyer (once the gateway has paid it)."""
    return {"held": -amount, "refunded": amount}


def reverse(amount: int) -> dict:
    """A released deposit taken back into escrow (全额退款)."""
    return {"held": amount, "released": -amount}


def balances(postings) -> dict[str, int]:
    """Each account's balance from its postings (credits minus debits)."""
    out: dict[str, int] = {}
    for p in postings:
        out[p.from_account] = out.get(p.from_account, 0) - p.amount
        out[p.to_account] = out.get(p.to_account, 0) + p.amount
    return out


def posting_problems(p) -> list[str]:
    """Why a single posting is not a valid balanced movement (empty when fine)."""
    problems = []
    if not isinstance(p.amount, int) or p.amount <= 0:
        problems.append("amount must be a positive integer")
    if p.from_account == p.to_account:
        problems.append("moves money from an account to itself")
    return problems
