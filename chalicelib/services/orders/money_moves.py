"""The money effects of an order's move (domain.orders names them): funding, releases
done in the move's own commit, refunds recorded for the gateway, deposit reversals
(全额退款), splits, partial refunds and price changes. Mixed into the engine's change,
whose `_set`/`_add`/`_set_step` write the order item; the escrow's counters move only
through storage.escrow_counters, which checks them on every change."""
from collections import Counter

from chalicelib import settings
from chalicelib.domain import escrow as money
from chalicelib.domain import orders as life
from chalicelib.services import escrow
from chalicelib.services.orders.state import plan_version
from chalicelib.storage import escrow_counters
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.ledger import PostingModel
from chalicelib.storage.orders import Milestone, OrderModel


class MoneyMoves:
    """What a move does to the order's money; `escrow` and `instructed` are the change's
    escrow deltas and the refunds it records, `releases` and `instructions` what it
    writes to the ledger."""

    escrow: Counter
    instructed: int

    def _instruct(self, kind: str, amount: int, step: int | None):
        if amount > 0:
            # A release is done in this commit; a refund waits for the gateway.
            release = kind == money.RELEASE
            ins = escrow.order_instruction(self.order, kind, amount, step, self.now,
                                           done=release)
            (self.releases if release else self.instructions).append(ins)

    def _move_escrow(self, deltas: dict):
        self.escrow.update(deltas)

    def _book_money(self):
        """Releases leave escrow in this commit; refunds are held back until the gateway
        has paid them (`escrow_instructed`)."""
        released = sum(int(i.amount) for i in self.releases)
        if any(int(i.amount) > int(i.fee or 0) for i in self.releases):
            # Read to repay a debt first; the commit is conditional on it being unchanged.
            self.heads = escrow.read_heads(self.order.provider_id)
        if released:
            self._move_escrow(money.release(released))
        self.instructed = sum(int(i.amount) for i in self.instructions)

    def _write_escrow(self):
        """The escrow's counters, through the one place that checks them (it raises on a
        change that breaks funded = held + released + refunded or takes held below 0)."""
        actions, condition = escrow_counters.update(OrderModel, dict(self.escrow),
                                                    before=self.order,
                                                    instructed=self.instructed)
        self.actions += actions
        if condition is not None:
            self.conditions.append(condition)
        escrow_counters.mirror(self.after, dict(self.escrow))
        self.after.escrow_instructed = int(self.after.escrow_instructed or 0) + self.instructed

    def refunds_done(self, instruction_ids) -> OrderModel:
        """`after`, with the refunds the gateway has paid since the commit moved out."""
        for ins in self.instructions:
            if ins.id in instruction_ids:
                amount = int(ins.amount)
                escrow_counters.mirror(self.after, money.refund(amount))
                self.after.escrow_instructed = int(self.after.escrow_instructed) - amount
        return self.after

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
        self._move_escrow(money.fund(amount))
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
        self._move_escrow(money.reverse(self.reversed))
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
        self.instructions.append(escrow.order_instruction(
            self.order, money.REFUND, refund, None, self.now,
            instruction_id=money.partial_refund_id(self.order.id, proposal_id)))
        self.data["refund"] = refund
