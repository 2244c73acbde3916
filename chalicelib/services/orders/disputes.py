"""Disputes the parties take part in: evidence (举证) while the window is open, and the
opener's withdrawal. (Settling one is a cancel proposal: services.orders.proposals.)

Withdrawing is a transition of the order engine (`domain.orders`: only the opener, back
to the state the dispute left, timers restarted from now), so it commits conditionally
on the status and version it read, and exactly one of a withdrawal and an operator's
resolution racing it wins.

A submission is one TransactWrite: the evidence item (its id derived from the
Idempotency-Key when there is one, so a retry whose answer was lost finds it), the
party's count on the order — conditional on the order still being disputed in the same
dispute and on the count it read, so the cap holds against two submissions at once and
nothing lands after a withdrawal or a resolution — each file pinned as a message's is,
and the notice to the other party. It does not bump the order's version: evidence never
makes a party's or the operator's move retry.
"""
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, ids
from chalicelib.domain import evidence as rules
from chalicelib.domain import orders as life
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.services import attachments, notifications
from chalicelib.services.optimistic import ATTEMPTS
from chalicelib.services.orders.engine import (load, order_deadlines, role_of, transition)
from chalicelib.services.orders.proposals import _get as get_proposal
from chalicelib.services.orders.reading import present as present_order
from chalicelib.services.orders.state import dispute_field
from chalicelib.storage.base import transaction
from chalicelib.storage.evidence import EvidenceModel
from chalicelib.storage.orders import OrderModel

ROLE_LABELS = {life.BUYER: "买家", life.PROVIDER: "服务商"}


def withdraw_dispute(caller: Caller, order_id: str, now: datetime, *,
                     request_key: str | None = None) -> dict:
    """The party that opened the dispute takes it back: the order returns to the state it
    left, its relative timers restarted from now; no money moves."""
    def prepare(order: OrderModel, _role: str) -> dict:
        # A settlement offer still open survives the withdrawal, with a fresh expiry.
        return {"open_proposal": get_proposal(order.id, order.open_proposal)} \
            if order.open_proposal else {}

    return present_order(transition(caller, order_id, life.WITHDRAW_DISPUTE, now,
                                    prepare=prepare, request_key=request_key), caller)


def submit_evidence(caller: Caller, order_id: str, *, statement: str, file_ids: list[str],
                    now: datetime, request_key: str | None = None) -> dict:
    """A party's statement and files for the open dispute, while its window is open."""
    evidence_id = ids.keyed_id("evd", request_key) if request_key else ids.new_id("evd")
    for _ in range(ATTEMPTS):
        order = load(order_id)
        role = role_of(caller, order)
        earlier = _find(order.id, evidence_id) if request_key else None
        if earlier is not None and earlier.author_id == caller.user_id:
            return present(earlier)  # this request's first try committed; its answer was lost
        rules.check_may_submit(role, order.status, order_deadlines(order), now)
        counter = getattr(OrderModel, rules.counter_name(role))
        count = int(getattr(order, rules.counter_name(role)) or 0)
        rules.check_count(count)
        files, pinned = attachments.pin(caller, order.id, file_ids, evidence_id)
        at = clock.to_key(now)
        item = EvidenceModel(order.id, evidence_id, sent_key=f"{at}#{evidence_id}",
                             author_id=caller.user_id, role=role, statement=statement,
                             files=files, at=at, dispute_at=dispute_field(order, "at"))
        other = order.provider_id if role == life.BUYER else order.buyer_id
        notice = notifications.notification_put(
            other, "evidence", order_id=order.id, service_id=order.service_id, now=now,
            text=f"{order.service.title}：{ROLE_LABELS[role]}提交了纠纷证据")
        # Still disputed, in the dispute we read, with the count we read.
        condition = (OrderModel.status == life.DISPUTED) \
            & (OrderModel.dispute["at"] == item.dispute_at) \
            & ((counter == count) | counter.does_not_exist() if count == 0 else counter == count)
        tx = transaction()
        try:
            with tx:
                tx.save("evidence", item, condition=EvidenceModel.id.does_not_exist())
                tx.update("order", OrderModel(order.id), actions=[counter.set(count + 1)],
                          condition=condition)
                attachments.send_within(tx, pinned, evidence_id, at)
                notifications.write_in(tx, [notice])
            return present(item)
        except TransactWriteError as error:
            refusal = tx.refusal(error)
            if refusal.failed("evidence"):
                existing = _find(order.id, evidence_id)
                if existing is not None and existing.author_id == caller.user_id:
                    return present(existing)
                raise Conflict()
            attachments.refuse_taken(pinned, refusal)
            if not (refusal.failed("order") or refusal.conflict):
                raise
            # The order moved (withdrawn, resolved) or the party's other submission
            # counted first: read again, and the checks above answer.
    raise Conflict()


def list_evidence(caller: Caller, order_id: str, *, limit: int, start_key):
    """Every submission on the order, oldest first, for its parties and operators."""
    order = load(order_id)
    if role_of(caller, order) == life.SYSTEM:
        raise NotFound("no such order")
    result = EvidenceModel.by_time.query(order.id, consistent_read=True, limit=limit,
                                         last_evaluated_key=start_key)
    return [present(e) for e in result], result.last_evaluated_key


def present(item: EvidenceModel) -> dict:
    return {
        "id": item.id, "order_id": item.order_id, "author": item.author_id, "role": item.role,
        "statement": item.statement,
        "files": [{"file_id": f.file_id, "filename": f.filename,
                   "content_type": f.content_type, "size": int(f.size)}
                  for f in item.files or []],
        "at": clock.key_to_iso(item.at), "dispute_at": clock.key_to_iso(item.dispute_at),
    }


def _find(order_id: str, evidence_id: str) -> EvidenceModel | None:
    try:
        return EvidenceModel.get(order_id, evidence_id, consistent_read=True)
    except DoesNotExist:
        return None
