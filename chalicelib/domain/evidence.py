"""Evidence (举证) in a dispute: who may give it, until when, and how much.

While an order is `disputed` each party may submit statements with files until
`evidence_until` (the dispute's opening + EVIDENCE_SECONDS); operators and both parties
read all of it. The limits keep one dispute's record readable and bounded: a statement
is 1..STATEMENT_MAX characters with at most FILES_MAX files, and each party submits at
most PER_PARTY_MAX times per dispute.
"""
from datetime import datetime

from chalicelib.domain import orders as life
from chalicelib.domain.errors import EvidenceClosed, Forbidden, InvalidTransition, ValidationFailed

STATEMENT_MAX = 2000
FILES_MAX = 10
PER_PARTY_MAX = 10
PARTIES = (life.BUYER, life.PROVIDER)


def check_may_submit(role: str, status: str, deadlines: dict, now: datetime) -> None:
    """The two parties, while disputed, before evidence_until."""
    if role not in PARTIES:
        raise Forbidden("only the order's buyer and provider submit evidence")
    if status != life.DISPUTED:
        raise InvalidTransition("evidence is taken while the order is disputed", status=status)
    if not life.evidence_open(deadlines, now):
        until = deadlines.get("evidence_until")
        raise EvidenceClosed(evidence_until=until.isoformat() if until else None)


def check_count(submitted: int) -> None:
    """A party's submissions in this dispute so far, before one more."""
    if submitted >= PER_PARTY_MAX:
        raise ValidationFailed(
            f"at most {PER_PARTY_MAX} evidence submissions per party in a dispute",
            errors=[{"field": "statement", "problem": "too many submissions",
                     "maximum": PER_PARTY_MAX}], submitted=submitted)


def counter_name(role: str) -> str:
    """The order attribute counting `role`'s submissions in the open dispute."""
    return {life.BUYER: "evidence_by_buyer", life.PROVIDER: "evidence_by_provider"}[role]
