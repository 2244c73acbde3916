"""Messages (留言) on an order or a contract (services.threads): posting one, and reading
the conversation oldest first.

Posting is one TransactWrite: the message (its id new, or derived from the request's
Idempotency-Key), each attached file marked as sent by it (conditioned on being unsent
and the author's), and the notice to whoever should hear of it — so a message is never
without its notice, nor a file in two messages.
"""
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, ids, settings
from chalicelib.domain import messages as message_rules
from chalicelib.domain import orders as life
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.services import attachments, notifications, threads
from chalicelib.services.optimistic import ATTEMPTS
from chalicelib.storage.base import transaction
from chalicelib.storage.messages import MessageModel, sent_key

SNIPPET = 60  # characters of the body a notice quotes


def post_message(caller: Caller, order_id: str, *, body: str, file_ids: list[str],
                 now: datetime, request_key: str | None = None,
                 thread: str = threads.ORDER) -> dict:
    """Post on an order; the other party (both parties, for an operator) is notified."""
    order = threads.open_thread(caller, order_id, thread)
    role = order.role
    message_rules.check_may_write(role, order.status, order.operator_may_write)
    message_id, earlier = _message_id(caller, order.id, now, request_key)
    if earlier is not None:
        return present(earlier)  # this request's first try committed; its answer was lost
    files, pinned = attachments.pin(caller, order.id, file_ids, message_id)
    at = clock.to_key(now)
    message = MessageModel(order.id, message_id, sent_key=sent_key(at, message_id),
                           author_id=caller.user_id, role=role, body=body, files=files, at=at)
    notices = [notifications.notification_put(
        user, "message", order_id=order.id, service_id=order.service_id,
        text=_notice_text(order, role, body), now=now)
        for user in message_rules.recipients(role, order.buyer_id, order.provider_id)]
    for _ in range(ATTEMPTS):
        tx = transaction()
        try:
            with tx:
                tx.save("message", message, condition=MessageModel.id.does_not_exist())
                attachments.send_within(tx, pinned, message_id, at)
                notifications.write_in(tx, notices)
            return present(message)
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("message"):
                existing = _find(order.id, message_id)
                if existing is not None and existing.author_id == caller.user_id:
                    return present(existing)
                raise Conflict()
            attachments.refuse_taken(pinned, refusal)
            if not refusal.conflict:
                raise
    raise Conflict()


def list_messages(caller: Caller, order_id: str, *, limit: int, start_key,
                  thread: str = threads.ORDER):
    """The order's messages, oldest first, for its parties and operators."""
    order = threads.open_thread(caller, order_id, thread)
    if order.role == life.SYSTEM:
        raise NotFound("no such order")
    result = MessageModel.by_time.query(order.id, consistent_read=True, limit=limit,
                                        last_evaluated_key=start_key)
    return [present(m) for m in result], result.last_evaluated_key


def present(message: MessageModel) -> dict:
    return {
        "id": message.id,
        "order_id": message.order_id,
        "author": message.author_id,
        "role": message.role,
        "body": message.body,
        "files": [{"file_id": f.file_id, "filename": f.filename,
                   "content_type": f.content_type, "size": int(f.size)}
                  for f in message.files or []],
        "at": clock.key_to_iso(message.at),
    }


def _message_id(caller: Caller, order_id: str, now: datetime, key: str | None):
    """The new message's id, and the message this request already wrote, if any.

    With an Idempotency-Key the id is derived from it, as a new order's is: a retry
    whose first try committed but lost its answer finds that message instead of posting
    it twice. The request key names the key's window (`<caller>#<key>@<window start>`),
    so a key used again after its window derives another id; the age check below also
    keeps a message written without that suffix from being answered to a new window.
    """
    if key is None:
        return ids.new_id("msg"), None
    message_id = ids.keyed_id("msg", key)
    earlier = _find(order_id, message_id)
    if earlier is None:
        return message_id, None
    window = timedelta(seconds=settings.get().idempotency_ttl_seconds)
    if earlier.author_id == caller.user_id and clock.from_key(earlier.at) >= now - window:
        return message_id, earlier
    return ids.new_id("msg"), None


def _find(order_id: str, message_id: str) -> MessageModel | None:
    try:
        return MessageModel.get(order_id, message_id, consistent_read=True)
    except DoesNotExist:
        return None


def _notice_text(order, role: str, body: str) -> str:
    snippet = body if len(body) <= SNIPPET else body[:SNIPPET] + "…"
    return f"{order.title}：{message_rules.ROLE_LABELS[role]}留言：{snippet}"
