"""Daily analytics, pure: which day counters a change moves, and how a range of days is
read back (every day present, zeros included; 询单转化率).

Two scopes: the market's (`MARKET`, what operators see) and one provider's. A day is a
Beijing calendar day (the market keeps one offset all year). Money figures come from
the ledger's postings, the one record of every movement: a posting is written exactly
once (its id is put with attribute_not_exists), so counting it in its own transaction
counts it exactly once.
- funded: gateway → escrow (orders and contracts);
- released: what left escrow towards a provider (its part and the platform's fee);
  a provider's `released` is its own part (what it earned that day);
- refunded: escrow → gateway, on the day the refund is paid out (a reversed deposit
  shows here, on its own day; the earlier day's release stays as it was);
- platform_revenue: fees taken, less fees given back by reversals, that day.
"""
from datetime import date, datetime, timedelta, timezone

from chalicelib.domain import escrow as money
from chalicelib.domain.errors import ValidationFailed

MARKET = "market"
MAX_DAYS = 366
BEIJING = timezone(timedelta(hours=8), "CST")

MARKET_FIELDS = ("orders_placed", "orders_paid", "orders_completed", "funded", "released",
                 "refunded", "platform_revenue", "disputes_opened", "inquiries",
                 "contracts_started")
# `converted_buyers` (inquired and paid the same day) is kept to answer `conversion`.
PROVIDER_COUNTERS = ("inquiries", "inquiring_buyers", "orders_paid", "paying_buyers",
                     "converted_buyers", "released", "good_reviews", "neutral_reviews",
                     "bad_reviews")
PROVIDER_FIELDS = ("inquiries", "inquiring_buyers", "orders_paid", "paying_buyers",
                   "conversion", "released", "good_reviews", "neutral_reviews", "bad_reviews")
COUNTERS = tuple(dict.fromkeys(MARKET_FIELDS + PROVIDER_COUNTERS))

# What a buyer did with a provider on a day: each is counted once per (provider, buyer, day).
INQUIRED, PAID = "inquired", "paid"
_BUYER_COUNTER = {INQUIRED: "inquiring_buyers", PAID: "paying_buyers"}


def day_of(moment: datetime) -> str:
    """The Beijing day (YYYY-MM-DD) a moment falls on."""
    return moment.astimezone(BEIJING).date().isoformat()


def posting_deltas(kind: str, to_account: str, amount: int) -> dict[str, dict[str, int]]:
    """Scope (MARKET or a provider id) → the counters one posting adds to."""
    amount = int(amount)
    if kind == money.FUND:
        return {MARKET: {"funded": amount}}
    if kind == money.RELEASE:
        provider = _provider_of(to_account)
        out = {MARKET: {"released": amount}}
        if provider:
            out[provider] = {"released": amount}
        return out
    if kind == money.FEE:
        return {MARKET: {"released": amount, "platform_revenue": amount}}
    if kind == money.FEE_REVERSAL:
        return {MARKET: {"platform_revenue": -amount}}
    if kind == money.REFUND:
        return {MARKET: {"refunded": amount}}
    return {}  # reversals, debts, withdrawals and payouts move no daily figure


def _provider_of(account: str) -> str | None:
    prefix = money.payable_account("")
    return account[len(prefix):] if account.startswith(prefix) else None


def order_move_deltas(provider_id: str, *, funded: bool, completed: bool,
                      disputed: bool) -> dict[str, dict[str, int]]:
    """The counters an order move adds to (its money is counted by its postings)."""
    market, provider = {}, {}
    if funded:
        market["orders_paid"] = provider["orders_paid"] = 1
    if completed:
        market["orders_completed"] = 1
    if disputed:
        market["disputes_opened"] = 1
    return {scope: d for scope, d in ((MARKET, market), (provider_id, provider)) if d}


def review_deltas(provider_id: str, rating: str) -> dict[str, dict[str, int]]:
    """A buyer's review of a provider: one of its good/neutral/bad reviews that day."""
    return {provider_id: {f"{rating}_reviews": 1}}


def buyer_mark(marks: frozenset, what: str) -> tuple[frozenset, dict[str, int]] | None:
    """A buyer `what`s (INQUIRED or PAID) with a provider on a day on which it has done
    `marks` already: the marks after, and the provider's counters that move — None when
    nothing changes (the buyer was counted for this already)."""
    if what in marks:
        return None
    after = marks | {what}
    deltas = {_BUYER_COUNTER[what]: 1}
    if after >= {INQUIRED, PAID}:
        deltas["converted_buyers"] = 1  # inquired and paid that day: it converted
    return after, deltas


def days_between(start: str | None, end: str | None) -> list[str]:
    """Every day from `start` to `end`, both included (YYYY-MM-DD), or ValidationFailed
    naming the field at fault."""
    first, last = _parse(start, "from"), _parse(end, "to")
    if last < first:
        raise ValidationFailed("`to` is before `from`",
                               errors=[{"field": "to", "problem": "before from"}])
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ValidationFailed(f"at most {MAX_DAYS} days at once",
                               errors=[{"field": "to",
                                        "problem": f"more than {MAX_DAYS} days after from"}])
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


def _parse(raw: str | None, field: str) -> date:
    try:
        if not raw or len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"`{field}` must be a day as YYYY-MM-DD",
                               errors=[{"field": field, "problem": "not a YYYY-MM-DD day"}]
                               ) from None


def market_days(days: list[str], totals: dict[str, dict[str, int]]) -> list[dict]:
    """The operator's answer: one entry per day, zeros where nothing was counted."""
    return [{"day": d, **{f: int(totals.get(d, {}).get(f, 0)) for f in MARKET_FIELDS}}
            for d in days]


def provider_days(days: list[str], totals: dict[str, dict[str, int]]) -> list[dict]:
    """A provider's answer: one entry per day; `conversion` is the share of that day's
    inquiring buyers who also paid that day (None when nobody inquired)."""
    out = []
    for d in days:
        t = {f: int(totals.get(d, {}).get(f, 0)) for f in PROVIDER_COUNTERS}
        inquiring, converted = t.pop("inquiring_buyers"), t.pop("converted_buyers")
        out.append({"day": d, **t, "inquiring_buyers": inquiring,
                    "conversion": round(converted / inquiring, 4) if inquiring else None})
    return [{"day": e["day"], **{f: e[f] for f in PROVIDER_FIELDS}} for e in out]
