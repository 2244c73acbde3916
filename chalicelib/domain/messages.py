"""Messages (留言) on an order: who may write, who hears of it, who may see a file.

The buyer and the provider talk on their order in any state (before paying, while the
work is done, after it closed); an operator joins only once the order is `disputed` or
`resolved`, to hear both sides and explain a ruling. Everyone who may see the order may
read its messages. Files are attached by whoever may write; until a message carries a
file only its uploader may fetch it, afterwards everyone who may read the messages.
"""
from chalicelib.domain import orders as life
from chalicelib.domain.errors import Forbidden, NotFound

BODY_MAX = 2000
FILES_MAX = 10
OPERATOR_STATUSES = frozenset({life.DISPUTED, life.RESOLVED})
OPERATOR = life.OPERATOR
ROLE_LABELS = {life.BUYER: "买家", life.PROVIDER: "服务商", life.OPERATOR: "平台小二"}


def check_may_write(role: str, status: str, operator_may_write: bool | None = None) -> None:
    """Raise unless `role` may post (or attach a file) on an order in `status` (on a
    contract, `operator_may_write` says whether one of its statements is disputed)."""
    if role in (life.BUYER, life.PROVIDER):
        return
    if role == life.OPERATOR:
        if status in OPERATOR_STATUSES if operator_may_write is None else operator_may_write:
            return
        raise Forbidden("operators write on an order once it is disputed or resolved",
                        status=status)
    raise NotFound("no such order")  # the jobs' role has no voice on an order


def recipients(role: str, buyer_id: str, provider_id: str) -> list[str]:
    """Who is told of a new message: the other party, or both when an operator wrote."""
    if role == life.BUYER:
        return [provider_id]
    if role == life.PROVIDER:
        return [buyer_id]
    return [buyer_id, provider_id]


def may_fetch_file(*, reader_id: str, uploader_id: str, sent: bool) -> bool:
    """An unsent file is its uploader's draft; a sent one belongs to the conversation."""
    return sent or reader_id == uploader_id
