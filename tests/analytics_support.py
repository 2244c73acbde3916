"""The daily figures recomputed from what they count — the orders, the ledger's postings,
the inquiries, the reviews and the contracts, read in full (a test may scan) — to compare
with the counters the writes keep (GET /admin/analytics/daily, GET /me/analytics/daily)."""
from collections import defaultdict

from chalicelib import clock
from chalicelib.domain import analytics as rules
from chalicelib.domain import escrow as money
from chalicelib.storage.contracts import ContractModel
from chalicelib.storage.inquiries import InquiryModel
from chalicelib.storage.ledger import PostingModel
from chalicelib.storage.orders import OrderModel
from chalicelib.storage.reviews import ReviewModel


def _day(key: str) -> str:
    return rules.day_of(clock.from_key(key))


def recomputed_market(days: list[str]) -> list[dict]:
    """The operator's answer for `days`, from the records themselves."""
    t: dict = defaultdict(lambda: defaultdict(int))
    for o in OrderModel.scan(consistent_read=True):
        t[_day(o.created_at)]["orders_placed"] += 1
        if o.paid_at:
            t[_day(o.paid_at)]["orders_paid"] += 1
        if o.completed_at:
            t[_day(o.completed_at)]["orders_completed"] += 1
        for at in o.disputes_opened_at or ([o.dispute["at"]] if o.dispute else []):
            t[_day(at)]["disputes_opened"] += 1
    for p in PostingModel.scan(consistent_read=True):
        d, amount = t[_day(p.at)], int(p.amount)
        if p.kind == money.FUND:
            d["funded"] += amount
        elif p.kind == money.RELEASE:
            d["released"] += amount
        elif p.kind == money.FEE:
            d["released"] += amount
            d["platform_revenue"] += amount
        elif p.kind == money.FEE_REVERSAL:
            d["platform_revenue"] -= amount
        elif p.kind == money.REFUND:
            d["refunded"] += amount
    for i in InquiryModel.scan(consistent_read=True):
        t[_day(i.created_at)]["inquiries"] += 1
    for c in ContractModel.scan(consistent_read=True):
        if getattr(c, "live_on", None):
            t[c.live_on]["contracts_started"] += 1
    return rules.market_days(days, t)


def recomputed_provider(provider_id: str, days: list[str]) -> list[dict]:
    """A provider's answer for `days`, from the records themselves."""
    t: dict = defaultdict(lambda: defaultdict(int))
    inquired, paid = defaultdict(set), defaultdict(set)
    for i in InquiryModel.scan(consistent_read=True):
        if i.provider_id == provider_id:
            t[_day(i.created_at)]["inquiries"] += 1
            inquired[_day(i.created_at)].add(i.buyer_id)
    for o in OrderModel.scan(consistent_read=True):
        if o.provider_id == provider_id and o.paid_at:
            t[_day(o.paid_at)]["orders_paid"] += 1
            paid[_day(o.paid_at)].add(o.buyer_id)
    for day in set(inquired) | set(paid):
        t[day]["inquiring_buyers"] = len(inquired[day])
        t[day]["paying_buyers"] = len(paid[day])
        t[day]["converted_buyers"] = len(inquired[day] & paid[day])
    payable = money.payable_account(provider_id)
    for p in PostingModel.scan(consistent_read=True):
        if p.kind == money.RELEASE and p.to_account == payable:
            t[_day(p.at)]["released"] += int(p.amount)
    for r in ReviewModel.scan(consistent_read=True):
        if r.author_role == "buyer" and r.subject_id == provider_id and r.rating:
            t[_day(r.created_at)][f"{r.rating}_reviews"] += 1
    return rules.provider_days(days, t)
