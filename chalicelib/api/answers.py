"""What the API answers: a named schema for every 2xx body, declared with the same
`Field`s that validate requests. Routes name theirs (`response=ORDER`); the OpenAPI
document puts each in `components.schemas`; and the API test suite checks every answer
it receives against the route's schema, extra fields included (tests/support.py), so a
presenter that drifts from its declaration fails a test.
"""
from chalicelib.api.schema import (Bool, DateTime, Enum, Field, Free, Int, ListOf, Number, Obj,
                                   Str)
from chalicelib.domain import catalog as rules
from chalicelib.domain import orders as life

MAX = 10**12


def text(**kw) -> Str:
    return Str(0, 1_000_000, multiline=True, **kw)


def maybe(field: Field) -> Field:
    field.nullable = True
    return field


def when(**kw) -> DateTime:
    return DateTime(nullable=True, **kw)


def money(**kw) -> Int:
    return Int(minimum=0, maximum=MAX, description="fen", **kw)


def count(**kw) -> Int:
    return Int(minimum=-MAX, maximum=MAX, **kw)


def page_of(item: Obj) -> Obj:
    """The contract's list answer: `{"items": [...], "next_cursor": ... | null}`."""
    return Obj({"items": ListOf(item, 0, 1000),
                "next_cursor": maybe(text(description="pass as ?cursor= for the next page"))},
               name=f"{item.name}Page")


def items_of(item: Obj) -> Obj:
    """A whole list in one answer (no paging)."""
    return Obj({"items": ListOf(item, 0, 1000)}, name=f"{item.name}List")


HEALTH = Obj({"status": Enum(["ok"])}, name="Health")
OPENAPI = Free(description="this document")
OPENAPI.name = "OpenApiDocument"

TAXONOMY_ITEM = Obj({"id": text(), "name": text()}, name="TaxonomyItem")
TAXONOMY = items_of(TAXONOMY_ITEM)

RATING = Number(-1, 1, description="average review: good 1, neutral 0, bad -1; null unrated")
RATINGS = Obj({"good": count(), "neutral": count(), "bad": count()}, name="Ratings")

SERVICE = Obj({
    "id": text(), "provider_id": text(),
    "title": maybe(text()), "summary": maybe(text()),
    "headline": maybe(text(description="the first 20 characters of summary")),
    "content": maybe(text(description="Markdown")),
    "category": maybe(text()), "tags": ListOf(text(), 0, rules.MAX_TAGS),
    "pricing": maybe(Enum(list(rules.PRICINGS))), "price": maybe(money()),
    "currency": Enum(["CNY"]), "capacity": maybe(count()),
    "logo_url": maybe(text(description="stable: cache it; a new logo has a new URL")),
    "status": Enum(list(rules.STATUSES)), "trial_campaign_id": maybe(text()),
    "rating": maybe(RATING),
    "rating_count": count(), "open_orders": count(), "delisted_reason": maybe(text()),
    "featured": Bool(description="小二推荐: picked by an operator"),
    "created_at": when(), "updated_at": when(), "listed_at": when(),
}, name="Service")

SERVICE_CARD = Obj({
    "id": text(), "provider_id": text(), "title": text(),
    "headline": text(description="the first 20 characters of summary"),
    "category": text(), "tags": ListOf(text(), 0, rules.MAX_TAGS),
    "pricing": Enum(list(rules.PRICINGS)), "price": money(), "currency": Enum(["CNY"]),
    "logo_url": maybe(text(description="stable: cache it; a new logo has a new URL")),
    "rating": maybe(RATING), "rating_count": count(),
    "trial_campaign_id": maybe(text()), "listed_at": when(),
    "featured": Bool(description="小二推荐: picked by an operator"),
}, name="ServiceCard")

PROVIDER_STATUSES = ["none", "pending", "approved", "rejected", "suspended"]
PROVIDER = Obj({
    "id": text(), "display_name": text(), "company_name": text(), "intro": text(),
    "status": Enum(PROVIDER_STATUSES), "credit": count(), "ratings": RATINGS,
    "listed_count": count(),
    "stats": Obj({
        "completed_orders": count(), "on_time_orders": count(),
        "on_time_rate": maybe(Number(0, 1, description="share of completed orders first "
                                                       "delivered by due_at; null before any")),
        "ratings": RATINGS,
    }, name="ProviderStats", required=False, description="the public profile's order record"),
}, name="Provider")
PROVIDER_PROFILE = Obj({
    **PROVIDER.fields,
    # Before any application only id, status and the counters exist.
    **{k: maybe(text(required=False)) for k in ("display_name", "company_name", "intro")},
    "contact": maybe(text(required=False)), "trial_listed_count": count(),
    "reason": maybe(text(required=False)), "applied_at": when(required=False),
    "decided_at": when(required=False), "decided_by": maybe(text(required=False)),
}, name="ProviderProfile")

CAMPAIGN = Obj({
    "id": text(), "name": text(), "starts_at": when(), "ends_at": when(),
    "max_price": money(), "currency": Enum(["CNY"]), "active": Bool(),
}, name="CampaignView")

MILESTONE = Obj({
    "title": text(), "amount": money(), "release": Enum(["on_approval", "on_accept"]),
    "status": text(description="pending, released, refunded or split"),
}, name="MilestoneView")
ESCROW = Obj({"funded": money(), "released": money(), "refunded": money(), "held": money()},
             name="Escrow")
ORDER_SERVICE = Obj({
    "title": text(), "category": maybe(text()), "pricing": maybe(text()), "price": maybe(money()),
    "headline": maybe(text()), "logo_key": maybe(text()),
}, name="OrderServiceSnapshot")
ORDER = Obj({
    "id": text(), "status": Enum(list(life.STATES)),
    "status_label": text(description="the state's name in Chinese (待付款 …)"),
    "buyer_id": text(), "provider_id": text(), "service_id": text(),
    "service": ORDER_SERVICE, "requirement": text(), "due_at": when(),
    "amount": money(), "currency": Enum(["CNY"]),
    "price_agreed": Bool(description="false while a negotiable price waits for the provider"),
    "deliverables_withdrawn": Bool(description="the buyer was refunded in full: the delivered "
                                               "files are no longer the buyer's to download"),
    "open_proposal": maybe(text(description="the id of the order's one open proposal")),
    "allowed_actions": ListOf(Enum(list(life.CLIENT_VERBS.values())), 0, len(life.CLIENT_VERBS),
                              description="what the caller may do to the order now: the verb "
                                          "of each route (POST /orders/{id}/<verb>; `price` "
                                          "is 改价, `propose` opens a proposal, `resolve` is "
                                          "the operator's POST /admin/orders/{id}/resolve)"),
    "deadlines": Free(description="each pending timer and when it fires: pay_by, accept_by, "
                                  "late_cancel_from, review_until …"),
    "milestones": ListOf(MILESTONE, 0, 100), "current_step": count(),
    "revision_count": count(), "delivery_count": count(), "escrow": ESCROW,
    "late_cancel_eligible": Bool(), "dispute": maybe(Free(description="reason, by, at, from_status")),
    "reviewed_by_buyer": Bool(), "reviewed_by_provider": Bool(), "version": count(),
    # Money seams (issue 21): the plan the buyer pays is the plan the buyer saw.
    "plan_version": count(description="the plan's version: 1 at placing, +1 on every price "
                                       "or plan change; POST /orders/{id}/pay may name it"),
    "payment_pending": Bool(description="a payment is open at the gateway: the price and plan "
                                        "cannot change (409 PAYMENT_PENDING) until it settles "
                                        "or closes"),
    **{name: when() for name in ("created_at", "updated_at", "paid_at", "accepted_at",
                                 "delivered_at", "completed_at", "closed_at")},
}, name="Order")
PAYMENT = Obj({
    "status": Enum(["pending", "succeeded"]),
    "redirect_url": text(required=False, description="where the buyer pays, while pending"),
}, name="Payment")
# The pay answer: the order, and how its payment stands at the gateway.
PAID_ORDER = Obj({**ORDER.fields, "payment": PAYMENT}, name="PaidOrder")
EVENT = Obj({
    "seq": count(), "type": text(), "from": maybe(text()), "to": text(), "actor": text(),
    "at": when(), "data": Free(),
}, name="Event")

DELIVERABLE = Obj({
    "file_id": text(), "filename": text(), "content_type": text(), "size": count(),
    "version": maybe(count(description="the delivery it belongs to: 1, 2 …")),
    "created_at": when(), "delivered_at": when(),
}, name="Deliverable")
UPLOAD = Obj({
    "upload": Obj({"url": text(), "fields": Free()}, name="PresignedPost"),
    "file_id": text(), "filename": text(), "max_bytes": count(),
    "expires_in": count(description="seconds the upload form stays valid"),
}, name="UploadTicket")
DOWNLOAD = Obj({"url": text(), "filename": text(), "expires_in": count()}, name="Download")

USER = Obj({"id": text(), "credit": count(), "ratings": RATINGS}, name="User")
NOTIFICATION = Obj({
    "id": text(), "kind": text(), "text": text(), "order_id": maybe(text()),
    "service_id": maybe(text()), "read": Bool(), "created_at": when(),
}, name="Notification")

BALANCE = Obj({
    "available": Int(minimum=0, maximum=MAX, description="fen the caller may withdraw"),
    "pending_withdrawal": Int(minimum=0, maximum=MAX,
                              description="fen on their way out in pending withdrawals"),
    "debt": Int(minimum=1, maximum=MAX, required=False,
                description="(only while something is owed) fen owed to the platform: a "
                            "deposit reversed by a full refund "
                            "(全额退款) that `available` could not cover; repaid from the next "
                            "releases before `available` grows"),
    "currency": Enum(["CNY"]),
}, name="Balance")
LEDGER_CHECK = Obj({
    "accounts": count(), "sum": count(description="0 when every posting balanced"),
    "revenue": count(description="fen the platform earned in fees (the revenue account)"),
    "violations": ListOf(Free(), 0, 100000), "pending_instructions": ListOf(Free(), 0, 100000),
}, name="LedgerCheck")
RECONCILIATION = Obj({
    "checked_at": DateTime(),
    "payments": Free(description="payment records at the gateway, counted by status"),
    "totals": Free(description="fen: gateway_paid, ledger_funded, ledger_refunded"),
    "mismatches": ListOf(Free(description="kind, payment, order, status, detail, times, at"),
                         0, 100000),
}, name="Reconciliation")
STUCK_ITEM = Obj({
    "job": text(), "id": text(), "status": text(), "attempts": count(),
    "last_error": maybe(text()), "first_failed_at": when(), "last_failed_at": when(),
    "retry_at": when(),
}, name="StuckItem")

TOKEN = Obj({"token": text()}, name="LocalToken")
CLOCK = Obj({"now": DateTime()}, name="LocalClock")
SWEEPS = Free(description="what each scheduled function did")
SWEEPS.name = "LocalSweeps"
