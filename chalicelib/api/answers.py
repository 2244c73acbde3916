"""What the API answers: a named schema for every 2xx body, declared with the same
`Field`s that validate requests. Routes name theirs (`response=ORDER`); the OpenAPI
document puts each in `components.schemas`; and the API test suite checks every answer
it receives against the route's schema, extra fields included (tests/support.py), so a
presenter that drifts from its declaration fails a test.
"""
import copy

from chalicelib.api.schema import (Bool, DateTime, Enum, Field, Free, Int, ListOf, Number, Obj,
                                   Str)
from chalicelib.domain import catalog as catalog_rules
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
    """The contract's list answer, for every paged list: `{"items": [...],
    "next_cursor": ... | null}`, named `<item>Page`."""
    return Obj({"items": ListOf(item, 0, 1000),
                "next_cursor": maybe(text(description="pass as ?cursor= for the next page"))},
               name=f"{item.name}Page")


def items_of(item: Obj) -> Obj:
    """A whole list in one answer (no paging)."""
    return Obj({"items": ListOf(item, 0, 1000)}, name=f"{item.name}List")


# `now` is the app's clock, which the local stage can move (POST /_local/clock): a client
# bases its default dates on it, and `clock_moved` lets it say so.
HEALTH = Obj({"status": Enum(["ok"]), "now": DateTime(), "clock_moved": Bool()}, name="Health")
OPENAPI = Free(description="this document")
OPENAPI.name = "OpenApiDocument"

TAXONOMY_ITEM = Obj({"id": text(), "name": text()}, name="TaxonomyItem")
TAXONOMY = items_of(TAXONOMY_ITEM)

RATING = Number(-1, 1, description="average review: good 1, neutral 0, bad -1; null unrated")
RATINGS = Obj({"good": count(), "neutral": count(), "bad": count()}, name="Ratings")
CREDIT_LEVEL = Obj({
    "tier": Enum(["heart", "diamond", "blue_crown", "gold_crown"]),
    "stars": Int(minimum=1, maximum=5),
    "label": text(description="e.g. 3心, 2钻, 1蓝冠, 5金冠"),
}, name="CreditLevel", nullable=True,
    description="信用等级 by Taobao's thresholds of credit; null below 4 points")

SERVICE = Obj({
    "id": text(), "provider_id": text(),
    "title": maybe(text()), "summary": maybe(text()),
    "headline": maybe(text(description="the first 20 characters of summary")),
    "content": maybe(text(description="Markdown")),
    "category": maybe(text()), "tags": ListOf(text(), 0, catalog_rules.MAX_TAGS),
    "pricing": maybe(Enum(list(catalog_rules.PRICINGS))), "price": maybe(money()),
    "currency": Enum(["CNY"]), "capacity": maybe(count()),
    "logo_url": maybe(text(description="stable: cache it; a new logo has a new URL")),
    "status": Enum(list(catalog_rules.STATUSES)), "trial_campaign_id": maybe(text()),
    "rating": maybe(RATING),
    "rating_count": count(), "open_orders": count(), "delisted_reason": maybe(text()),
    "featured": Bool(description="小二推荐: picked by an operator"),
    "created_at": when(), "updated_at": when(), "listed_at": when(),
}, name="Service")

SERVICE_CARD = Obj({
    "id": text(), "provider_id": text(), "title": text(),
    "headline": text(description="the first 20 characters of summary"),
    "category": text(), "tags": ListOf(text(), 0, catalog_rules.MAX_TAGS),
    "pricing": Enum(list(catalog_rules.PRICINGS)), "price": money(), "currency": Enum(["CNY"]),
    "logo_url": maybe(text(description="stable: cache it; a new logo has a new URL")),
    "rating": maybe(RATING), "rating_count": count(),
    "trial_campaign_id": maybe(text()), "listed_at": when(),
    "featured": Bool(description="小二推荐: picked by an operator"),
}, name="ServiceCard")

PROVIDER_STATUSES = ["none", "pending", "approved", "rejected", "suspended"]
PROVIDER = Obj({
    "id": text(), "display_name": text(), "company_name": text(), "intro": text(),
    "status": Enum(PROVIDER_STATUSES), "credit": count(), "credit_level": CREDIT_LEVEL,
    "ratings": RATINGS,
    "listed_count": count(),
    "stats": Obj({
        "completed_orders": count(), "on_time_orders": count(),
        "on_time_rate": maybe(Number(0, 1, description="share of completed orders first "
                                                       "delivered by due_at; null before any")),
        "ratings": RATINGS,
        "closed_paid_orders": count(description="paid orders that have closed: what the "
                                                "three rates divide by"),
        **{name: maybe(Number(0, 1, description=f"share of closed paid orders {what}; null "
                                                 "before any"))
           for name, what in (("refund_rate", "with any refund"),
                              ("dispute_rate", "ever disputed"),
                              ("cancel_rate", "that ended cancelled"))},
        "disputes_lost": count(description="disputes resolved with fault `provider`"),
        "median_accept_seconds": maybe(count(
            description="paid → accepted, from a histogram: the upper edge of the bucket "
                        "holding the median (60 s, 5 min … 7 days); null before any")),
        "median_reply_seconds": maybe(count(description="inquiry → first provider reply; "
                                                        "null with no inquiries")),
        "repeat_buyers": count(description="回头客: buyers with two or more paid orders"),
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
    "phase": Enum(["upcoming", "active", "ended"],
                  description="upcoming: created, not started yet (active: running now)"),
}, name="CampaignView")

MILESTONE = Obj({
    "title": text(), "amount": money(), "release": Enum(["on_approval", "on_accept"]),
    "status": Enum(["pending", "released", "refunded", "split"]),
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
    "allowed_actions": ListOf(Enum([*life.CLIENT_VERBS.values(), life.EVIDENCE]), 0,
                              len(life.CLIENT_VERBS) + 1,
                              description="what the caller may do to the order now: the verb "
                                          "of each route (POST /orders/{id}/<verb>; `price` "
                                          "is 改价, `propose` opens a proposal, `resolve` is "
                                          "the operator's POST /admin/orders/{id}/resolve, "
                                          "`withdraw-dispute` is POST /orders/{id}/dispute/"
                                          "withdraw, `evidence` is POST /orders/{id}/evidence)"),
    "proposal_kinds": ListOf(Enum(["extension", "cancel", "partial_refund"]), 0, 3,
                             description="the kinds the caller may propose now (empty "
                                         "unless allowed_actions has propose; only cancel "
                                         "while disputed)"),
    "deadlines": Free(description="each pending timer and when it fires: pay_by, accept_by, "
                                  "late_cancel_from, auto_approve_at, review_until, "
                                  "refund_answer_by, proposal_expires_at; while disputed, "
                                  "evidence_until (the end of 举证) and a settlement "
                                  "proposal's proposal_expires_at"),
    "milestones": ListOf(MILESTONE, 0, 100), "current_step": count(),
    "revision_count": count(), "delivery_count": count(), "escrow": ESCROW,
    "late_cancel_eligible": Bool(),
    "dispute": maybe(Free(description="reason, by, at, from_status, proposal_id (an escalated "
                                      "refund request), withdrawn_at (once its opener "
                                      "withdrew it)")),
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

USER = Obj({"id": text(), "credit": count(), "credit_level": CREDIT_LEVEL, "ratings": RATINGS},
           name="User")
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

# Before and when ordering (issue 26): inquiries, offers, and what an order was chosen with.
PACKAGE = Obj({
    "name": text(), "price": money(), "delivery_days": count(),
    "revisions": maybe(count(description="null: unlimited")), "description": text(),
}, name="Package")
EXTRA = Obj({"name": text(), "price": money()}, name="Extra")


class AnswerMap(Free):
    """The requirement form's answers: up to 10 question ids, each with text (≤ 2000)."""

    def clean(self, value, path, problems):
        value = super().clean(value, path, problems)
        if value is None:
            return None
        if len(value) > 10:
            problems.add(path, "too many answers", maximum=10)
        for key, answer in value.items():
            if not isinstance(answer, str) or len(answer) > 2000 or len(key) > 32:
                problems.add(f"{path}.{str(key)[:32]}", "must be text of up to 2000 characters")
        return value

    def _schema_extra(self):
        return {"additionalProperties": {"type": "string", "maxLength": 2000},
                "maxProperties": 10}


_ORDER_CHOICES = {
    "inquiry_id": maybe(text(description="the inquiry a custom offer answered")),
    "package": maybe(Obj(dict(PACKAGE.fields), name="OrderPackage")),
    "extras": ListOf(EXTRA, 0, 10),
    "answers": AnswerMap(description="the requirement form: question id -> text or file id"),
}
ORDER.fields.update(_ORDER_CHOICES)
PAID_ORDER.fields.update(_ORDER_CHOICES)
INQUIRY_MESSAGE = Obj({
    "id": text(), "inquiry_id": text(), "author": text(description="the author's user id"),
    "role": Enum(["buyer", "provider"]), "body": text(), "at": when(),
}, name="InquiryMessage")
INQUIRY_SUMMARY = Obj({
    "id": text(), "service_id": text(), "service_title": text(), "buyer_id": text(),
    "provider_id": text(), "role": Enum(["buyer", "provider"],
                                        description="the caller's side"),
    "message_count": count(),
    "first_reply_at": when(description="the provider's first message; null before it"),
    "reply_seconds": maybe(count(description="seconds to the provider's first reply")),
    "order_id": maybe(text(description="the latest custom offer's order")),
    "created_at": when(), "updated_at": when(),
}, name="InquirySummary")
INQUIRY_SUMMARY.fields["contract_id"] = maybe(text(
    description="the latest contract offered (a draft the provider signed)"))
INQUIRY = Obj({**INQUIRY_SUMMARY.fields,
               "messages": ListOf(INQUIRY_MESSAGE, 0, 1000, description="oldest first")},
              name="Inquiry")
OFFER = Obj({"order": ORDER}, name="OfferAnswer")
QUESTION = Obj({"id": text(), "label": text(), "required": Bool(),
                "kind": Enum(["text", "file"])}, name="Question")
SERVICE.fields.update({"packages": ListOf(PACKAGE, 0, 3), "extras": ListOf(EXTRA, 0, 10),
                       "questions": ListOf(QUESTION, 0, 10)})
SERVICE.fields["content_html"] = text(description="content rendered from Markdown and "
                                                  "sanitized: no script, no raw HTML, only "
                                                  "http(s) links and the service's own pictures")
SERVICE.fields["images"] = ListOf(
    Obj({"image_id": text(), "url": text()}, name="ServicePicture"), 0, 30,
    description="the service's checked pictures (content shows them as image:<id>)")
IMAGE_TICKET = Obj({
    "image_id": text(), "upload": Obj({"url": text(), "fields": Free()}, name="ImagePost"),
    "max_bytes": count(), "expires_in": count(description="seconds the form stays valid"),
    "markdown": text(description="what to write in content to show it, once checked"),
}, name="ImageUploadTicket")
IMAGE = Obj({"image_id": text(), "url": text(description="stable: cache it"),
             "markdown": text()}, name="ServiceImage")
DOCUMENT = Obj({
    "id": text(), "kind": Enum(["business_license", "id_card", "other"]), "filename": text(),
    "content_type": text(), "size": count(), "uploaded_at": when(),
}, name="QualificationDocument")
PROVIDER_PROFILE.fields["documents"] = ListOf(DOCUMENT, 0, 10, required=False,
                                              description="the applicant's and operators' only")
DOCUMENT_TICKET = Obj({
    "document_id": text(), "upload": Obj({"url": text(), "fields": Free()},
                                         name="DocumentPost"),
    "expires_in": count(),
}, name="DocumentUploadTicket")
DOCUMENT_DOWNLOAD = Obj({"url": text(), "filename": text(), "expires_in": count()},
                        name="DocumentDownload")
# --- contracts (包月合同) -----------------------------------------------------------
_CONTRACT_STATES = ["draft", "awaiting_deposit", "onboarding", "trial", "active", "suspended",
                    "ending", "ended", "cancelled"]
_STATEMENT_STATES = ["open", "submitted", "payable", "paid", "released", "disputed"]
SCHEDULE = Obj({"agents": count(), "hours": text(example="09:00-24:00"), "shifts": count(),
                "holidays": text()}, name="ContractSchedule")
TERMS = Obj({
    "period": Enum(["month", "quarter"]), "billing": Enum(["postpaid", "prepaid"]),
    "base": money(),
    "commission_bps": count(description="of the sales declared for a period (prepaid: 0)"),
    "deposit": money(), "trial_days": count(), "trial_fee": money(), "notice_days": count(),
    "schedule": SCHEDULE, "kpis": ListOf(text(), 0, 10, description="考核标准"),
    "confidential": Bool(description="保密协议"), "breach": text(description="违约处理"),
}, name="ContractTerms")
CONTRACT = Obj({
    "id": text(), "status": Enum(_CONTRACT_STATES),
    "status_label": text(description="the state's name in Chinese (洽谈中 …)"),
    "buyer_id": text(), "provider_id": text(), "service_id": text(),
    "service": Obj({"title": text(), "category": maybe(text())}, name="ContractService"),
    "requirement": text(), "terms": TERMS,
    "signed_by": ListOf(Enum(["buyer", "provider"]), 0, 2),
    "live_on": maybe(text(description="YYYY-MM-DD, Beijing")),
    "ends_on": maybe(text(description="the last day served, YYYY-MM-DD")),
    "deposit": Obj({"paid": money(), "held": money(), "used": money(), "returned": money()},
                   name="ContractDeposit"),
    "deadlines": Obj({"trial_ends_on": maybe(text()), "next_statement_on": maybe(text())},
                     name="ContractDeadlines"),
    "owed": money(),
    "terminated": maybe(Free(description="by, reason, at")),
    "created_at": when(), "updated_at": when(),
    "allowed_actions": ListOf(Enum(["terms", "sign", "pay", "go-live", "terminate"]), 0, 5,
                              description="the verbs the caller may use now "
                                          "(PUT /contracts/{id}/terms, POST …/<verb>)"),
}, name="Contract")
PAID_CONTRACT = Obj({**CONTRACT.fields, "payment": PAYMENT}, name="PaidContract")
# A custom offer answers `{"order"}` or, offered as a contract, `{"contract"}`.
OFFER.fields.update({"order": copy.copy(ORDER), "contract": copy.copy(CONTRACT)})
for _variant in OFFER.fields.values():
    _variant.required = False
STATEMENT = Obj({
    "id": text(), "contract_id": text(), "status": Enum(_STATEMENT_STATES),
    "billing": Enum(["postpaid", "prepaid"]), "kind": Enum(["trial", "regular"]),
    "period_start": text(), "period_end": text(), "days": count(), "length": count(),
    "base": money(), "sales": maybe(money()),
    "commission": money(), "amount": maybe(money()), "paid": money(),
    "paid_from_deposit": money(), "kpis": Free(), "files": ListOf(text(), 0, 50),
    "dispute": maybe(Free()), "resolution": maybe(Free()),
    "repriced": maybe(Free(description="a prepaid period cut short by a termination: "
                                       "amount_before, period_end_before, at")),
    **{name: when() for name in ("submit_by", "confirm_by", "pay_by", "paid_at", "opened_at")},
}, name="Statement")
PAID_STATEMENT = Obj({**STATEMENT.fields, "payment": PAYMENT}, name="PaidStatement")

# --- analytics (GET /admin/analytics/daily, GET /me/analytics/daily) ----------------
_DAY = text(description="YYYY-MM-DD, a Beijing day")
MARKET_DAY = Obj({
    "day": _DAY, "orders_placed": count(), "orders_paid": count(),
    "orders_completed": count(), "funded": money(), "released": money(),
    "refunded": money(),
    "platform_revenue": Int(minimum=-MAX, maximum=MAX,
                            description="fen: fees taken less fees given back that day"),
    "disputes_opened": count(), "inquiries": count(),
    "contracts_started": count(description="contracts that went live that day"),
}, name="MarketDay")
MARKET_DAYS = Obj({"days": ListOf(MARKET_DAY, 1, 366)}, name="MarketDays")
PROVIDER_DAY = Obj({
    "day": _DAY, "inquiries": count(), "inquiring_buyers": count(), "orders_paid": count(),
    "paying_buyers": count(),
    "conversion": maybe(Number(0, 1, description="询单转化率: that day's inquiring buyers who "
                                                 "also paid that day ÷ inquiring buyers; "
                                                 "null when none inquired")),
    "released": Int(minimum=0, maximum=MAX,
                    description="fen earned that day (after the platform's fee)"),
    "good_reviews": count(), "neutral_reviews": count(), "bad_reviews": count(),
}, name="ProviderDay")
PROVIDER_DAYS = Obj({"days": ListOf(PROVIDER_DAY, 1, 366)}, name="ProviderDays")
