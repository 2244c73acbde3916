"""The contract's pure rules: terms validation, the transition table, the periods and
their money (the worked example of the API contract comes out exactly)."""
from datetime import date

import pytest

from chalicelib.domain import contracts as c
from chalicelib.domain.errors import (ContractSigned, Forbidden, InvalidTransition,
                                      ProviderNotApproved, ValidationFailed)


def terms(**over) -> dict:
    raw = {"period": "month", "billing": "postpaid", "base": 310000, "commission_bps": 200,
           "deposit": 100000, "trial_days": 7, "trial_fee": 50000, "notice_days": 10,
           "schedule": {"agents": 3, "hours": "09:00-24:00", "shifts": 2, "holidays": "春节轮休"},
           "kpis": ["响应时间 ≤ 30 秒", "询单转化率 ≥ 20%"], "confidential": True,
           "breach": "严重违约扣除定金"}
    raw.update(over)
    return raw


WORKED = c.check_terms(terms())


# --- terms ---------------------------------------------------------------------------
def test_good_terms_come_back_as_agreed():
    assert WORKED.as_dict() == terms()


@pytest.mark.parametrize("over, field", [
    ({"period": "week"}, "terms.period"),
    ({"billing": None}, "terms.billing"),
    ({"base": -1}, "terms.base"),
    ({"commission_bps": 10001}, "terms.commission_bps"),
    ({"billing": "prepaid", "commission_bps": 1}, "terms.commission_bps"),
    ({"deposit": True}, "terms.deposit"),
    ({"trial_days": 91}, "terms.trial_days"),
    ({"notice_days": -1}, "terms.notice_days"),
    ({"schedule": {"agents": 0, "hours": "09:00-24:00", "shifts": 1, "holidays": ""}},
     "terms.schedule.agents"),
    ({"schedule": {"agents": 501, "hours": "09:00-24:00", "shifts": 1, "holidays": ""}},
     "terms.schedule.agents"),
    ({"schedule": {"agents": 1, "hours": "9-5", "shifts": 1, "holidays": ""}},
     "terms.schedule.hours"),
    ({"schedule": {"agents": 1, "hours": "09:00-18:00", "shifts": 11, "holidays": ""}},
     "terms.schedule.shifts"),
    ({"schedule": "24/7"}, "terms.schedule"),
    ({"kpis": ["x"] * 11}, "terms.kpis"),
    ({"kpis": ["y" * 101]}, "terms.kpis[0]"),
    ({"confidential": "yes"}, "terms.confidential"),
    ({"breach": "z" * 1001}, "terms.breach"),
    ({"surprise": 1}, "terms.surprise"),
])
def test_a_wrong_field_is_named(over, field):
    with pytest.raises(ValidationFailed) as refused:
        c.check_terms(terms(**over))
    assert [e["field"] for e in refused.value.details["errors"]] == [field]


def test_a_missing_field_is_named():
    raw = terms()
    del raw["deposit"]
    with pytest.raises(ValidationFailed) as refused:
        c.check_terms(raw)
    assert refused.value.details["errors"] == [{"field": "terms.deposit", "problem": "required"}]


def test_prepaid_without_commission_is_fine():
    assert c.check_terms(terms(billing="prepaid", commission_bps=0)).billing == "prepaid"


# --- the transition table ----------------------------------------------------------------
TODAY = date(2027, 1, 16)


def facts(**kw):
    return c.Facts(today=TODAY, **kw)


@pytest.mark.parametrize("state, action, role, kw, to", [
    ("draft", "edit_terms", "buyer", {}, "draft"),
    ("draft", "edit_terms", "provider", {}, "draft"),
    ("draft", "sign", "buyer", {"deposit": 1}, "draft"),
    ("draft", "sign", "buyer", {"deposit": 1, "signed_by": frozenset({"provider"})},
     "awaiting_deposit"),
    ("draft", "sign", "provider", {"deposit": 0, "signed_by": frozenset({"buyer"})},
     "onboarding"),
    ("awaiting_deposit", "pay_deposit", "system", {}, "onboarding"),
    ("onboarding", "go_live", "buyer", {"trial_days": 7}, "trial"),
    ("onboarding", "go_live", "buyer", {"trial_days": 0}, "active"),
    ("draft", "terminate", "buyer", {}, "cancelled"),
    ("awaiting_deposit", "terminate", "provider", {}, "cancelled"),
    ("onboarding", "terminate", "buyer", {}, "cancelled"),
    ("trial", "terminate", "provider", {}, "ended"),
    ("active", "terminate", "buyer", {}, "ending"),
    ("suspended", "terminate", "buyer", {}, "ending"),
    ("trial", "end_trial", "system", {"trial_ends_on": date(2027, 1, 15)}, "active"),
    ("active", "suspend", "system", {}, "suspended"),
    ("ending", "suspend", "system", {}, "suspended"),
    ("suspended", "resume", "system", {"suspended_from": "active"}, "active"),
    ("suspended", "resume", "system", {"suspended_from": "trial"}, "trial"),
    ("suspended", "resume", "system", {"suspended_from": "ending"}, "ending"),
    ("ending", "end", "system", {"ends_on": date(2027, 1, 15)}, "ended"),
])
def test_allowed_moves(state, action, role, kw, to):
    assert c.decide(state, action, role, facts(**kw)).to == to


@pytest.mark.parametrize("state, action, role, kw, error", [
    ("awaiting_deposit", "edit_terms", "buyer", {}, ContractSigned),
    ("active", "edit_terms", "provider", {}, ContractSigned),
    ("draft", "sign", "buyer", {"signed_by": frozenset({"buyer"})}, InvalidTransition),
    ("draft", "sign", "provider", {"provider_approved": False}, ProviderNotApproved),
    ("onboarding", "sign", "buyer", {}, InvalidTransition),
    ("onboarding", "go_live", "provider", {}, Forbidden),
    ("trial", "go_live", "buyer", {}, InvalidTransition),
    ("ending", "terminate", "buyer", {}, InvalidTransition),
    ("ended", "terminate", "buyer", {}, InvalidTransition),
    ("cancelled", "terminate", "provider", {}, InvalidTransition),
    ("trial", "end_trial", "system", {"trial_ends_on": TODAY}, InvalidTransition),
    ("ending", "end", "system", {"ends_on": TODAY}, InvalidTransition),
    ("draft", "pay_deposit", "buyer", {}, Forbidden),
    ("active", "terminate", "operator", {}, Forbidden),
])
def test_refused_moves(state, action, role, kw, error):
    with pytest.raises(error):
        c.decide(state, action, role, facts(**kw))


def test_edit_terms_clears_signatures_and_a_signature_is_recorded():
    assert c.SET_TERMS in c.decide("draft", "edit_terms", "buyer", facts()).effects
    signed = c.decide("draft", "sign", "provider", facts())
    assert c.RECORD_SIGNATURE in signed.effects and c.CHECK_PROVIDER in signed.effects


def test_allowed_actions_match_decide():
    assert c.allowed_actions("draft", "buyer", facts()) == ["terms", "sign", "terminate"]
    assert c.allowed_actions("draft", "buyer", facts(signed_by=frozenset({"buyer"}))) == [
        "terms", "terminate"]
    assert c.allowed_actions("awaiting_deposit", "buyer", facts()) == ["pay", "terminate"]
    assert c.allowed_actions("awaiting_deposit", "provider", facts()) == ["terminate"]
    assert c.allowed_actions("onboarding", "buyer", facts()) == ["go-live", "terminate"]
    assert c.allowed_actions("onboarding", "provider", facts()) == ["terminate"]
    assert c.allowed_actions("ending", "buyer", facts()) == []
    assert c.allowed_actions("active", "operator", facts()) == []


# --- periods ---------------------------------------------------------------------------
def test_the_worked_example():
    live_on = date(2027, 1, 16)
    ends_on = c.ends_on_after_notice(date(2027, 3, 10), WORKED.notice_days)
    assert ends_on == date(2027, 3, 20)
    ps = c.periods(WORKED, live_on, ends_on)
    assert [(p.kind, p.start, p.end, p.days, p.length, p.base) for p in ps] == [
        ("trial", date(2027, 1, 16), date(2027, 1, 22), 7, 7, 50000),
        ("regular", date(2027, 1, 23), date(2027, 1, 31), 9, 31, 90000),
        ("regular", date(2027, 2, 1), date(2027, 2, 28), 28, 28, 310000),
        ("regular", date(2027, 3, 1), date(2027, 3, 20), 20, 31, 200000),
    ]
    assert [c.opens_on(p, "postpaid") for p in ps] == [
        date(2027, 1, 23), date(2027, 2, 1), date(2027, 3, 1), date(2027, 3, 21)]
    assert c.statement_amount(ps[0], 0) == 50000  # the trial takes no commission
    assert c.statement_amount(ps[1], 1000000) == 110000
    assert c.statement_amount(ps[2], 1000000) == 330000
    assert c.statement_amount(ps[3], 1000000) == 220000  # commission never prorated
    assert c.trial_last_day(live_on, 7) == date(2027, 1, 22)


@pytest.mark.parametrize("day, period, bounds", [
    (date(2027, 2, 14), "month", (date(2027, 2, 1), date(2027, 2, 28))),
    (date(2028, 2, 29), "month", (date(2028, 2, 1), date(2028, 2, 29))),  # leap year
    (date(2027, 12, 31), "month", (date(2027, 12, 1), date(2027, 12, 31))),
    (date(2027, 1, 1), "quarter", (date(2027, 1, 1), date(2027, 3, 31))),
    (date(2027, 3, 31), "quarter", (date(2027, 1, 1), date(2027, 3, 31))),
    (date(2027, 5, 20), "quarter", (date(2027, 4, 1), date(2027, 6, 30))),
    (date(2027, 9, 30), "quarter", (date(2027, 7, 1), date(2027, 9, 30))),
    (date(2027, 10, 1), "quarter", (date(2027, 10, 1), date(2027, 12, 31))),
])
def test_calendar_bounds(day, period, bounds):
    assert c.period_bounds(day, period) == bounds


@pytest.mark.parametrize("live_on, period, first", [
    # (start, end, days, length, base) of the first regular period, base 300000, no trial
    (date(2027, 2, 1), "month", (date(2027, 2, 1), date(2027, 2, 28), 28, 28, 300000)),
    (date(2027, 2, 28), "month", (date(2027, 2, 28), date(2027, 2, 28), 1, 28, 10714)),
    (date(2028, 2, 28), "month", (date(2028, 2, 28), date(2028, 2, 29), 2, 29, 20689)),
    (date(2027, 1, 31), "month", (date(2027, 1, 31), date(2027, 1, 31), 1, 31, 9677)),
    (date(2027, 4, 30), "month", (date(2027, 4, 30), date(2027, 4, 30), 1, 30, 10000)),
    (date(2027, 1, 1), "quarter", (date(2027, 1, 1), date(2027, 3, 31), 90, 90, 300000)),
    (date(2028, 2, 1), "quarter", (date(2028, 2, 1), date(2028, 3, 31), 60, 91, 197802)),
    (date(2027, 8, 1), "quarter", (date(2027, 8, 1), date(2027, 9, 30), 61, 92, 198913)),
])
def test_first_period_prorated_by_days(live_on, period, first):
    t = c.check_terms(terms(period=period, base=300000, trial_days=0, trial_fee=0))
    p = c.periods(t, live_on, until=live_on)[0]
    assert (p.start, p.end, p.days, p.length, p.base) == first


def test_a_trial_crossing_a_month_end_and_a_year_end():
    t = c.check_terms(terms(trial_days=10, trial_fee=70000))
    ps = c.periods(t, date(2027, 12, 28), until=date(2028, 1, 7))
    assert [(p.kind, p.start, p.end) for p in ps] == [
        ("trial", date(2027, 12, 28), date(2028, 1, 6)),
        ("regular", date(2028, 1, 7), date(2028, 1, 31))]
    assert ps[1].base == 310000 * 25 // 31


def test_a_trial_cut_short_is_prorated_by_the_days_used():
    ps = c.periods(WORKED, date(2027, 1, 16), date(2027, 1, 18))
    assert len(ps) == 1 and ps[0].days == 3 and ps[0].base == 50000 * 3 // 7


def test_terminated_on_the_last_trial_day_has_no_regular_period():
    ps = c.periods(WORKED, date(2027, 1, 16), date(2027, 1, 22))
    assert [p.kind for p in ps] == ["trial"] and ps[0].base == 50000


def test_an_open_contract_runs_to_the_period_holding_until():
    ps = c.periods(WORKED, date(2027, 1, 16), until=date(2027, 4, 2))
    assert [p.start for p in ps][-1] == date(2027, 4, 1) and ps[-1].end == date(2027, 4, 30)


def test_prepaid_statements_open_when_their_period_starts():
    p = c.periods(WORKED, date(2027, 1, 16), until=date(2027, 1, 16))[1]
    assert c.opens_on(p, "prepaid") == date(2027, 1, 23)


def test_a_prepaid_period_cut_short_returns_the_excess_to_the_deposit_first():
    t = c.check_terms(terms(billing="prepaid", commission_bps=0, trial_days=0, trial_fee=0))
    p = c.periods(t, date(2027, 3, 1), until=date(2027, 3, 1))[0]
    assert p.length == 31
    out = c.reprice_prepaid(310000, 100000, p, 10)
    assert out == {"amount": 100000, "to_deposit": 100000, "refund": 110000}
    assert c.reprice_prepaid(310000, 0, p, 31) == {"amount": 310000, "to_deposit": 0, "refund": 0}


def test_the_deposit_pays_the_earliest_bills_first_as_far_as_it_reaches():
    assert c.draw_deposit(150000, [("a", 100000), ("b", 100000), ("c", 5)]) == [
        ("a", 100000), ("b", 50000)]
    assert c.draw_deposit(0, [("a", 1)]) == []


def test_commission_rounds_down():
    assert c.commission(999, 200) == 19
    assert c.commission(0, 10000) == 0
