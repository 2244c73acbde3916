"""Inquiries (询单): a buyer asks a provider about a service before ordering anything.

An inquiry has exactly two parties, the buyer who opened it and the service's provider;
either may write, nobody else may read. It claims no capacity and moves no money. The
provider's first message is its first reply: the time from the inquiry's opening to it
is what the provider's reply statistics (median_reply_seconds) are made of.
"""
from datetime import datetime

from chalicelib.domain.errors import Forbidden, NotFound

BODY_MAX = 2000
BUYER, PROVIDER = "buyer", "provider"
ROLE_LABELS = {BUYER: "买家", PROVIDER: "服务商"}


def role_in(user_id: str, *, buyer_id: str, provider_id: str) -> str:
    """The caller's side of the inquiry; a stranger is told it does not exist."""
    if user_id == buyer_id:
        return BUYER
    if user_id == provider_id:
        return PROVIDER
    raise NotFound("no such inquiry")


def check_may_open(user_id: str, provider_id: str) -> None:
    """A provider does not ask itself about its own service."""
    if user_id == provider_id:
        raise Forbidden("you cannot ask about your own service")


def check_may_offer(role: str) -> None:
    """Only the provider answers an inquiry with a custom offer (定制报价)."""
    if role != PROVIDER:
        raise Forbidden("only the provider makes an offer")


def other_party(role: str, *, buyer_id: str, provider_id: str) -> str:
    return provider_id if role == BUYER else buyer_id


def reply_seconds(opened_at: datetime, first_reply_at: datetime | None) -> int | None:
    """Seconds the provider took to answer first, or None while it has not."""
    if first_reply_at is None:
        return None
    return max(0, int((first_reply_at - opened_at).total_seconds()))
