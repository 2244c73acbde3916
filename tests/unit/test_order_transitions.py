"""The order life cycle as a table: every state × action × role, without AWS."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import orders as life
from chalicelib.domain.errors import (CancelNotAllowed, Forbidden, InvalidTransition,
                                      PriceNotAgreed, ProviderNotApproved)

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
WINDOWS = life.Windows(payment=timedelta(hours=72), accept=timedelta(days=7),
                       late_cancel=timedelta(days=15), review=timedelta(days=15),
                       reminder_before=timedelta(days=1))

# The whole expected table, written out by hand: (state, action, role) → next state.
# Guards are satisfied here (windows open for pay/accept, passed for the sweeps).
EXPECTED = {
    ("awaiting_payment", "pay", "buyer"): "awaiting_provider",
    ("awaiting_payment", "pay", "system"): "awaiting_provider",
    ("awaiting_payment", "cancel", "buyer"): "cancelled",
    ("awaiting_payment", "close_unpaid", "system"): "cancelled",
    ("awaiting_payment", "set_price", "buyer"): "awaiting_payment",
    ("awaiting_payment", "set_price", "provider"): "awaiting_payment",
    ("awaiting_provider", "accept", "provider"): "in_progress",
    ("awaiting_provider", "reject", "provider"): "rejected",
    ("awaiting_provider", "expire", "system"): "expired",
    ("awaiting_provider", "dispute", "buyer"): "disputed",
    ("awaiting_provider", "dispute", "provider"): "disputed",
    ("in_progress", "deliver", "provider"): "in_review",
    ("in_progress", "cancel", "buyer"): "cancelled",
    ("in_progress", "cancel", "provider"): "cancelled",
    ("in_progress", "mark_late_cancel", "system"): "in_progress",
    ("in_progress", "dispute", "buyer"): "disputed",
    ("in_progress", "dispute", "provider"): "disputed",
    ("in_review", "approve", "buyer"): "in_progress",
    ("in_review", "auto_approve", "system"): "in_progress",
    ("in_review", "request_revision", "buyer"): "in_progress",
    ("in_review", "dispute", "buyer"): "disputed",
    ("in_review", "dispute", "provider"): "disputed",
    ("disputed", "resolve", "operator"): "resolved",
    # Proposals (协商): either party of open work; which party answers is domain.proposals'.
    **{(state, action, role): to
       for state in ("awaiting_provider", "in_progress", "in_review")
       for role in ("buyer", "provider")
       for action, to in (("propose", state), ("accept_extension", state),
                          ("accept_cancel", "cancelled"), ("decline_proposal", state),
                          ("withdraw_proposal", state))},
    # After-sale (售后): a partial refund keeps the order open; the sweep grants a refund
    # request once its answer window passed and lapses any other open proposal.
    **{(state, "accept_partial_refund", role): state
       for state in ("in_progress", "in_review") for role in ("provider", "system")},
    **{(state, "accept_cancel", "system"): "cancelled" for state in ("in_progress", "in_review")},
    **{(state, "expire_proposal", "system"): state
       for state in ("awaiting_provider", "in_progress", "in_review", "disputed")},
    # Disputes the parties end (issue 24): the opener withdraws it (back to the state it
    # left), or a cancel proposal accepted by the other party settles it.
    **{("disputed", "withdraw_dispute", role): life.STATE_BEFORE_DISPUTE
       for role in ("buyer", "provider")},
    **{("disputed", action, role): to
       for role in ("buyer", "provider")
       for action, to in (("propose", "disputed"), ("accept_cancel", "cancelled"),
                          ("decline_proposal", "disputed"), ("withdraw_proposal", "disputed"))},
}
BEFORE_DISPUTE = "in_review"  # where facts_for says the dispute came from


def role_is_sweep(action):
    # The proposal sweeps' guard: the open proposal's expiry has passed.
    return action in ("accept_partial_refund", "accept_cancel", "expire_proposal")


def facts_for(state, action, *, last_step=False, role=None):
    timers = {}
    if state == "awaiting_payment":
        timers["pay_by"] = NOW - timedelta(hours=1) if action == "close_unpaid" else NOW + timedelta(hours=1)
    if state == "awaiting_provider":
        timers["accept_by"] = NOW - timedelta(hours=1) if action == "expire" else NOW + timedelta(hours=1)
    if state == "in_review":
        timers["auto_approve_at"] = NOW - timedelta(hours=1) if action == "auto_approve" \
            else NOW + timedelta(hours=1)
    if role_is_sweep(action):
        timers["refund_answer_by"] = NOW - timedelta(hours=1)
    return life.Facts(now=NOW, timers=timers, is_last_step=last_step,
                      late_cancel_from=NOW - timedelta(seconds=1), negotiable=True,
                      provider_approved=True, dispute_opened_by=role,
                      dispute_from=BEFORE_DISPUTE if state == "disputed" else None)


@pytest.mark.parametrize("state", life.STATES)
@pytest.mark.parametrize("action", life.ACTIONS)
@pytest.mark.parametrize("role", life.ROLES)
def test_every_state_action_role(state, action, role):
    key = (state, action, role)
    if key in EXPECTED:
        outcome = life.decide(state, action, role, facts_for(state, action, role=role))
        expected = EXPECTED[key]
        assert outcome.to == (BEFORE_DISPUTE if expected == life.STATE_BEFORE_DISPUTE
                              else expected)
        assert outcome.from_status == state
        assert (life.CLOSE in outcome.effects) == (outcome.to in life.CLOSED)
    elif role not in {r for (_, a, r) in EXPECTED if a == action}:
        with pytest.raises(Forbidden):
            life.decide(state, action, role, facts_for(state, action))
    else:
        with pytest.raises(InvalidTransition) as refused:
            life.decide(state, action, role, facts_for(state, action))
        assert refused.value.details["status"] == state


def test_the_table_is_exactly_the_expected_one():
    assert {k: r.to for k, r in life.TRANSITIONS.items()} == EXPECTED


def test_approving_the_last_step_completes_and_closes():
    outcome = life.decide("in_review", "approve", "buyer", facts_for("in_review", "approve",
                                                                      last_step=True))
    assert outcome.to == "completed"
    assert life.RELEASE_STEP in outcome.effects and life.CLOSE in outcome.effects


def test_money_effects_follow_the_contract():
    def effects(state, action, role):
        return life.decide(state, action, role, facts_for(state, action)).effects

    assert effects("awaiting_payment", "pay", "buyer") == (life.FUND,)
    assert life.RELEASE_DEPOSIT in effects("awaiting_provider", "accept", "provider")
    for key in [("awaiting_provider", "reject", "provider"), ("awaiting_provider", "expire", "system"),
                ("in_progress", "cancel", "buyer")]:
        assert life.REFUND_HELD in effects(*key)
    assert life.REFUND_HELD not in effects("awaiting_payment", "cancel", "buyer")
    assert life.SPLIT in effects("disputed", "resolve", "operator")


def test_late_cancel_before_fifteen_days_is_cancel_not_allowed():
    early = life.Facts(now=NOW, late_cancel_from=NOW + timedelta(days=1))
    with pytest.raises(CancelNotAllowed):
        life.decide("in_progress", "cancel", "buyer", early)
    flagged = life.Facts(now=NOW, late_cancel_from=NOW + timedelta(days=1),
                         late_cancel_eligible=True)
    assert life.decide("in_progress", "cancel", "buyer", flagged).to == "cancelled"


@pytest.mark.parametrize("state,action,timer", [
    ("awaiting_payment", "close_unpaid", "pay_by"), ("awaiting_provider", "expire", "accept_by")])
def test_sweeps_refuse_before_their_deadline(state, action, timer):
    early = life.Facts(now=NOW, timers={timer: NOW + timedelta(seconds=1)})
    with pytest.raises(InvalidTransition):
        life.decide(state, action, "system", early)


@pytest.mark.parametrize("state,action,timer", [
    ("in_progress", "accept_partial_refund", "refund_answer_by"),
    ("in_review", "accept_cancel", "refund_answer_by"),
    ("awaiting_provider", "expire_proposal", "proposal_expires_at")])
def test_the_sweep_ends_a_proposal_only_once_it_expired(state, action, timer):
    early = life.Facts(now=NOW, timers={timer: NOW + timedelta(seconds=1)})
    with pytest.raises(InvalidTransition):
        life.decide(state, action, "system", early)
    due = life.Facts(now=NOW, timers={timer: NOW})
    assert life.decide(state, action, "system", due).from_status == state


def test_an_open_refund_request_holds_auto_approval_and_has_its_own_deadline():
    windows = life.Windows(payment=timedelta(hours=72), accept=timedelta(days=7),
                           late_cancel=timedelta(days=15), review=timedelta(days=15),
                           reminder_before=timedelta(days=1))
    base = dict(created_at=NOW, paid_at=NOW, due_at=NOW + timedelta(days=10), completed_at=None,
                late_cancel_eligible=False, reviewed_by_buyer=False, reviewed_by_provider=False,
                windows=windows, delivered_at=NOW, proposal_expires_at=NOW + timedelta(days=2))
    asked = life.deadlines("in_review", refund_request_open=True, **base)
    assert asked == {"refund_answer_by": NOW + timedelta(days=2)}
    other = life.deadlines("in_review", refund_request_open=False, **base)
    assert other == {"auto_approve_at": NOW + timedelta(days=7),
                     "proposal_expires_at": NOW + timedelta(days=2)}
    # The provider is reminded of a refund request; nobody of a lapsing proposal.
    names = [t.name for t in life.pending_timers("in_review", refund_request_open=True, **base)]
    assert names == ["reminder:refund_answer_by", "refund_answer_by"]
    # While disputed no order timer runs: only a settlement offer's expiry.
    assert life.deadlines("disputed", **base) == {"proposal_expires_at": NOW + timedelta(days=2)}


def test_only_the_opener_withdraws_a_dispute_back_to_where_the_order_was():
    for opener, other in (("buyer", "provider"), ("provider", "buyer")):
        facts = life.Facts(now=NOW, dispute_opened_by=opener, dispute_from="awaiting_provider")
        outcome = life.decide("disputed", "withdraw_dispute", opener, facts)
        assert (outcome.to, outcome.event_type) == ("awaiting_provider", "dispute_withdrawn")
        assert life.RESUME in outcome.effects and life.CLOSE not in outcome.effects
        with pytest.raises(Forbidden):
            life.decide("disputed", "withdraw_dispute", other, facts)
    # A dispute record that does not say where the order was cannot be withdrawn.
    with pytest.raises(InvalidTransition):
        life.decide("disputed", "withdraw_dispute", "buyer",
                    life.Facts(now=NOW, dispute_opened_by="buyer"))


def test_a_withdrawn_dispute_restarts_the_relative_windows_and_evidence_has_its_own():
    windows = life.Windows(payment=timedelta(hours=72), accept=timedelta(days=7),
                           late_cancel=timedelta(days=15), review=timedelta(days=15),
                           reminder_before=timedelta(days=1), evidence=timedelta(days=3))
    later = NOW + timedelta(days=9)
    base = dict(created_at=NOW, paid_at=NOW, due_at=NOW + timedelta(days=10), completed_at=None,
                late_cancel_eligible=False, reviewed_by_buyer=False, reviewed_by_provider=False,
                windows=windows, delivered_at=NOW, restarted_at=later, dispute_at=NOW)
    assert life.deadlines("awaiting_provider", **base) == {"accept_by": later + timedelta(days=7)}
    assert life.deadlines("in_review", **base) == {"auto_approve_at": later + timedelta(days=7)}
    assert life.deadlines("in_progress", **base) == {
        "late_cancel_from": NOW + timedelta(days=25)}  # due_at's, whatever the dispute did
    # A delivery after the restart counts from itself again.
    assert life.deadlines("in_review", **{**base, "delivered_at": later + timedelta(days=1)}) \
        == {"auto_approve_at": later + timedelta(days=8)}
    assert life.deadlines("disputed", **base) == {"evidence_until": NOW + timedelta(days=3)}
    # Evidence closes by the clock: nothing for the sweep to fire.
    assert life.pending_timers("disputed", windows=windows, **{
        k: v for k, v in base.items() if k != "windows"}) == []
    assert life.evidence_open({"evidence_until": NOW}, NOW - timedelta(seconds=1))
    assert not life.evidence_open({"evidence_until": NOW}, NOW)


@pytest.mark.parametrize("state,action,timer,role", [
    ("awaiting_payment", "pay", "pay_by", "buyer"),
    ("awaiting_provider", "accept", "accept_by", "provider")])
def test_paying_or_accepting_after_the_window_is_refused(state, action, timer, role):
    late = life.Facts(now=NOW, timers={timer: NOW})
    with pytest.raises(InvalidTransition):
        life.decide(state, action, role, late)


def test_every_state_has_a_chinese_label():
    assert life.LABELS["in_progress"] == "等待上传终稿"
    assert set(life.LABELS) == set(life.STATES)


def _timers(status, **kw):
    base = dict(created_at=NOW, paid_at=NOW + timedelta(hours=1), due_at=NOW + timedelta(days=10),
                completed_at=NOW + timedelta(days=3), late_cancel_eligible=False,
                reviewed_by_buyer=False, reviewed_by_provider=False)
    base.update(kw)
    return life.pending_timers(status, windows=WINDOWS, **base)


def test_timers_per_state_with_reminders_a_day_before():
    pay = _timers("awaiting_payment")
    assert [(t.name, t.at) for t in pay] == [
        ("reminder:pay_by", NOW + timedelta(hours=48)), ("pay_by", NOW + timedelta(hours=72))]
    accept = _timers("awaiting_provider")
    assert accept[-1].name == "accept_by" and accept[-1].at == NOW + timedelta(days=7, hours=1)
    late = _timers("in_progress")
    assert late[-1].name == "late_cancel_from" and late[-1].at == NOW + timedelta(days=25)
    review = _timers("completed")
    assert [t.name for t in review] == ["review_until"]


def test_no_timers_while_disputed_closed_or_fully_reviewed():
    for status in ("disputed", "rejected", "expired", "cancelled", "resolved"):
        assert _timers(status) == []
    assert _timers("completed", reviewed_by_buyer=True, reviewed_by_provider=True) == []
    assert _timers("in_progress", late_cancel_eligible=True) == []


def test_a_sent_reminder_is_not_pending_again():
    timers = _timers("awaiting_payment", reminders_sent=["reminder:pay_by"])
    assert [t.name for t in timers] == ["pay_by"]
    assert life.next_timer("awaiting_payment", windows=WINDOWS, created_at=NOW, paid_at=None,
                           due_at=NOW, completed_at=None, late_cancel_eligible=False,
                           reviewed_by_buyer=False, reviewed_by_provider=False).name == "reminder:pay_by"


@pytest.mark.parametrize("state", ["awaiting_provider", "completed", "rejected", "disputed",
                                   "cancelled"])
def test_a_cancel_in_a_state_that_never_allows_it_is_cancel_not_allowed(state):
    """The contract's cancel row ends "else 409 CANCEL_NOT_ALLOWED"."""
    with pytest.raises(CancelNotAllowed) as refused:
        life.decide(state, "cancel", "buyer", life.Facts(now=NOW))
    assert refused.value.details["status"] == state


# --- fair deals ---------------------------------------------------------------
def test_a_delivery_in_review_cannot_be_cancelled_however_late():
    """Late cancel is for a final that never came (仍未上传终稿), not one awaiting review."""
    late = life.Facts(now=NOW, late_cancel_from=NOW - timedelta(days=30),
                      late_cancel_eligible=True)
    with pytest.raises(CancelNotAllowed) as refused:
        life.decide("in_review", "cancel", "buyer", late)
    assert refused.value.details["status"] == "in_review"
    assert life.decide("in_progress", "cancel", "buyer", late).to == "cancelled"


def test_the_provider_may_give_up_work_in_progress_with_a_full_refund():
    outcome = life.decide("in_progress", "cancel", "provider", life.Facts(now=NOW))
    assert outcome.to == "cancelled"
    assert life.REFUND_HELD in outcome.effects and life.CLOSE in outcome.effects
    for state in ("awaiting_payment", "awaiting_provider", "in_review", "completed"):
        with pytest.raises(CancelNotAllowed):
            life.decide(state, "cancel", "provider", life.Facts(now=NOW))


def _review(now_offset: timedelta, **kw):
    return life.Facts(now=NOW + now_offset, timers={"auto_approve_at": NOW}, **kw)


def test_auto_approval_waits_for_the_window_then_approves_as_the_buyer_would():
    with pytest.raises(InvalidTransition):
        life.decide("in_review", "auto_approve", "system", _review(-timedelta(seconds=1)))
    step = life.decide("in_review", "auto_approve", "system", _review(timedelta(0)))
    buyer = life.decide("in_review", "approve", "buyer", _review(-timedelta(hours=1)))
    assert (step.to, step.event_type) == (buyer.to, buyer.event_type) == ("in_progress", "approved")
    assert life.RELEASE_STEP in step.effects and life.SAME_DELIVERY in step.effects
    last = life.decide("in_review", "auto_approve", "system",
                       _review(timedelta(0), is_last_step=True))
    assert last.to == "completed" and life.CLOSE in last.effects
    with pytest.raises(Forbidden):  # nobody but the sweep auto-approves
        life.decide("in_review", "auto_approve", "buyer", _review(timedelta(0)))


@pytest.mark.parametrize("action,role", [("request_revision", "buyer"), ("dispute", "buyer"),
                                         ("dispute", "provider")])
def test_once_the_review_window_passed_the_delivery_belongs_to_the_auto_approval(action, role):
    assert life.decide("in_review", action, role, _review(-timedelta(seconds=1))).to
    with pytest.raises(InvalidTransition) as refused:
        life.decide("in_review", action, role, _review(timedelta(0)))
    assert refused.value.details["reason"] == life.REVIEW_WINDOW_OPEN
    # The buyer's own approval does what the sweep would do: still welcome.
    assert life.decide("in_review", "approve", "buyer", _review(timedelta(days=1))).to


def test_a_price_is_paid_only_once_agreed_and_only_negotiable_prices_change():
    open_window = {"pay_by": NOW + timedelta(hours=1)}
    with pytest.raises(PriceNotAgreed) as refused:
        life.decide("awaiting_payment", "pay", "buyer",
                    life.Facts(now=NOW, timers=open_window, price_agreed=False))
    assert refused.value.code == "PRICE_NOT_AGREED"
    with pytest.raises(PriceNotAgreed):  # nor by a gateway's confirmation
        life.decide("awaiting_payment", "pay", "system", life.Facts(now=NOW, price_agreed=False))
    # An order the sweep may already close is refused as such, whatever its price.
    closed = {"pay_by": NOW}
    with pytest.raises(InvalidTransition) as late:
        life.decide("awaiting_payment", "pay", "buyer",
                    life.Facts(now=NOW, timers=closed, price_agreed=False))
    assert late.value.code == "INVALID_TRANSITION"
    for role in ("buyer", "provider"):
        outcome = life.decide("awaiting_payment", "set_price", role,
                              life.Facts(now=NOW, negotiable=True))
        assert outcome.effects == (life.CHANGE_PRICE,) and outcome.event_type == "price_changed"
        with pytest.raises(InvalidTransition) as fixed:
            life.decide("awaiting_payment", "set_price", role, life.Facts(now=NOW))
        assert fixed.value.details["reason"] == life.NEGOTIABLE
    with pytest.raises(InvalidTransition):  # once paid the price is settled
        life.decide("awaiting_provider", "set_price", "provider",
                    life.Facts(now=NOW, negotiable=True))


def test_a_provider_that_is_not_approved_cannot_accept():
    window = {"accept_by": NOW + timedelta(hours=1)}
    with pytest.raises(ProviderNotApproved) as refused:
        life.decide("awaiting_provider", "accept", "provider",
                    life.Facts(now=NOW, timers=window, provider_approved=False))
    assert refused.value.status == 403
    accepted = life.decide("awaiting_provider", "accept", "provider",
                           life.Facts(now=NOW, timers=window, provider_approved=True))
    assert life.CHECK_PROVIDER in accepted.effects
    # Rejecting (and refunding) stays possible for a suspended provider.
    assert life.decide("awaiting_provider", "reject", "provider", life.Facts(now=NOW)).to


def test_review_has_an_auto_approval_window_from_the_latest_delivery_with_a_reminder():
    delivered = NOW + timedelta(days=2)
    timers = _timers("in_review", delivered_at=delivered)
    assert [(t.name, t.at) for t in timers] == [
        ("reminder:auto_approve_at", delivered + timedelta(days=6)),
        ("auto_approve_at", delivered + timedelta(days=7))]
    # The late-cancel clock only runs while the delivery is missing.
    assert "late_cancel_from" not in {t.name for t in timers}
    later = _timers("in_review", delivered_at=delivered + timedelta(days=3))
    assert later[-1].at == delivered + timedelta(days=10)


def test_proposal_effects():
    def effects(action):
        return life.decide("in_review", action, "buyer", facts_for("in_review", action)).effects

    assert effects("propose") == (life.OPEN_PROPOSAL,)
    assert effects("accept_extension") == (life.EXTEND, life.END_PROPOSAL)
    # A mutual cancel splits what is held exactly as a resolution does, and closes.
    assert effects("accept_cancel") == (life.SPLIT, life.END_PROPOSAL, life.CLOSE)
    assert effects("decline_proposal") == effects("withdraw_proposal") == (life.END_PROPOSAL,)
