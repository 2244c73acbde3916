"""The proposal effects of an order's move (domain.orders names them): opening one (and
a buyer's refund request withdrawing the one it found), an accepted extension, ending
one with its answer, and lapsing an open one when the order changes state — each
written in the move's own transaction. Mixed into the engine's change."""
from chalicelib import clock
from chalicelib.domain import orders as life
from chalicelib.domain import proposals as deals
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.proposals import ProposalModel


class ProposalMoves:
    """What a move does to the order's proposals."""

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
