"""The transition engine: load an order, the caller's role, the facts a decision needs,
and the one change that commits a decided move; the due-timer index and the notices.

Each transition reads the order, asks `domain.orders.decide` what the move means, and
commits it as ONE TransactWrite: the order update (conditional on the status and
version it read, bumping the version), the event (seq = the new version), the money
instructions the move decides, and the service's open-order counter when the order
closes. A refused condition means somebody moved first: the order is read again and the
decision re-made, which turns into the right 409. Instructions are executed right after
the commit (so answers show final money figures); a crash in between leaves them pending
for the `release_escrow` sweep.
"""
import logging
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib import clock, observability, settings
from chalicelib.domain import escrow as money
from chalicelib.domain import orders as life
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from chalicelib.services import escrow, idempotency
from chalicelib.storage.base import cancellation_codes, transact_write
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.ledger import InstructionModel, PostingModel
from chalicelib.storage.orders import (TIMER_PK, DeliverableModel, OrderEventModel, OrderModel)

try:
    from chalicelib.services import notifications
except ImportError:  # pragma: no cover - the inbox is optional to the order flow
    notifications = None

log = logging.getLogger("market.orders")

ATTEMPTS = 3


# --- timers ------------------------------------------------------------------
def windows() -> life.Windows:
    cfg = settings.get()
    return life.Windows(
        payment=timedelta(seconds=cfg.payment_window_seconds),
        accept=timedelta(seconds=cfg.accept_window_seconds),
        late_cancel=timedelta(seconds=cfg.late_cancel_after_seconds),
        review=timedelta(seconds=cfg.review_window_seconds),
        reminder_before=timedelta(seconds=cfg.reminder_before_seconds))


def _dt(raw):
    return clock.from_key(raw) if raw else None


def timer_inputs(order: OrderModel, **changes) -> dict:
    """The facts `domain.orders.pending_timers` needs, read from an order (plus changes)."""
    values = dict(status=order.status, created_at=_dt(order.created_at),
                  paid_at=_dt(order.paid_at), due_at=_dt(order.due_at),
                  completed_at=_dt(order.completed_at),
                  late_cancel_eligible=bool(order.late_cancel_eligible),
                  reviewed_by_buyer=bool(order.reviewed_by_buyer),
                  reviewed_by_provider=bool(order.reviewed_by_provider),
                  reminders_sent=list(order.reminders_sent or []))
    values.update(changes)
    return values


def timer_actions(order_id: str, inputs: dict) -> list:
    """Keep the sparse due_timers index on the earliest pending timer, or drop out of it."""
    status = inputs.pop("status")
    timer = life.next_timer(status, windows=windows(), **inputs)
    if timer is None:
        return [OrderModel.timer_pk.remove(), OrderModel.timer_due.remove()]
    return [OrderModel.timer_pk.set(TIMER_PK),
            OrderModel.timer_due.set(f"{clock.to_key(timer.at)}#{order_id}")]


def order_deadlines(order: OrderModel) -> dict:
    inputs = timer_inputs(order)
    inputs.pop("reminders_sent")
    status = inputs.pop("status")
    return life.deadlines(status, windows=windows(), **inputs)


def milestones_of(order: OrderModel) -> list[dict]:
    return [{"title": m.title, "amount": int(m.amount), "release": m.release,
             "status": m.status} for m in order.milestones or []]


def load(order_id: str) -> OrderModel:
    # An id no order could have is answered like an unknown one, before DynamoDB
    # would refuse it with a validation error.
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= 128:
        raise NotFound("no such order")
    try:
        return OrderModel.get(order_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such order")


def role_of(caller: Caller, order: OrderModel) -> str:
    """The caller's part in this order; a stranger may not even see it (404)."""
    if caller.user_id == order.buyer_id:
        return life.BUYER
    if caller.user_id == order.provider_id:
        return life.PROVIDER
    if "system" in caller.roles:
        return life.SYSTEM
    if caller.is_operator:
        return life.OPERATOR
    raise NotFound("no such order")


# --- the transition engine ---------------------------------------------------
def facts(order: OrderModel, now: datetime) -> life.Facts:
    current = order_deadlines(order)
    due = _dt(order.due_at)
    return life.Facts(
        now=now, timers=current,
        is_last_step=int(order.current_step) >= len(order.milestones or []) - 1,
        late_cancel_eligible=bool(order.late_cancel_eligible),
        late_cancel_from=due + windows().late_cancel if due else None)


class _Change:
    """One transition's writes, built from the decided effects, committed together."""

    def __init__(self, order: OrderModel, outcome: life.Outcome, actor: Caller, now: datetime,
                 params: dict, data: dict):
        self.order, self.outcome, self.actor, self.now = order, outcome, actor, now
        self.params, self.data = params, dict(data)
        self.at = clock.to_key(now)
        to = outcome.to
        self.version = int(order.version) + 1
        self.actions = [OrderModel.status.set(to), OrderModel.version.set(self.version),
                        OrderModel.updated_at.set(self.at),
                        OrderModel.buyer_status.set(f"{order.buyer_id}#{to}"),
                        OrderModel.provider_status.set(f"{order.provider_id}#{to}")]
        self.timer_changes = {"status": to}
        self.instructions: list[InstructionModel] = []
        self.extra = []  # writes to other items that belong to this move (tx → None)
        self.close_service = False
        self.milestones = milestones_of(order)
        for effect in outcome.effects:
            getattr(self, f"_{effect}")()
        instructed = sum(int(i.amount) for i in self.instructions)
        if instructed:
            self.actions.append(OrderModel.escrow_instructed.add(instructed))

    def _set_step(self, index: int, status: str):
        self.milestones[index]["status"] = status
        self.actions.append(OrderModel.milestones[index].status.set(status))

    def _instruct(self, kind: str, amount: int, step: int | None):
        if amount > 0:
            self.instructions.append(escrow.new_instruction(self.order, kind, amount, step,
                                                            self.now))

    def _fund(self):
        amount, ref = self.params["amount"], self.params["payment_ref"]
        self.actions += [OrderModel.escrow_funded.add(amount), OrderModel.escrow_held.add(amount),
                         OrderModel.payment_ref.set(ref), OrderModel.paid_at.set(self.at)]
        self.timer_changes["paid_at"] = self.now
        self.order.payment_ref = ref
        self.data.update(amount=amount, payment_ref=ref)
        posting = money.posting_for(money.FUND, self.order.id, self.order.provider_id, amount)
        self.extra.append(lambda tx: tx.save(
            PostingModel(money.funding_id(self.order.id), from_account=posting.from_account,
                         to_account=posting.to_account, amount=amount, order_id=self.order.id,
                         kind=money.FUND, at=self.at, account=posting.to_account),
            condition=PostingModel.id.does_not_exist()))

    def _release_deposit(self):
        steps = money.deposit_steps(self.milestones)
        for i in steps:
            self._instruct(money.RELEASE, self.milestones[i]["amount"], i)
            self._set_step(i, money.RELEASED)
        self.actions += [OrderModel.current_step.set(money.first_approval_step(self.milestones)),
                         OrderModel.accepted_at.set(self.at)]
        self.data["released_steps"] = steps

    def _release_step(self):
        i = int(self.order.current_step)
        self._instruct(money.RELEASE, self.milestones[i]["amount"], i)
        self._set_step(i, money.RELEASED)
        self.actions.append(OrderModel.current_step.set(i + 1))
        self.data.update(step=i, amount=self.milestones[i]["amount"])
        if self.outcome.to == life.COMPLETED:
            self.actions.append(OrderModel.completed_at.set(self.at))
            self.timer_changes["completed_at"] = self.now

    def _refund_held(self):
        amount = money.undecided_amount(self.milestones)
        for i, step in enumerate(self.milestones):
            if step["status"] == money.PENDING:
                self._set_step(i, money.REFUNDED)
        self._instruct(money.REFUND, amount, None)
        self.data["refund"] = amount

    def _split(self):
        refund, release = self.params["refund"], self.params["release"]
        money.check_split(money.undecided_amount(self.milestones), refund, release)
        mark = money.REFUNDED if not release else money.RELEASED if not refund else money.SPLIT
        for i, step in enumerate(self.milestones):
            if step["status"] == money.PENDING:
                self._set_step(i, mark)
        self._instruct(money.REFUND, refund, None)
        self._instruct(money.RELEASE, release, None)
        self.data.update(refund=refund, release=release)

    def _count_revision(self):
        self.actions.append(OrderModel.revision_count.add(1))

    def _record_delivery(self):
        number = int(self.order.delivery_count or 0) + 1
        self.actions += [OrderModel.delivery_count.set(number),
                         OrderModel.delivered_at.set(self.at)]
        self.data["version"] = number
        for file_id in self.params["file_ids"]:
            # A file belongs to one delivery: a delivery is a fixed, numbered version.
            self.extra.append(lambda tx, f=file_id: tx.update(
                DeliverableModel(self.order.id, f),
                actions=[DeliverableModel.version.set(number),
                         DeliverableModel.delivered_at.set(self.at)],
                condition=DeliverableModel.file_id.exists()
                & DeliverableModel.version.does_not_exist()))

    def _record_dispute(self):
        self.actions.append(OrderModel.dispute.set(
            {"by": self.actor.user_id, "reason": self.params.get("reason", ""),
             "at": self.at, "from_status": self.order.status}))

    def _flag_late_cancel(self):
        self.actions.append(OrderModel.late_cancel_eligible.set(True))
        self.timer_changes["late_cancel_eligible"] = True

    def _close(self):
        self.actions.append(OrderModel.closed_at.set(self.at))
        self.close_service = True

    def commit(self, include_service: bool = True):
        order = self.order
        actions = self.actions + timer_actions(order.id, timer_inputs(order, **self.timer_changes))
        with transact_write() as tx:
            # status AND version: the state we decided on is exactly the one we read.
            tx.update(OrderModel(order.id), actions=actions,
                      condition=(OrderModel.status == self.outcome.from_status)
                      & (OrderModel.version == int(order.version)))
            tx.save(new_event(order.id, self.version, self.outcome.event_type,
                           self.outcome.from_status, self.outcome.to, self.actor, self.at,
                           self.data),
                    condition=OrderEventModel.seq.does_not_exist())
            for ins in self.instructions:
                tx.save(ins, condition=InstructionModel.id.does_not_exist())
            for op in self.extra:
                op(tx)
            if self.close_service and include_service:
                tx.update(ServiceModel(order.service_id),
                          actions=[ServiceModel.open_orders.add(-1)],
                          condition=ServiceModel.open_orders > 0)


def transition(actor: Caller, order_id: str, action: str, now: datetime, *,
               params: dict | None = None, data: dict | None = None) -> OrderModel:
    """Apply one action to an order: decide, commit conditionally, execute its money."""
    include_service = True
    for _ in range(ATTEMPTS):
        order = load(order_id)
        try:
            outcome = life.decide(order.status, action, role_of(actor, order), facts(order, now))
        except InvalidTransition:
            if moved_by_this_request(order):
                return order
            raise
        change = _Change(order, outcome, actor, now, params or {}, data or {})
        try:
            change.commit(include_service)
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if codes and codes[0] == "ConditionalCheckFailed":
                continue  # the order moved: the next read decides again (→ 409 if now wrong)
            if change.close_service and codes and codes[-1] == "ConditionalCheckFailed":
                # The service's counter is gone or already zero: closing must not wait on it.
                log.error("order %s: service %s open_orders not decremented", order.id,
                          order.service_id)
                include_service = False
                continue
            if action == life.DELIVER and "ConditionalCheckFailed" in codes:
                raise ValidationFailed("a file is unknown or already part of a delivery",
                                       errors=[{"field": "file_ids",
                                                "problem": "already delivered or unknown"}])
            if "TransactionConflict" in codes:
                continue
            raise
        observability.order_transition(action, outcome.from_status, outcome.to, order.id)
        escrow.execute_quietly([i.id for i in change.instructions], now)
        fresh = load(order_id)
        _after(fresh, action, change, now)
        return fresh
    raise Conflict()


def new_event(order_id, seq, type_, from_status, to_status, actor, at, data) -> OrderEventModel:
    return OrderEventModel(order_id, seq, type=type_, from_status=from_status,
                           to_status=to_status, actor=actor.user_id, at=at, data=data or {},
                           request_key=idempotency.current_request_key())


def moved_by_this_request(order: OrderModel) -> bool:
    """Whether the order's latest change was made by the request being served: a retry,
    with the same Idempotency-Key, of a commit whose answer was lost. Read only when an
    action is refused for the state, so it costs nothing on the normal path."""
    key = idempotency.current_request_key()
    if key is None:
        return False
    try:
        latest = OrderEventModel.get(order.id, int(order.version), consistent_read=True)
    except DoesNotExist:
        return False
    return latest.request_key == key



# --- after a commit ----------------------------------------------------------
_NOTICES = {
    life.PAY: ("provider", "order_paid", "买家已付款，等待您确认"),
    life.ACCEPT: ("buyer", "accepted", "服务商已接单"),
    life.REJECT: ("buyer", "rejected", "服务商拒绝了订单，款项将原路退回"),
    life.DELIVER: ("buyer", "delivered", "服务商已上传终稿，请验收"),
    life.APPROVE: ("provider", "approved", "买家已验收，款项已结算"),
    life.REQUEST_REVISION: ("provider", "revision_requested", "买家要求修改"),
    life.CANCEL: ("provider", "cancelled", "买家取消了订单"),
    life.DISPUTE: ("other", "disputed", "订单进入纠纷处理"),
    life.RESOLVE: ("both", "resolved", "平台已裁决"),
    life.EXPIRE: ("provider", "cancelled", "订单超时未确认，已失效"),
    life.CLOSE_UNPAID: ("buyer", "cancelled", "订单超时未付款，已关闭"),
}


def _after(order: OrderModel, action: str, change: _Change, now: datetime) -> None:
    notice = _NOTICES.get(action)
    if notice:
        who, kind, text = notice
        if who == "other":
            who = "provider" if change.actor.user_id == order.buyer_id else "buyer"
        targets = {"buyer": [order.buyer_id], "provider": [order.provider_id],
                   "both": [order.buyer_id, order.provider_id]}[who]
        for user in targets:
            notify(user, kind, order, f"{order.service.title}：{text}", now)
    refunds = [i for i in change.instructions if i.kind == money.REFUND]
    if refunds:
        notify(order.buyer_id, "refunded", order,
                f"{order.service.title}：已退款 {sum(int(i.amount) for i in refunds)} 分", now)


def notify(user_id: str, kind: str, order: OrderModel, text: str, now: datetime) -> None:
    if notifications is None:
        return
    try:
        notifications.notify(user_id, kind, order_id=order.id, service_id=order.service_id,
                             text=text, now=now)
    except Exception:  # noqa: BLE001 - a lost notice must never fail the transition
        log.exception("notify %s of %s failed", user_id, kind)
