"""A contract period's statement (账单) as data: its states, the transition table
(state, action, role, billing) → next state, and the money of a bill: the platform's
fee computed once on the statement's amount however many parts pay it.

postpaid: open → submitted → payable → paid (released to the provider as it is paid)
prepaid:  payable → paid (held in escrow) → released (after its period)
either may be disputed and is then resolved by an operator.
"""
from dataclasses import dataclass

from chalicelib.domain.errors import Forbidden, InvalidTransition

OPEN, SUBMITTED, PAYABLE, PAID, RELEASED, DISPUTED = (
    "open", "submitted", "payable", "paid", "released", "disputed")
STATES = (OPEN, SUBMITTED, PAYABLE, PAID, RELEASED, DISPUTED)
# Not settled: a contract that ended keeps its deposit while any is.
OUTSTANDING = frozenset({OPEN, SUBMITTED, PAYABLE, DISPUTED})
POSTPAID, PREPAID = "postpaid", "prepaid"
BUYER, PROVIDER, OPERATOR, SYSTEM = "buyer", "provider", "operator", "system"

SUBMIT, CONFIRM, DISPUTE, RESOLVE, PAY = "submit", "confirm", "dispute", "resolve", "pay"
ACTIONS = (SUBMIT, CONFIRM, DISPUTE, RESOLVE, PAY)

# Guards.
PERIOD_OVER = "period_over"  # a prepaid bill is released only after its period


@dataclass(frozen=True)
class Rule:
    to: str
    guard: tuple = ()


TRANSITIONS: dict[tuple[str, str, str, str], Rule] = {
    # The sweep submits (sales 0) and confirms what the parties let pass.
    **{(OPEN, SUBMIT, r, POSTPAID): Rule(SUBMITTED) for r in (PROVIDER, SYSTEM)},
    **{(SUBMITTED, CONFIRM, r, POSTPAID): Rule(PAYABLE) for r in (BUYER, SYSTEM)},
    **{(PAID, CONFIRM, r, PREPAID): Rule(RELEASED, (PERIOD_OVER,)) for r in (BUYER, SYSTEM)},
    (SUBMITTED, DISPUTE, BUYER, POSTPAID): Rule(DISPUTED),
    (PAID, DISPUTE, BUYER, PREPAID): Rule(DISPUTED),
    (DISPUTED, RESOLVE, OPERATOR, POSTPAID): Rule(PAYABLE),
    (DISPUTED, RESOLVE, OPERATOR, PREPAID): Rule(RELEASED),
    # Paid in full (by the gateway or from the deposit): the system books it.
    (PAYABLE, PAY, SYSTEM, POSTPAID): Rule(PAID),
    (PAYABLE, PAY, SYSTEM, PREPAID): Rule(PAID),
}
ACTORS = {action: frozenset(role for (_, a, role, _) in TRANSITIONS if a == action)
          for action in ACTIONS}


def decide(state: str, action: str, role: str, billing: str, *, period_over: bool = True) -> str:
    """The statement's next state, or the named refusal."""
    if role not in ACTORS.get(action, ()):
        raise Forbidden(f"a {role} may not {action} a statement", status=state)
    rule = TRANSITIONS.get((state, action, role, billing))
    if rule is None:
        raise InvalidTransition(f"cannot {action} a {billing} statement that is {state}",
                                status=state)
    if PERIOD_OVER in rule.guard and not period_over:
        raise InvalidTransition("the period has not ended yet", status=state,
                                reason=PERIOD_OVER)
    # A bill of nothing is paid the moment it is due.
    return rule.to


def fee_part(total_fee: int, fee_taken: int, amount: int, paid_before: int, part: int) -> int:
    """The fee on `part` of a bill of `amount` whose fee is `total_fee` in all: in
    proportion, rounded down, and the last part takes what is left — so the parts'
    fees always add up to the fee computed once on the amount."""
    if paid_before + part >= amount:
        return total_fee - fee_taken
    return min(total_fee - fee_taken, total_fee * part // amount) if amount else 0
