"""The order life cycle as a table: every state × action × role, without AWS."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import orders as life
from chalicelib.domain.errors import CancelNotAllowed, Forbidden, InvalidTransition

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
    ("awaiting_provider", "accept", "provider"): "in_progress",
    ("awaiting_provider", "reject", "provider"): "rejected",
    ("awaiting_provider", "expire", "system"): "expired",
    ("awaiting_provider", "dispute", "buyer"): "disputed",
    ("awaiting_provider", "dispute", "provider"): "disputed",
    ("in_progress", "deliver", "provider"): "in_review",
    ("in_progress", "cancel", "buyer"): "cancelled",
    ("in_progress", "mark_late_cancel", "system"): "in_progress",
    ("in_progress", "dispute", "buyer"): "disputed",
    ("in_progress", "dispute", "provider"): "disputed",
    ("in_review", "approve", "buyer"): "in_progress",
    ("in_review", "request_revision", "buyer"): "in_progress",
    ("in_review", "cancel", "buyer"): "cancelled",
    ("in_review", "mark_late_cancel", "system"): "in_review",
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
}


def facts_for(state, action, *, last_step=False):
    timers = {}
    if state == "awaiting_payment":
        timers["pay_by"] = NOW - timedelta(hours=1) if action == "close_unpaid" else NOW + timedelta(hours=1)
    if state == "awaiting_provider":
        timers["accept_by"] = NOW - timedelta(hours=1) if action == "expire" else NOW + timedelta(hours=1)
    return life.Facts(now=NOW, timers=timers, is_last_step=last_step,
                      late_cancel_from=NOW - timedelta(seconds=1))


@pytest.mark.parametrize("state", life.STATES)
@pytest.mark.parametrize("action", life.ACTIONS)
@pytest.mark.parametrize("role", life.ROLES)
def test_every_state_action_role(state, action, role):
    key = (state, action, role)
    if key in EXPECTED:
        outcome = life.decide(state, action, role, facts_for(state, action))
        assert outcome.to == EXPECTED[key]
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
    late = _timers("in_review")
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


def test_proposal_effects():
    def effects(action):
        return life.decide("in_review", action, "buyer", facts_for("in_review", action)).effects

    assert effects("propose") == (life.OPEN_PROPOSAL,)
    assert effects("accept_extension") == (life.EXTEND, life.END_PROPOSAL)
    # A mutual cancel splits what is held exactly as a resolution does, and closes.
    assert effects("accept_cancel") == (life.SPLIT, life.END_PROPOSAL, life.CLOSE)
    assert effects("decline_proposal") == effects("withdraw_proposal") == (life.END_PROPOSAL,)
