"""The transition engine: the one change that commits a decided move (reading the order,
the caller's role and the facts is `state`; what a move tells whom is `notices`).

Each transition reads the order once, asks `domain.orders.decide` what the move means,
and commits it as ONE TransactWrite: the order update (conditional on the status and
version it read, bumping the version), the event (seq = the new version), the notices
and their readers' unread counters, each internal release (escrow → provider: its
postings, the provider's account head, its instruction recorded done), the refund
instructions, and the service's open-order counter when the order closes. A refused
condition means somebody moved first: the order is read again and the decision re-made,
which turns into the right 409. The effects are methods of the change, by what they
touch: the order's money in `money_moves` (its escrow counters only through
storage.escrow_counters, which asserts the escrow invariant), its proposals in
`proposal_moves`, the rest (delivery, dispute, closing) here.

Refunds leave the platform through the gateway, so they stay instructions: executed
right after the commit, or by the `release_escrow` sweep after a crash in between. The
answer is the order as this move left it (the read plus the move's writes, plus the
refunds that went through), never a second read.
"""
import logging
from collections import Counter
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, observability
from chalicelib.domain import orders as life
from chalicelib.domain import proposals as deals
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (InvalidTransition, ProviderNotApproved,
                                      ValidationFailed)
from chalicelib.services import (analytics, escrow, instructions, notifications, optimistic,
                                 provider_stats)
from chalicelib.services.orders.state import (  # noqa: F401 - re-exported to the use cases
    facts, load, milestones_of, order_deadlines, plan_version, price_agreed,
    proposal_windows, role_of, timer_actions, timer_inputs, timer_values, windows)
from chalicelib.services.orders.money_moves import MoneyMoves
from chalicelib.services.orders.notices import notices_of
from chalicelib.services.orders.proposal_moves import ProposalMoves
from chalicelib.storage.catalog import ProviderModel, ServiceModel, UserModel
from chalicelib.storage.ledger import InstructionModel
from chalicelib.storage.orders import (DeliverableModel, OrderEventModel,
                                       OrderModel, status_key)
from chalicelib.storage.proposals import ProposalModel
from chalicelib.storage import status_shards

log = logging.getLogger("market.orders")

# DynamoDB attribute name → the model's attribute name, to keep the answer in step.
_NAMES = {a.attr_name: name for name, a in OrderModel.get_attributes().items()}


class _Change(MoneyMoves, ProposalMoves):
    """One transition's writes, built from the decided effects, committed together; and
    `after`, the order as they leave it (what the caller is answered)."""

    def __init__(self, order: OrderModel, outcome: life.Outcome, actor: Caller, now: datetime,
                 params: dict, data: dict, request_key: str | None):
        self.order, self.outcome, self.actor, self.now = order, outcome, actor, now
        self.request_key = request_key
        self.notices: list = []  # set by transition(): what this move tells whom
        self.params, self.data = params, dict(data)
        self.at = clock.to_key(now)
        self.after = OrderModel.from_raw_data(order.serialize())
        to = outcome.to
        self.version = int(order.version) + 1
        self.actions: list = []
        self.deltas: Counter = Counter()  # counters the move adds to, one action each
        self.escrow: Counter = Counter()  # the escrow's (storage.escrow_counters)
        self.instructed = 0  # refunds recorded, held until the gateway pays them
        for attribute, value in ((OrderModel.status, to), (OrderModel.version, self.version),
                                 (OrderModel.status_shard,
                                  status_shards.status_key(to, order.id)),
                                 (OrderModel.updated_at, self.at),
                                 (OrderModel.buyer_status, status_key(order.buyer_id, to)),
                                 (OrderModel.provider_status,
                                  status_key(order.provider_id, to))):
            self._set(attribute, value)
        self.timer_changes = {"status": to}
        self.instructions: list[InstructionModel] = []  # refunds: through the gateway, later
        self.releases: list[InstructionModel] = []  # escrow → provider: done in this commit
        self.extra = []  # writes to other items that belong to this move (tx → None)
        self.conditions = []  # what the order item must also satisfy, besides status+version
        self.close_service = False
        self.reversed = 0  # a released deposit taken back into escrow (全额退款)
        self.heads = None  # the provider's heads, read when a release repays its debt
        self.milestones = milestones_of(order)
        for effect in outcome.effects:
            getattr(self, f"_{effect}")()
        if to != outcome.from_status and not {life.END_PROPOSAL, life.RESUME} \
                & set(outcome.effects):
            self._lapse_proposal()
        self._book_money()
        for name, value in timer_values(order.id, timer_inputs(order,
                                                               **self.timer_changes)).items():
            attribute = OrderModel.get_attributes()[name]
            self._set(attribute, value) if value is not None else self._remove(attribute)
        for name, delta in self.deltas.items():
            if delta:
                self.actions.append(OrderModel.get_attributes()[name].add(delta))
                setattr(self.after, name, int(getattr(self.after, name) or 0) + delta)
        self._write_escrow()
        # As a read would give it back (maps as MapAttribute, numbers as numbers).
        self.after = OrderModel.from_raw_data(self.after.serialize())

    # --- the order item's writes, mirrored in `after` ------------------------------
    def _set(self, attribute, value):
        self.actions.append(attribute.set(value))
        setattr(self.after, _NAMES[attribute.attr_name], value)

    def _remove(self, attribute):
        self.actions.append(attribute.remove())
        setattr(self.after, _NAMES[attribute.attr_name], None)

    def _add(self, attribute, amount: int):
        self.deltas[_NAMES[attribute.attr_name]] += amount

    def _set_step(self, index: int, status: str):
        self.milestones[index]["status"] = status
        self.actions.append(OrderModel.milestones[index].status.set(status))
        self.after.milestones[index].status = status

    # --- effects (domain.orders names them) ----------------------------------------
    def _check_provider(self):
        # The provider's standing is not read to decide: this check in the accepting
        # transaction refuses a suspended provider, however late the suspension landed.
        P = ProviderModel
        self.extra.append(lambda tx: tx.condition_check(
            "provider", P, self.order.provider_id,
            condition=P.user_id.does_not_exist() | (P.status == "approved")))

    def _same_delivery(self):
        # The window that passed belongs to this delivery: status and version already
        # pin it, and saying so keeps the auto-approval from ever approving a newer one.
        self.conditions.append(OrderModel.delivered_at == self.order.delivered_at)

    def _count_revision(self):
        self._add(OrderModel.revision_count, 1)

    def _record_delivery(self):
        number = int(self.order.delivery_count or 0) + 1
        # A new delivery opens a new review window, with its own reminder.
        sent = [r for r in self.order.reminders_sent or []
                if r != life.reminder_name("auto_approve_at")]
        self._set(OrderModel.delivery_count, number)
        self._set(OrderModel.delivered_at, self.at)
        self._set(OrderModel.reminders_sent, sent)
        self.timer_changes.update(delivered_at=self.now, reminders_sent=sent)
        if number == 1:
            self._set(OrderModel.first_delivered_at, self.at)
        self.data["version"] = number
        pins = self.params.get("pins") or {}
        for file_id in self.params["file_ids"]:
            # A file belongs to one delivery: a delivery is a fixed, numbered version,
            # and the pinned copy it records is what everyone downloads from now on.
            self.extra.append(lambda tx, f=file_id: tx.update(
                "deliverable", DeliverableModel(self.order.id, f),
                actions=[DeliverableModel.version.set(number),
                         DeliverableModel.delivered_at.set(self.at),
                         *([DeliverableModel.pinned_key.set(pins[f])] if f in pins else [])],
                condition=DeliverableModel.file_id.exists()
                & DeliverableModel.version.does_not_exist()))

    def _record_dispute(self):
        self._set(OrderModel.dispute, {"by": self.actor.user_id,
                                       "reason": self.params.get("reason", ""),
                                       "at": self.at, "from_status": self.order.status,
                                       # An escalated refund request (None otherwise).
                                       "proposal_id": self.params.get("proposal_id")})
        self._set(OrderModel.disputes_opened_at,
                  [*(self.order.disputes_opened_at or []), self.at])
        # Each dispute takes its own evidence (举证), counted per party from zero.
        self._set(OrderModel.evidence_by_buyer, 0)
        self._set(OrderModel.evidence_by_provider, 0)
        self.timer_changes["dispute_at"] = self.now

    def _resume(self):
        """A withdrawn dispute: the order is back where it was and its relative timers
        (accept window, auto-approval) start again from now, their reminders with them;
        a settlement proposal still open stays open with a fresh expiry, answered as its
        kind is in the state the order returns to (a buyer's cancel becomes a refund
        request the sweep grants)."""
        restarted = {life.reminder_name(n) for n in ("accept_by", "auto_approve_at",
                                                     "refund_answer_by")}
        sent = [r for r in self.order.reminders_sent or [] if r not in restarted]
        record = self.order.dispute.as_dict() if hasattr(self.order.dispute, "as_dict") \
            else dict(self.order.dispute or {})
        self._set(OrderModel.dispute, {**record, "withdrawn_at": self.at})
        self._set(OrderModel.timers_restarted_at, self.at)
        self._set(OrderModel.reminders_sent, sent)
        self.timer_changes.update(restarted_at=self.now, reminders_sent=sent)
        self.data["dispute_at"] = record.get("at")
        proposal = self.params.get("open_proposal")
        if proposal is None:
            return
        refund_request = deals.is_refund_request(proposal.kind, proposal.by_role,
                                                 self.outcome.to)
        answer, ttl = proposal_windows()
        expires = clock.to_key(deals.expires_at(self.now, refund_request,
                                                refund_answer=answer, ttl=ttl))
        self.conditions.append(OrderModel.open_proposal == proposal.id)
        self._set(OrderModel.proposal_expires_at, expires)
        self._set(OrderModel.refund_request_open, refund_request)
        self.timer_changes.update(proposal_expires_at=clock.from_key(expires),
                                  refund_request_open=refund_request)
        self.data.update(proposal_id=proposal.id, proposal_expires_at=expires)
        self.extra.append(lambda tx: tx.update(
            "proposal", ProposalModel(self.order.id, proposal.id),
            actions=[ProposalModel.expires_at.set(expires)],
            condition=ProposalModel.status == deals.OPEN))

    def _flag_late_cancel(self):
        self._set(OrderModel.late_cancel_eligible, True)
        self.timer_changes["late_cancel_eligible"] = True

    def _close(self):
        self._set(OrderModel.closed_at, self.at)
        # Only an order holding a capacity slot gives one back: one that was never paid
        # nor paying took none (None: placed when placing took the slot).
        self.close_service = self.order.holds_slot is not False
        self._remove(OrderModel.pending_payment)  # a payment arriving now is refunded
        self._uncount_unpaid()

    def _uncount_unpaid(self):
        """The order stops being one of its buyer's unpaid orders (MAX_UNPAID_ORDERS)."""
        if not self.order.unpaid_counted:
            return
        self._set(OrderModel.unpaid_counted, False)
        self.extra.append(lambda tx: tx.update(
            "unpaid", UserModel(self.order.buyer_id), actions=[UserModel.unpaid_orders.add(-1)]))

    include_service = True  # False once the service's counter refused to go down

    def commit(self, tx):
        order = self.order
        with tx:
            # status AND version: the state we decided on is exactly the one we read.
            condition = (OrderModel.status == self.outcome.from_status) \
                & (OrderModel.version == int(order.version))
            for extra in self.conditions:
                condition &= extra
            tx.update("order", OrderModel(order.id), actions=self.actions, condition=condition)
            event = new_event(order.id, self.version, self.outcome.event_type,
                              self.outcome.from_status, self.outcome.to, self.actor, self.at,
                              self.data, self.request_key)
            tx.save("event", event, condition=OrderEventModel.seq.does_not_exist())
            for ins in self.instructions:
                tx.save("instruction", ins, condition=InstructionModel.id.does_not_exist())
            if self.releases:
                escrow.release_within(tx, self.releases, self.at, heads=self.heads)
            for op in self.extra:
                op(tx)
            # The provider's record moves with the move (completions, rates, medians).
            for op in provider_stats.move_writes(
                    order, self.outcome, self.now, self.params,
                    refunds=sum(int(i.amount) for i in self.instructions)):
                op(tx)
            analytics.order_moved(tx, order, self.outcome, self.now)  # its day's counters
            # The notices this move sends, and their readers' unread counters: written
            # with the move, so a crash can never keep the one and lose the other.
            if self.notices:
                notifications.write_in(tx, self.notices)
            if self.close_service and self.include_service:
                tx.update("service", ServiceModel(order.service_id),
                          actions=[ServiceModel.open_orders.add(-1)],
                          condition=ServiceModel.open_orders > 0)


def transition(actor: Caller, order_id: str, action: str, now: datetime, *,
               params: dict | None = None, data: dict | None = None,
               request_key: str | None = None, prepare=None,
               read: OrderModel | None = None) -> OrderModel:
    """Apply one action to an order: decide, commit conditionally, execute its refunds;
    the order as the move left it.

    `request_key` (`<caller>#<Idempotency-Key>@<window start>`, None without a key) is
    recorded on the event, so that a retry whose first commit landed but lost its answer is recognised
    and answered as the first run would have been. `prepare(order, role)`, if given, runs
    on every attempt's fresh read after the table allowed the move: it may refuse (a
    named error) or return more params for the effects. `read`, the order as the caller
    has just read it (consistently), spares the first attempt a second read; the commit's
    condition on its version makes that as safe as reading again."""
    include_service = [True]

    def build(attempt):
        order = read if attempt == 0 and read is not None else load(order_id)
        try:
            role = role_of(actor, order)
            outcome = life.decide(order.status, action, role, facts(order, now))
            more = prepare(order, role) if prepare else {}
        except InvalidTransition:
            if moved_by_this_request(order, request_key):
                raise _AlreadyMoved(order)
            raise
        change = _Change(order, outcome, actor, now, {**(params or {}), **more}, data or {},
                         request_key)
        change.notices = notices_of(order, action, change, now)
        change.include_service = include_service[0]
        return change

    def refused(refusal, change) -> bool:
        if refusal.failed("event"):
            return True  # the order moved: the next read decides again (→ 409 if now wrong)
        if refusal.failed("provider"):
            raise ProviderNotApproved()
        if refusal.failed("provider_available") or refusal.failed("provider_debt"):
            return True  # the provider's balance moved meanwhile: read and decide again
        if refusal.failed(provider_stats.PAIR):
            return True  # another pay of this buyer with this provider counted first
        if refusal.failed("proposal"):
            # The proposal was answered meanwhile: the next read decides again (and
            # refuses if the move no longer holds).
            return True
        if refusal.failed("service"):
            # The service's counter is gone or already zero: closing must not wait on it.
            log.error("order %s: service %s open_orders not decremented", change.order.id,
                      change.order.service_id)
            include_service[0] = False
            return True
        if refusal.failed("deliverable"):
            raise ValidationFailed("a file is unknown or already part of a delivery",
                                   errors=[{"field": "file_ids",
                                            "problem": "already delivered or unknown"}])
        return False

    try:
        change = optimistic.run(build, lock="order", refused=refused)
    except _AlreadyMoved as moved:
        return moved.order
    observability.order_transition(action, change.outcome.from_status, change.outcome.to,
                                   change.order.id)
    done = instructions.execute_quietly(change.instructions, now)
    return change.refunds_done(done)


class _AlreadyMoved(Exception):
    """The order's latest change is this request's own (a retry whose answer was lost)."""

    def __init__(self, order: OrderModel):
        super().__init__("already moved by this request")
        self.order = order


def new_event(order_id, seq, type_, from_status, to_status, actor, at, data,
              request_key) -> OrderEventModel:
    return OrderEventModel(order_id, seq, type=type_, from_status=from_status,
                           to_status=to_status, actor=actor.user_id, at=at, data=data or {},
                           request_key=request_key)


def moved_by_this_request(order: OrderModel, request_key: str | None) -> bool:
    """Whether the order's latest change was made by the request being served: a retry,
    with the same Idempotency-Key, of a commit whose answer was lost. Read only when an
    action is refused for the state, so it costs nothing on the normal path."""
    if request_key is None:
        return False
    try:
        latest = OrderEventModel.get(order.id, int(order.version), consistent_read=True)
    except DoesNotExist:
        return False
    return latest.request_key == request_key
