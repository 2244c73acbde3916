"""The transition engine: the one change that commits a decided move (reading the order,
the caller's role and the facts is `state`; what a move tells whom is `notices`).

Each transition reads the order once, asks `domain.orders.decide` what the move means,
and commits it as ONE TransactWrite: the order update (conditional on the status and
version it read, bumping the version), the event (seq = the new version), the notices
and their readers' unread counters, each internal release (escrow → provider: its
postings, the provider's account head, its instruction recorded done), the refund
instructions, and the service's open-order counter when the order closes. A refused
condition means somebody moved first: the order is read again and the decision re-made,
which turns into the right 409.

Refunds leave the platform through the gateway, so they stay instructions: executed
right after the commit, or by the `release_escrow` sweep after a crash in between. The
answer is the order as this move left it (the read plus the move's writes, plus the
refunds that went through), never a second read.
"""
import logging
from collections import Counter
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock, observability, settings
from chalicelib.domain import escrow as money
from chalicelib.domain import orders as life
from chalicelib.domain import proposals as deals
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import (InvalidTransition, ProviderNotApproved,
                                      ValidationFailed)
from chalicelib.services import analytics, escrow, notifications, optimistic, provider_stats
from chalicelib.services.orders.state import (  # noqa: F401 - re-exported to the use cases
    ATTEMPTS, facts, load, milestones_of, order_deadlines, plan_version, price_agreed, role_of,
    timer_actions, timer_inputs, timer_values, windows)
from chalicelib.services.orders.notices import notices_of
from chalicelib.storage.catalog import ProviderModel, ServiceModel, UserModel
from chalicelib.storage.ledger import InstructionModel, PostingModel
from chalicelib.storage.orders import (DeliverableModel, Milestone, OrderEventModel,
                                       OrderModel, status_key)
from chalicelib.storage.proposals import ProposalModel

log = logging.getLogger("market.orders")

# DynamoDB attribute name → the model's attribute name, to keep the answer in step.
_NAMES = {a.attr_name: name for name, a in OrderModel.get_attributes().items()}


class _Change:
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
        for attribute, value in ((OrderModel.status, to), (OrderModel.version, self.version),
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
        if to != outcome.from_status and life.END_PROPOSAL not in outcome.effects:
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

    def _instruct(self, kind: str, amount: int, step: int | None):
        if amount > 0:
            ins = escrow.new_instruction(self.order, kind, amount, step, self.now)
            (self.releases if kind == money.RELEASE else self.instructions).append(ins)

    def _book_money(self):
        """Releases leave escrow in this commit; refunds are held back until the gateway
        has paid them (`escrow_instructed`)."""
        released = sum(int(i.amount) for i in self.releases)
        if any(int(i.amount) > int(i.fee or 0) for i in self.releases):
            # Read to repay a debt first; the commit is conditional on it being unchanged.
            self.heads = escrow.read_heads(self.order.provider_id)
        if released:
            self._add(OrderModel.escrow_held, -released)
            self._add(OrderModel.escrow_released, released)
            # Escrow never goes below zero, whatever ran before this move.
            self.conditions.append(OrderModel.escrow_held >= released)
        instructed = sum(int(i.amount) for i in self.instructions)
        if instructed:
            self._add(OrderModel.escrow_instructed, instructed)

    def refunds_done(self, instruction_ids) -> OrderModel:
        """`after`, with the refunds the gateway has paid since the commit moved out."""
        for ins in self.instructions:
            if ins.id in instruction_ids:
                amount = int(ins.amount)
                self.after.escrow_held = int(self.after.escrow_held) - amount
                self.after.escrow_refunded = int(self.after.escrow_refunded) + amount
                self.after.escrow_instructed = int(self.after.escrow_instructed) - amount
        return self.after

    # --- effects (domain.orders names them) ----------------------------------------
    def _fund(self):
        amount, ref = self.params["amount"], self.params["payment_ref"]
        payment_id = self.params.get("payment_id") or self.order.id
        # The payment funds the plan it was started for, and only while it is the order's
        # open payment: a price or plan change, or a newer payment, makes this refuse
        # (the confirmation is then refunded: services.orders.placing.confirm_funding).
        self.conditions.append(OrderModel.amount == amount)
        if self.params.get("plan_version") is not None:
            version = int(self.params["plan_version"])
            self.conditions.append(
                (OrderModel.plan_version == version) if version > 1 else
                (OrderModel.plan_version.does_not_exist() | (OrderModel.plan_version == 1)))
        self.conditions.append((OrderModel.pending_payment == payment_id) | (
            OrderModel.pending_payment.does_not_exist() & OrderModel.payment_seq.does_not_exist()))
        self._remove(OrderModel.pending_payment)
        self._uncount_unpaid()
        if self.order.holds_slot is False:
            # Funded without a payment opened through pay (a confirmation that reached
            # us first): the money is in, so the slot is taken whatever the capacity.
            self._set(OrderModel.holds_slot, True)
            self.extra.append(lambda tx: tx.update(
                "slot", ServiceModel(self.order.service_id),
                actions=[ServiceModel.open_orders.add(1)]))
        self._add(OrderModel.escrow_funded, amount)
        self._add(OrderModel.escrow_held, amount)
        self._set(OrderModel.payment_ref, ref)
        self._set(OrderModel.paid_at, self.at)
        self.timer_changes["paid_at"] = self.now
        self.order.payment_ref = ref
        self.data.update(amount=amount, payment_ref=ref)
        posting = money.posting_for(money.FUND, self.order.id, self.order.provider_id, amount)
        self.extra.append(lambda tx: tx.save(
            "posting", PostingModel(money.funding_id(payment_id),
                                    from_account=posting.from_account,
                                    to_account=posting.to_account, amount=amount,
                                    order_id=self.order.id, kind=money.FUND, at=self.at,
                                    account=money.statement_account(posting)),
            condition=PostingModel.id.does_not_exist()))

    def _release_deposit(self):
        steps = money.deposit_steps(self.milestones)
        for i in steps:
            self._instruct(money.RELEASE, self.milestones[i]["amount"], i)
            self._set_step(i, money.RELEASED)
        self._set(OrderModel.current_step, money.first_approval_step(self.milestones))
        self._set(OrderModel.accepted_at, self.at)
        self.data["released_steps"] = steps

    def _release_step(self):
        i = int(self.order.current_step)
        self._instruct(money.RELEASE, self.milestones[i]["amount"], i)
        self._set_step(i, money.RELEASED)
        self._set(OrderModel.current_step, i + 1)
        self.data.update(step=i, amount=self.milestones[i]["amount"])
        if self.outcome.to == life.COMPLETED:
            self._set(OrderModel.completed_at, self.at)
            self.timer_changes["completed_at"] = self.now

    def _reverse_deposit(self):
        """全额退款: the deposit steps released at acceptance come back into escrow (to be
        refunded with the rest), from the provider's available balance or as its debt,
        their platform fee with them."""
        steps = money.released_deposits(self.milestones)
        if not steps:
            return
        heads = escrow.read_heads(self.order.provider_id)
        reversals = money.plan_reversals(
            [(i, self.milestones[i]["amount"], escrow.released_fee(self.order.id, i))
             for i in steps], heads.available or 0)
        for r in reversals:
            self._set_step(r.step, money.REFUNDED)
        self.reversed = sum(r.amount for r in reversals)
        # escrow.released is net of reversals; the refund below takes the money out.
        self._add(OrderModel.escrow_released, -self.reversed)
        self._add(OrderModel.escrow_held, self.reversed)
        self.data["reversed"] = [{"step": r.step, "amount": r.amount, "fee": r.fee,
                                  "from_available": r.from_available, "debt": r.borrowed}
                                 for r in reversals]
        self.extra.append(lambda tx: escrow.reverse_within(tx, self.order.id, reversals,
                                                           heads, self.at))

    def _refund_held(self):
        amount = money.undecided_amount(self.milestones) + self.reversed
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

    def _change_price(self):
        amount = self.params["amount"]
        plan = money.plan_milestones(amount, self.params.get("milestones"),
                                     self.order.service.title,
                                     deposit_max_bps=settings.get().deposit_max_bps)
        # The provider's amount is agreed the moment it is set; the buyer's waits for it.
        # Either way the plan gets a new version: the buyer's consent is the payment,
        # which is pinned to the version it was started for (and to the one the buyer
        # names), so a re-posted plan is never paid without being seen.
        agreed = self.actor.user_id == self.order.provider_id
        version = plan_version(self.order) + 1
        self.milestones = plan
        self._set(OrderModel.amount, amount)
        self._set(OrderModel.milestones, [Milestone(**m) for m in plan])
        self._set(OrderModel.current_step, 0)
        self._set(OrderModel.price_agreed, agreed)
        self._set(OrderModel.plan_version, version)
        # No change while a payment is open at the gateway: it pays the plan as it was.
        self.conditions.append(OrderModel.pending_payment.does_not_exist())
        self.data.update(amount=amount, previous_amount=int(self.order.amount),
                         price_agreed=agreed, steps=len(plan), plan_version=version,
                         plan=[{k: m[k] for k in ("title", "amount", "release")}
                               for m in plan])

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

    def _open_proposal(self):
        proposal = self.params["proposal"]
        self._set(OrderModel.open_proposal, proposal.id)
        replaced = self.params.get("replaces")
        if replaced:
            # A buyer's refund request withdraws the proposal it found open, in this write.
            self.conditions.append(OrderModel.open_proposal == replaced)
            self._mark_proposal(replaced, deals.WITHDRAWN, "system")
            self.data["withdrawn_proposal"] = replaced
        else:
            # One open proposal per order, said by the write itself (the version check
            # alone would say it too, but only as a side effect of the read).
            self.conditions.append(OrderModel.open_proposal.does_not_exist())
        refund_request = bool(self.params.get("refund_request"))
        self._set(OrderModel.proposal_expires_at, proposal.expires_at)
        self._set(OrderModel.refund_request_open, refund_request)
        # A new refund request gets its own reminder to the provider.
        sent = [r for r in self.order.reminders_sent or []
                if r != life.reminder_name("refund_answer_by")]
        self._set(OrderModel.reminders_sent, sent)
        self.timer_changes.update(proposal_expires_at=clock.from_key(proposal.expires_at),
                                  refund_request_open=refund_request, reminders_sent=sent)
        self.extra.append(lambda tx: tx.save("proposal", proposal,
                                             condition=ProposalModel.id.does_not_exist()))
        self.data.update(proposal_id=proposal.id, kind=proposal.kind, **{
            name: getattr(proposal, name) for name in ("due_at", "refund", "release")
            if getattr(proposal, name) is not None})

    def _extend(self):
        due_at = self.params["due_at"]
        # The late-cancel deadline (and its reminder) follow due_at: a flag or a reminder
        # that belonged to the old date no longer holds for the agreed one.
        reminders = [r for r in self.order.reminders_sent or []
                     if r != life.reminder_name("late_cancel_from")]
        self._set(OrderModel.due_at, clock.to_key(due_at))
        self._set(OrderModel.late_cancel_eligible, False)
        self._set(OrderModel.reminders_sent, reminders)
        self.timer_changes.update(due_at=due_at, late_cancel_eligible=False,
                                  reminders_sent=reminders)
        self.data.update(from_due_at=self.order.due_at, due_at=clock.to_key(due_at))

    def _end_proposal(self):
        proposal_id, status = self.params["proposal_id"], self.params["proposal_status"]
        self._close_proposal_timers()
        self.conditions.append(OrderModel.open_proposal == proposal_id)
        self._mark_proposal(proposal_id, status, self.actor.user_id)
        self.data["proposal_id"] = proposal_id

    def _lapse_proposal(self):
        """The order changes state: an open proposal lapses, in this same transaction."""
        self._close_proposal_timers()
        proposal_id = self.order.open_proposal
        if not proposal_id:
            return
        self.data["lapsed_proposal"] = proposal_id
        self._mark_proposal(proposal_id, deals.LAPSED, "system")

    def _close_proposal_timers(self):
        self._remove(OrderModel.open_proposal)
        self._remove(OrderModel.proposal_expires_at)
        self._remove(OrderModel.refund_request_open)
        self.timer_changes.update(proposal_expires_at=None, refund_request_open=False)

    def _mark_proposal(self, proposal_id: str, status: str, by: str):
        # Only an open proposal is decided, once: its answer and the order's move commit
        # together or not at all.
        self.extra.append(lambda tx: tx.update(
            "proposal", ProposalModel(self.order.id, proposal_id),
            actions=[ProposalModel.status.set(status), ProposalModel.decided_at.set(self.at),
                     ProposalModel.decided_by.set(by)],
            condition=ProposalModel.status == deals.OPEN))

    def _partial_refund(self):
        """部分退款: the refund leaves escrow through the gateway, off the last pending
        steps first; the order goes on with what is left of its plan."""
        refund, proposal_id = self.params["refund"], self.params["proposal_id"]
        for i, left, status in money.refund_off_last_steps(self.milestones, refund):
            taken = self.milestones[i]["amount"] - left
            before = self.order.milestones[i].refunded
            self.milestones[i]["amount"] = left
            self.actions.append(OrderModel.milestones[i].amount.set(left))
            self.after.milestones[i].amount = left
            self.actions.append(OrderModel.milestones[i].refunded.set(int(before or 0) + taken))
            self.after.milestones[i].refunded = int(before or 0) + taken
            if status != money.PENDING:
                self._set_step(i, status)
        # Its own instruction id: a later full refund or another partial one never
        # collides with it, and recording this one twice does.
        self.instructions.append(escrow.new_instruction(
            self.order, money.REFUND, refund, None, self.now,
            instruction_id=money.partial_refund_id(self.order.id, proposal_id)))
        self.data["refund"] = refund

    def _record_dispute(self):
        self._set(OrderModel.dispute, {"by": self.actor.user_id,
                                       "reason": self.params.get("reason", ""),
                                       "at": self.at, "from_status": self.order.status,
                                       # An escalated refund request (None otherwise).
                                       "proposal_id": self.params.get("proposal_id")})

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
        change = optimistic.run(build, lock="order", refused=refused, attempts=ATTEMPTS)
    except _AlreadyMoved as moved:
        return moved.order
    observability.order_transition(action, change.outcome.from_status, change.outcome.to,
                                   change.order.id)
    done = escrow.execute_quietly(change.instructions, now)
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
