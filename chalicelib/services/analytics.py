"""Daily analytics: the one-line writes each counted change adds to its own transaction,
and the daily figures operators and providers read.

Money is counted by the postings themselves (storage.ledger: a posting saved in a
transaction adds to its day's money counters), so every money path counts without a
line of its own. The writes here count the rest: orders placed, paid, completed and
disputed; inquiries; reviews; contracts going live.

Distinct buyers (a provider's inquiring and paying buyers per day, and those who did
both: 询单转化率) are counted exactly once through a mark item per (provider, buyer,
day). The change reads the mark, and its transaction writes the new mark conditional on
the mark being as read, with the counters that move only if the mark was new. Of two
changes of the same buyer at once, one is refused (named `BUYER_MARK`) and nothing of it
is written — not the change either — so its caller's loop reads again and decides again
(`retry_on`), now seeing the mark: counted once, and the main change never lost. A
retry of a committed change (an Idempotency-Key replay, a sweep run twice) is refused by
the change's own condition before it could count anything.
"""
from datetime import datetime

from chalicelib.domain import analytics as rules
from chalicelib.domain import orders as life
from chalicelib.storage import analytics as store

BUYER_MARK = store.BUYER_MARK


def retry_on(refusal) -> bool:
    """Whether a refused transaction should be decided again because of a buyer mark."""
    return refusal.failed(BUYER_MARK)


def order_placed(tx, order, now: datetime) -> None:
    """Placing an order: one more order placed in the market that day."""
    store.count(tx, order.id, rules.day_of(now), {rules.MARKET: {"orders_placed": 1}})


def order_moved(tx, order, outcome: life.Outcome, now: datetime) -> None:
    """An order move: paid, completed or disputed that day (its money: its postings)."""
    moved = outcome.to != outcome.from_status
    funded = life.FUND in outcome.effects
    day = rules.day_of(now)
    deltas = rules.order_move_deltas(
        order.provider_id, funded=funded, completed=moved and outcome.to == life.COMPLETED,
        disputed=moved and outcome.to == life.DISPUTED)
    if deltas:
        store.count(tx, order.id, day, deltas)
    if funded:
        _buyer_did(tx, order.id, order.provider_id, order.buyer_id, day, rules.PAID)


def inquiry_opened(tx, inquiry, now: datetime) -> None:
    """A buyer's new inquiry: one more inquiry (market and provider), and the buyer one
    of the provider's inquiring buyers that day."""
    day = rules.day_of(now)
    store.count(tx, inquiry.id, day, {rules.MARKET: {"inquiries": 1},
                                      inquiry.provider_id: {"inquiries": 1}})
    _buyer_did(tx, inquiry.id, inquiry.provider_id, inquiry.buyer_id, day, rules.INQUIRED)


def buyer_reviewed(tx, provider_id: str, order_id: str, rating: str, now: datetime) -> None:
    """A buyer's review: one more good, neutral or bad review of the provider that day."""
    store.count(tx, order_id, rules.day_of(now), rules.review_deltas(provider_id, rating))


def contract_went_live(tx, contract_id: str, now: datetime) -> None:
    """A contract going live: one more contract started in the market that day."""
    store.count(tx, contract_id, rules.day_of(now), {rules.MARKET: {"contracts_started": 1}})


def _buyer_did(tx, entity_id: str, provider_id: str, buyer_id: str, day: str,
               what: str) -> None:
    read = store.read_marks(provider_id, buyer_id, day)
    moved = rules.buyer_mark(read, what)
    if moved is None:
        return  # already counted for this that day
    after, deltas = moved
    store.mark(tx, provider_id, buyer_id, day, read, after)
    store.count(tx, entity_id, day, {provider_id: deltas})


def market_daily(first: str | None, last: str | None) -> dict:
    """GET /admin/analytics/daily: the market's figures for every day of the range."""
    days = rules.days_between(first, last)
    return {"days": rules.market_days(days, store.totals(rules.MARKET, days[0], days[-1]))}


def provider_daily(provider_id: str, first: str | None, last: str | None) -> dict:
    """GET /me/analytics/daily: one provider's figures for every day of the range."""
    days = rules.days_between(first, last)
    return {"days": rules.provider_days(days, store.totals(provider_id, days[0], days[-1]))}
