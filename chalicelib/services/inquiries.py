"""Inquiries (询单): opening one on a listed service, writing in it, reading one and
the caller's inbox. No capacity is claimed and no money moves.

Each write is one TransactWrite: the message, the inquiry's head (its activity key,
message count and — on the provider's first message — `first_reply_at`) and the notice
to the other party, so a message is never without its notice nor the inbox stale.

Reply statistics (median_reply_seconds, inquiry → order conversion) read what these
writes leave: `first_reply_at` beside `created_at`, and `order_id` once an offer was
made. `reply_seconds` below is the one definition of a reply time.
"""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, ids
from chalicelib.domain import catalog as catalog_rules
from chalicelib.domain import inquiries as inquiry_rules
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Conflict, NotFound, ServiceNotListed
from chalicelib.services import analytics, notifications, provider_stats
from chalicelib.services.optimistic import ATTEMPTS
from chalicelib.storage.base import transaction
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.inquiries import InquiryMessageModel, InquiryModel, last_key

SNIPPET = 60
MESSAGES_MAX = 200  # one inquiry's answer carries its whole conversation


def open_inquiry(caller: Caller, service_id: str, *, body: str, now: datetime,
                 request_key: str | None = None) -> dict:
    """A buyer asks about a listed service; its provider is notified."""
    service = _listed_service(service_id)
    inquiry_rules.check_may_open(caller.user_id, service.provider_id)
    at = clock.to_key(now)
    inquiry_id = ids.keyed_id("inq", request_key) if request_key else ids.new_id("inq")
    inquiry = InquiryModel(inquiry_id, service_id=service.id, service_title=service.title,
                           buyer_id=caller.user_id, provider_id=service.provider_id,
                           created_at=at, updated_at=at, last_key=last_key(at, inquiry_id),
                           message_count=1)
    message = _message(inquiry_id, caller.user_id, inquiry_rules.BUYER, body, at)
    notice = _notice(service.provider_id, service.title, service.id, inquiry_rules.BUYER, body, now)
    for _ in range(ATTEMPTS):
        tx = transaction()
        try:
            with tx:
                tx.save("inquiry", inquiry, condition=InquiryModel.id.does_not_exist())
                tx.save("message", message)
                analytics.inquiry_opened(tx, inquiry, now)  # its day's counters, with it
                notifications.write_in(tx, [notice])
            break
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("inquiry"):
                # This key's inquiry exists: the first try committed and lost its answer.
                existing = _load(inquiry_id)
                if existing.buyer_id != caller.user_id:
                    raise Conflict()
                return present(existing, _messages(existing.id), caller)
            if analytics.retry_on(refusal):
                continue  # the buyer's mark for the day moved since it was read
            if not refusal.conflict:  # e.g. the provider's unread counter, written at once
                raise
    else:
        raise Conflict()
    return present(inquiry, [message], caller)


def post_message(caller: Caller, inquiry_id: str, *, body: str, now: datetime) -> dict:
    """Either party writes; the other is notified. The provider's first message is
    recorded as the inquiry's first reply."""
    inquiry = _load(inquiry_id)
    role = inquiry_rules.role_in(caller.user_id, buyer_id=inquiry.buyer_id,
                         provider_id=inquiry.provider_id)
    at = clock.to_key(now)
    message = _message(inquiry.id, caller.user_id, role, body, at)
    other = inquiry_rules.other_party(role, buyer_id=inquiry.buyer_id, provider_id=inquiry.provider_id)
    notice = _notice(other, inquiry.service_title, inquiry.service_id, role, body, now)
    for _ in range(ATTEMPTS):
        # The provider's first reply is counted in its reply-time histogram in the same
        # transaction that records it, conditioned on it still being the first: of two
        # replies at once, the later one is refused, reads again and counts nothing.
        first_reply = role == inquiry_rules.PROVIDER and not inquiry.first_reply_at
        actions = [InquiryModel.updated_at.set(at),
                   InquiryModel.last_key.set(last_key(at, inquiry.id)),
                   InquiryModel.message_count.add(1)]
        condition = InquiryModel.message_count < MESSAGES_MAX
        if first_reply:
            actions.append(InquiryModel.first_reply_at.set(at))
            condition &= InquiryModel.first_reply_at.does_not_exist()
        tx = transaction()
        try:
            with tx:
                tx.save("message", message,
                        condition=InquiryMessageModel.sent_key.does_not_exist())
                # The head is bounded: an inquiry's answer carries the whole conversation.
                tx.update("inquiry", InquiryModel(inquiry.id), actions=actions,
                          condition=condition)
                notifications.write_in(tx, [notice])
                if first_reply:
                    seconds = (now - clock.from_key(inquiry.created_at)).total_seconds()
                    provider_stats.first_reply_write(inquiry.provider_id, seconds)(tx)
            break
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("inquiry"):
                inquiry = _load(inquiry.id)
                if int(inquiry.message_count or 0) >= MESSAGES_MAX:
                    raise Conflict("this conversation is full: place an order or ask anew",
                                   limit=MESSAGES_MAX)
                continue  # another first reply landed: this one is an ordinary message
            if not refusal.conflict:
                raise
    else:
        raise Conflict()
    return present_message(message)


def get_inquiry(caller: Caller, inquiry_id: str) -> dict:
    """One inquiry with its messages oldest first, for its two parties only."""
    inquiry = _load(inquiry_id)
    inquiry_rules.role_in(caller.user_id, buyer_id=inquiry.buyer_id, provider_id=inquiry.provider_id)
    return present(inquiry, _messages(inquiry.id), caller)


def list_inquiries(caller: Caller, *, as_: str, limit: int, start_key):
    """The caller's inquiries as buyer or provider, latest activity first (no messages)."""
    index = InquiryModel.by_buyer if as_ == inquiry_rules.BUYER else InquiryModel.by_provider
    result = index.query(caller.user_id, scan_index_forward=False, limit=limit,
                         last_evaluated_key=start_key)
    return [present(i, None, caller) for i in result], result.last_evaluated_key


def load_for_offer(caller: Caller, inquiry_id: str) -> InquiryModel:
    """The inquiry a custom offer answers; only its provider may make one."""
    inquiry = _load(inquiry_id)
    role = inquiry_rules.role_in(caller.user_id, buyer_id=inquiry.buyer_id,
                         provider_id=inquiry.provider_id)
    inquiry_rules.check_may_offer(role)
    return inquiry


def offer_writes(tx, inquiry: InquiryModel, order_id: str, now: datetime) -> None:
    """Add to the offer's transaction: the inquiry remembers the order it led to (what
    conversion statistics count) and rises in both inboxes."""
    at = clock.to_key(now)
    tx.update("inquiry", InquiryModel(inquiry.id),
              actions=[InquiryModel.order_id.set(order_id), InquiryModel.updated_at.set(at),
                       InquiryModel.last_key.set(last_key(at, inquiry.id))],
              condition=InquiryModel.id.exists())


def reply_seconds(inquiry: InquiryModel) -> int | None:
    """Seconds from the inquiry's opening to the provider's first reply (None: none yet)."""
    first = clock.from_key(inquiry.first_reply_at) if inquiry.first_reply_at else None
    return inquiry_rules.reply_seconds(clock.from_key(inquiry.created_at), first)


def present(inquiry: InquiryModel, messages: list | None, caller: Caller) -> dict:
    answer = {
        "id": inquiry.id,
        "service_id": inquiry.service_id,
        "service_title": inquiry.service_title,
        "buyer_id": inquiry.buyer_id,
        "provider_id": inquiry.provider_id,
        "role": inquiry_rules.role_in(caller.user_id, buyer_id=inquiry.buyer_id,
                              provider_id=inquiry.provider_id),
        "message_count": int(inquiry.message_count or 0),
        "first_reply_at": clock.key_to_iso(inquiry.first_reply_at),
        "reply_seconds": reply_seconds(inquiry),
        "order_id": inquiry.order_id,
        "contract_id": inquiry.contract_id,
        "created_at": clock.key_to_iso(inquiry.created_at),
        "updated_at": clock.key_to_iso(inquiry.updated_at),
    }
    if messages is not None:
        answer["messages"] = [present_message(m) for m in messages]
    return answer


def present_message(message: InquiryMessageModel) -> dict:
    return {"id": message.id, "inquiry_id": message.inquiry_id, "author": message.author_id,
            "role": message.role, "body": message.body, "at": clock.key_to_iso(message.at)}


def _message(inquiry_id: str, author_id: str, role: str, body: str, at: str):
    message_id = ids.new_id("iqm")
    return InquiryMessageModel(inquiry_id, f"{at}#{message_id}", id=message_id,
                               author_id=author_id, role=role, body=body, at=at)


def _notice(user_id: str, title: str, service_id: str, role: str, body: str, now: datetime):
    snippet = body if len(body) <= SNIPPET else body[:SNIPPET] + "…"
    return notifications.notification_put(
        user_id, "inquiry_message", service_id=service_id, now=now,
        text=f"询单「{title}」：{inquiry_rules.ROLE_LABELS[role]}说：{snippet}")


def _messages(inquiry_id: str) -> list:
    return list(InquiryMessageModel.query(inquiry_id, consistent_read=True,
                                          limit=MESSAGES_MAX))


def _load(inquiry_id: str) -> InquiryModel:
    if not isinstance(inquiry_id, str) or not 1 <= len(inquiry_id) <= 128:
        raise NotFound("no such inquiry")
    try:
        return InquiryModel.get(inquiry_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such inquiry")


def _listed_service(service_id: str) -> ServiceModel:
    if not isinstance(service_id, str) or not 1 <= len(service_id) <= 128:
        raise NotFound("no such service")
    try:
        service = ServiceModel.get(service_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such service")
    if service.status == catalog_rules.DRAFT:
        raise NotFound("no such service")
    if service.status != catalog_rules.LISTED:
        raise ServiceNotListed()
    return service
