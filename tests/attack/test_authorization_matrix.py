"""Every route × every kind of caller, with the exact status the contract gives each.

The matrix iterates `ROUTES`: a route added without an expectation here fails
`test_every_route_has_an_expectation`. Per API.md "Who is calling": a missing, expired,
forged or malformed token is 401; a caller who may not see the resource gets 404 (the
very answer an id that does not exist gets, so nothing can be probed); one who may see
it but not do this gets 403; the right party really succeeds. A refused write leaves
the resource as it was. Runs on moto only: it is large.
"""
import base64
from dataclasses import dataclass, field
from typing import Callable

import pytest

import app  # noqa: F401 - importing the app registers every route in ROUTES
from chalicelib.api.routing import ROUTES, RouteSpec
from tests.api.catalog_support import APPLICATION
from tests.api.contracts_support import terms as contract_terms
from tests.api.orders_support import BUYER, OPERATOR, PROVIDER, listed_service, upload
from tests.api.messages_support import attach as upload_attachment
from tests.attack.contract_targets import contract_target
from tests.attack.authz_support import (ANOTHER_BUYER, ANOTHER_PROVIDER, BAD_TOKENS, CALLERS,
                                        COUNTERPART, INTRUDER, OPERATOR_CALLER, OTHER_BUYER,
                                        OTHER_PROVIDER, PARTY, STRANGERS, SYSTEM_CLAIM, UNKNOWN_ID,
                                        Target, World, auth_header, logo_bytes, new_service_body,
                                        token)

PUBLIC, SELF, ADMIN, ORDER, OWNER = "public", "self", "operator-only", "order", "owner"
SIGNED = "gateway-signed"
ERROR_CODES = {401: {"UNAUTHENTICATED"}, 403: {"FORBIDDEN", "PROVIDER_NOT_APPROVED"},
               404: {"NOT_FOUND"}}


@dataclass
class Case:
    """Who may call a route, and how to build a resource the right party may act on.

    `kind` fixes the defaults: PUBLIC (everyone, tokens ignored), SELF (every signed-in
    user, on their own data), ADMIN (operators; anyone else 403), ORDER (the order's
    parties named in `allowed`; the other party and operators 403 unless allowed;
    strangers 404), OWNER (a draft service: owner yes, operator 403, strangers 404),
    SIGNED (a payment gateway's notification: no token counts, only the gateway's
    signature, so every caller gets `overrides["anyone"]`).
    """

    kind: str
    build: Callable[[World], Target]
    allowed: tuple = (PARTY,)
    overrides: dict = field(default_factory=dict)


def order_target(state: str, party: str, body=None, file=False):
    def build(w: World) -> Target:
        oid = w.disputed_order() if state == "disputed" else w.order(state)
        params = {"order_id": oid}
        if file:
            params["file_id"] = upload(w.api, oid) if state == "in_progress" else _delivered(w, oid)
        payload = body(params) if callable(body) else body
        counterpart = PROVIDER if party == BUYER else BUYER
        return Target(params, party, counterpart, body=payload, probe=w.order_probe(oid))
    return build


def proposal_target(party: str, body=None):
    """An order in progress with the buyer's open cancel proposal: the provider answers
    it, the buyer (its author) withdraws it."""
    def build(w: World) -> Target:
        oid = w.order("in_progress")
        made = w.api.post(f"/orders/{oid}/proposals", {"kind": "cancel", "refund": 10000},
                          user=BUYER)
        assert made.status == 201, made
        counterpart = PROVIDER if party == BUYER else BUYER
        return Target({"order_id": oid, "proposal_id": made.json["id"]}, party, counterpart,
                      body=body, probe=w.order_probe(oid))
    return build


def _delivered(w: World, oid: str) -> str:
    items = w.api.get(f"/orders/{oid}/deliverables", user=BUYER).json["items"]
    return items[0]["file_id"]


def sent_attachment_target(w: World) -> Target:
    """A file the buyer sent in a message on an order in progress."""
    oid = w.order("in_progress")
    file_id = upload_attachment(w.api, oid, BUYER)
    assert w.api.post(f"/orders/{oid}/messages", {"body": "参考图见附件", "file_ids": [file_id]},
                      user=BUYER).status == 201
    return Target({"order_id": oid, "file_id": file_id}, BUYER, PROVIDER,
                  probe=w.order_probe(oid))


def reviewed_order_target(w: World, party: str = PROVIDER, body=None,
                          side: str | None = None) -> Target:
    """A completed order both sides reviewed: both reviews are readable and unanswered."""
    oid = w.order("completed")
    for user, rating in ((BUYER, "bad"), (PROVIDER, "good")):
        assert w.api.post(f"/orders/{oid}/reviews", {"rating": rating, "comment": "评价"},
                          user=user).status == 201
    counterpart = BUYER if party == PROVIDER else PROVIDER
    params = {"order_id": oid, **({"side": side} if side else {})}
    return Target(params, party, counterpart, body=body or {"body": "感谢反馈"},
                  probe=w.order_probe(oid))


def service_target(make: str, **extra):
    def build(w: World) -> Target:
        sid = {"draft": w.draft, "logo": lambda: w.draft(logo=True), "listed": w.listed}[make]()
        return Target({"service_id": sid}, PROVIDER, probe=w.service_probe(sid), **extra)
    return build


def notification_target(w: World) -> Target:
    """A forged Alipay notification paying an order that awaits payment."""
    oid = w.order("awaiting_payment")
    form = f"out_trade_no={oid}&trade_status=TRADE_SUCCESS&total_amount=500.00&sign=forged"
    return Target({"gateway": "alipay"}, BUYER, raw=form.encode(),
                  content_type="application/x-www-form-urlencoded", probe=w.order_probe(oid))


def forged_email_link(w: World) -> Target:
    """buyer-1's address awaiting confirmation, and a link naming buyer-1 with a made-up
    secret."""
    assert w.api.put("/me/channels", {"email": "shop@example.com"}, user=BUYER).status == 200
    user_part = base64.urlsafe_b64encode(BUYER.encode()).decode().rstrip("=")
    return Target({}, BUYER, query=f"?token={user_part}.forged-secret",
                  probe=lambda: w.api.get("/me/channels", user=BUYER).json)


def self_target(party=BUYER, body=None, **extra):
    return lambda w: Target({}, party, body=body(w) if callable(body) else body, **extra)


def earning_provider(body=None):
    """provider-1 with money released to them; both providers with a payout account."""
    def build(w: World) -> Target:
        w.order("completed")
        for provider in (PROVIDER, OTHER_PROVIDER):
            assert w.api.put("/providers/me/payout-account", PAYEE, user=provider).status == 200
        return Target({}, PROVIDER, body=body,
                      probe=lambda: w.api.get("/me/balance", user=PROVIDER).json)
    return build


def provider_target(make: str, body=None):
    def build(w: World) -> Target:
        user = w.applicant()
        if make in ("approved", "suspended"):
            assert w.api.post(f"/admin/providers/{user}/approve", user=OPERATOR,
                              operator=True).status == 200
        if make == "suspended":
            assert w.api.post(f"/admin/providers/{user}/suspend", REASON, user=OPERATOR,
                              operator=True).status == 200
        return Target({"provider_id": user}, OPERATOR, body=body, probe=w.provider_probe(user))
    return build


def inquiry_target(party: str, body=None):
    """An inquiry buyer-1 opened on a listed service of provider-1: only those two see it."""
    def build(w: World) -> Target:
        sid = listed_service()
        opened = w.api.post(f"/services/{sid}/inquiries", {"body": "三天能交付吗？"}, user=BUYER)
        assert opened.status == 201, opened
        iid = opened.json["id"]
        counterpart = PROVIDER if party == BUYER else BUYER
        probe = lambda: w.api.get(f"/inquiries/{iid}", user=BUYER).json  # noqa: E731
        return Target({"inquiry_id": iid}, party, counterpart, body=body, probe=probe)
    return build


def picture_target(w: World) -> Target:
    """A picture uploaded for a draft of provider-1, not yet checked."""
    sid = w.draft()
    png = logo_bytes()
    ticket = w.api.post(f"/services/{sid}/images", {"content_type": "image/png",
                                                   "size": len(png)}, user=PROVIDER)
    assert ticket.status == 201, ticket
    from chalicelib import settings
    from chalicelib.storage.files import s3_client
    s3_client().put_object(Bucket=settings.get().bucket, Key=ticket.json["upload"]["fields"]["key"],
                           Body=png, ContentType="image/png")
    return Target({"service_id": sid, "image_id": ticket.json["image_id"]}, PROVIDER, body={},
                  probe=w.service_probe(sid))


def document_target(w: World) -> Target:
    """A qualification document of provider-1, for operators to download."""
    added = w.api.post("/providers/me/documents", DOCUMENT, user=PROVIDER)
    assert added.status == 201, added
    return Target({"provider_id": PROVIDER, "document_id": added.json["document_id"]}, OPERATOR)


DOCUMENT = {"kind": "business_license", "filename": "营业执照.pdf",
            "content_type": "application/pdf", "size": 2048}
OFFER = {"amount": 70000, "requirement": "首页加详情页", "due_at": "2030-01-01T00:00:00+00:00"}
REASON = {"reason": "资质材料不全"}
CAMPAIGN = {"name": "新店体验季", "starts_at": "2026-12-01T00:00:00+08:00",
            "ends_at": "2026-12-31T00:00:00+08:00", "max_price": 100}
UPLOAD = {"filename": "首页设计稿.png", "content_type": "image/png", "size": 1024}
PAYEE = {"account": "13800138000", "name": "张小美"}
# Only providers have payout accounts: anyone else reads 404, and withdrawing without
# an account or a balance is 409; setting one is for providers only.
NO_PAYOUT_ACCOUNT = {ANOTHER_BUYER: 404, SYSTEM_CLAIM: 404, OPERATOR_CALLER: 404}
NOT_A_PROVIDER = {ANOTHER_BUYER: 403, SYSTEM_CLAIM: 403, OPERATOR_CALLER: 403}

CASES: dict[tuple[str, str], Case] = {
    ("GET", "/health"): Case(PUBLIC, self_target()),
    ("GET", "/openapi.json"): Case(PUBLIC, self_target()),
    ("GET", "/categories"): Case(PUBLIC, self_target()),
    ("GET", "/tags"): Case(PUBLIC, self_target()),
    ("GET", "/campaigns"): Case(PUBLIC, self_target()),
    ("GET", "/services"): Case(PUBLIC, self_target()),
    ("GET", "/services/{service_id}"): Case(PUBLIC, service_target("listed")),
    ("GET", "/providers/{provider_id}"): Case(
        PUBLIC, lambda w: Target({"provider_id": PROVIDER}, BUYER)),
    ("GET", "/users/{user_id}"): Case(PUBLIC, lambda w: Target({"user_id": BUYER}, BUYER)),
    ("GET", "/services/{service_id}/reviews"): Case(PUBLIC, service_target("listed")),
    ("GET", "/providers/{provider_id}/reviews"): Case(
        PUBLIC, lambda w: Target({"provider_id": PROVIDER}, BUYER)),

    ("GET", "/me/notifications"): Case(SELF, self_target()),
    ("GET", "/me/notifications/unread-count"): Case(SELF, self_target()),
    ("POST", "/me/notifications/read"): Case(SELF, self_target(body={"all": True})),
    ("GET", "/me/channels"): Case(SELF, self_target()),
    ("PUT", "/me/channels"): Case(SELF, self_target(body={"email": "shop@example.com"})),
    ("GET", "/me/balance"): Case(SELF, self_target()),
    ("GET", "/me/withdrawals"): Case(SELF, self_target()),
    ("GET", "/me/statement"): Case(SELF, self_target()),
    ("GET", "/providers/me/payout-account"): Case(SELF, earning_provider(),
                                                  overrides=NO_PAYOUT_ACCOUNT),
    ("PUT", "/providers/me/payout-account"): Case(SELF, self_target(PROVIDER, PAYEE),
                                                  overrides=NOT_A_PROVIDER),
    ("POST", "/me/withdrawals"): Case(SELF, earning_provider({"amount": 100}), overrides={
        s: 409 for s in (*STRANGERS, OPERATOR_CALLER)}),
    ("GET", "/orders"): Case(SELF, self_target()),
    ("GET", "/providers/me"): Case(SELF, self_target(PROVIDER)),
    ("GET", "/providers/me/services"): Case(SELF, self_target(PROVIDER)),
    # Anyone may buy; only the service's own provider may not order it.
    ("POST", "/orders"): Case(SELF, lambda w: Target(
        {}, BUYER, PROVIDER, body={"service_id": listed_service(), "requirement": "店铺首页装修",
                                   "due_at": "2030-01-01T00:00:00+00:00"}),
        overrides={COUNTERPART: 403}),
    # Drafting is for approved providers (provider-1 and provider-2 are).
    ("POST", "/services"): Case(SELF, self_target(PROVIDER, new_service_body), overrides={
        ANOTHER_BUYER: 403, SYSTEM_CLAIM: 403, OPERATOR_CALLER: 403}),
    # Any user may apply once; provider-2 already is one.
    ("POST", "/providers/me/application"): Case(SELF, lambda w: Target(
        {}, f"applicant-{w.n()}", body=APPLICATION), overrides={ANOTHER_PROVIDER: 409}),

    ("GET", "/admin/ledger/check"): Case(ADMIN, self_target(OPERATOR)),
    ("GET", "/admin/reconciliation"): Case(ADMIN, self_target(OPERATOR)),
    # The attack world pays through the sandbox, which hears no notifications: 404 for
    # anyone (tests/api/test_alipay_payments.py forges them against Alipay: 400).
    ("POST", "/payments/{gateway}/notify"): Case(SIGNED, notification_target,
                                                  overrides={"anyone": 404}),
    # The link's token is the authentication: a bearer token, good or bad, counts for
    # nothing, and a forged link confirms nothing (404 as for an unknown one).
    ("GET", "/me/channels/email/verify"): Case(SIGNED, forged_email_link,
                                                overrides={"anyone": 404}),
    ("GET", "/admin/stuck"): Case(ADMIN, self_target(OPERATOR)),
    # Analytics: the market's days for operators; anyone's own shop's days for itself.
    ("GET", "/admin/analytics/daily"): Case(ADMIN, self_target(
        OPERATOR, query="?from=2026-12-01&to=2026-12-07")),
    ("GET", "/me/analytics/daily"): Case(SELF, self_target(
        PROVIDER, query="?from=2026-12-01&to=2026-12-07")),
    ("GET", "/admin/providers"): Case(ADMIN, self_target(OPERATOR)),
    ("GET", "/admin/orders"): Case(ADMIN, self_target(OPERATOR)),
    ("POST", "/admin/campaigns"): Case(ADMIN, self_target(OPERATOR, CAMPAIGN)),
    ("GET", "/admin/campaigns"): Case(ADMIN, self_target(OPERATOR)),
    # A form's file is uploaded by whoever may order the service: not its provider (403).
    ("POST", "/services/{service_id}/answer-files"): Case(SELF, lambda w: Target(
        {"service_id": listed_service()}, BUYER, PROVIDER, body=UPLOAD),
        overrides={COUNTERPART: 403}),
    ("POST", "/admin/providers/{provider_id}/approve"): Case(ADMIN, provider_target("pending")),
    ("POST", "/admin/providers/{provider_id}/reject"): Case(
        ADMIN, provider_target("pending", REASON)),
    ("POST", "/admin/providers/{provider_id}/suspend"): Case(
        ADMIN, provider_target("approved", REASON)),
    ("POST", "/admin/providers/{provider_id}/reinstate"): Case(
        ADMIN, provider_target("suspended")),
    ("POST", "/admin/services/{service_id}/feature"): Case(ADMIN, service_target("listed")),
    ("POST", "/admin/services/{service_id}/unfeature"): Case(ADMIN, service_target("listed")),
    ("POST", "/admin/orders/{order_id}/resolve"): Case(ADMIN, order_target(
        "disputed", BUYER, {"refund": 50000, "release": 0, "note": "全额退款",
                                 "fault": "provider"})),

    ("GET", "/orders/{order_id}"): Case(
        ORDER, order_target("in_review", BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("GET", "/orders/{order_id}/events"): Case(
        ORDER, order_target("in_review", BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("GET", "/orders/{order_id}/deliverables"): Case(
        ORDER, order_target("in_review", BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("GET", "/orders/{order_id}/deliverables/{file_id}"): Case(
        ORDER, order_target("in_review", BUYER, file=True), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("GET", "/orders/{order_id}/reviews"): Case(
        ORDER, order_target("completed", BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("POST", "/orders/{order_id}/pay"): Case(ORDER, order_target("awaiting_payment", BUYER)),
    # The provider is a canceller too (of work in progress): on an unpaid order its
    # cancel is refused for the state, not for the role.
    ("POST", "/orders/{order_id}/cancel"): Case(ORDER, order_target("awaiting_payment", BUYER),
                                                overrides={COUNTERPART: 409}),
    ("POST", "/orders/{order_id}/price"): Case(
        ORDER, order_target("negotiable", BUYER, {"amount": 70000}), (PARTY, COUNTERPART)),
    ("POST", "/orders/{order_id}/accept"): Case(ORDER, order_target("awaiting_provider", PROVIDER)),
    ("POST", "/orders/{order_id}/reject"): Case(
        ORDER, order_target("awaiting_provider", PROVIDER, {"reason": "档期已满"})),
    ("POST", "/orders/{order_id}/deliverables"): Case(
        ORDER, order_target("in_progress", PROVIDER, UPLOAD)),
    ("POST", "/orders/{order_id}/deliver"): Case(ORDER, order_target(
        "in_progress", PROVIDER, lambda p: {"file_ids": [p["file_id"]], "note": "终稿"},
        file=True)),
    ("POST", "/orders/{order_id}/approve"): Case(ORDER, order_target("in_review", BUYER)),
    ("POST", "/orders/{order_id}/request-revision"): Case(
        ORDER, order_target("in_review", BUYER, {"note": "主色调换成蓝色"})),
    ("POST", "/orders/{order_id}/dispute"): Case(
        ORDER, order_target("in_progress", BUYER, {"reason": "逾期未交付"}), (PARTY, COUNTERPART)),
    # Disputes the parties end (issue 24): both give evidence, everyone of the order reads
    # it; only the opener (the buyer in World.disputed_order) withdraws.
    ("POST", "/orders/{order_id}/evidence"): Case(
        ORDER, order_target("disputed", BUYER, {"statement": "沟通记录为证"}),
        (PARTY, COUNTERPART)),
    ("GET", "/orders/{order_id}/evidence"): Case(
        ORDER, order_target("disputed", BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("POST", "/orders/{order_id}/dispute/withdraw"): Case(
        ORDER, order_target("disputed", BUYER)),
    ("GET", "/orders/{order_id}/proposals"): Case(
        ORDER, proposal_target(BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("GET", "/orders/{order_id}/proposals/{proposal_id}"): Case(
        ORDER, proposal_target(BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    # Either party proposes; an operator may read proposals but never make or answer one.
    ("POST", "/orders/{order_id}/proposals"): Case(
        ORDER, order_target("in_progress", BUYER, {"kind": "extension",
                                                   "due_at": "2030-01-01T00:00:00+00:00"}),
        (PARTY, COUNTERPART)),
    # The other party answers (its author may not: 403); only the author withdraws.
    ("POST", "/orders/{order_id}/proposals/{proposal_id}/accept"): Case(
        ORDER, proposal_target(PROVIDER)),
    ("POST", "/orders/{order_id}/proposals/{proposal_id}/decline"): Case(
        ORDER, proposal_target(PROVIDER)),
    ("POST", "/orders/{order_id}/proposals/{proposal_id}/withdraw"): Case(
        ORDER, proposal_target(BUYER)),
    ("POST", "/orders/{order_id}/reviews"): Case(
        ORDER, order_target("completed", BUYER, {"rating": "good", "comment": "很专业"}),
        (PARTY, COUNTERPART)),

    ("POST", "/orders/{order_id}/reviews/buyer/reply"): Case(ORDER, reviewed_order_target),
    ("POST", "/orders/{order_id}/reviews/provider/reply"): Case(
        ORDER, lambda w: reviewed_order_target(w, BUYER)),
    ("POST", "/orders/{order_id}/reviews/buyer/follow-up"): Case(
        ORDER, lambda w: reviewed_order_target(w, BUYER, {"body": "用了一个月，效果很好"})),
    ("POST", "/admin/orders/{order_id}/reviews/{side}/hide"): Case(
        ADMIN, lambda w: reviewed_order_target(w, BUYER, {"reason": "含有联系方式"}, "buyer")),
    # Messages: the parties write in any state, operators only once disputed (403 here).
    ("POST", "/orders/{order_id}/messages"): Case(
        ORDER, order_target("in_progress", BUYER, {"body": "请问进度如何？"}), (PARTY, COUNTERPART)),
    ("GET", "/orders/{order_id}/messages"): Case(
        ORDER, order_target("in_review", BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("POST", "/orders/{order_id}/attachments"): Case(
        ORDER, order_target("in_progress", BUYER, UPLOAD), (PARTY, COUNTERPART)),
    ("GET", "/orders/{order_id}/attachments/{file_id}"): Case(
        ORDER, sent_attachment_target, (PARTY, COUNTERPART, OPERATOR_CALLER)),

    # A listed service is visible to all: a stranger may see it but not change it (403).
    ("POST", "/services/{service_id}/delist"): Case(
        ORDER, service_target("listed"), (PARTY, OPERATOR_CALLER),
        overrides={s: 403 for s in STRANGERS}),
    ("PATCH", "/services/{service_id}"): Case(
        OWNER, service_target("draft", body={"summary": "改过的简介：三天出稿，两次修改"})),
    ("DELETE", "/services/{service_id}"): Case(OWNER, service_target("draft")),
    ("PUT", "/services/{service_id}/logo"): Case(
        OWNER, service_target("draft", raw=logo_bytes(), content_type="image/png")),
    ("POST", "/services/{service_id}/list"): Case(OWNER, service_target("logo", body={})),

    # Before and when ordering. Anyone but the owner asks about a listed service.
    ("POST", "/services/{service_id}/inquiries"): Case(SELF, lambda w: Target(
        {"service_id": listed_service()}, BUYER, PROVIDER, body={"body": "在吗？"}),
        overrides={COUNTERPART: 403}),
    ("GET", "/inquiries"): Case(SELF, self_target()),
    # An inquiry is its two parties' alone: operators are strangers to it (404).
    ("GET", "/inquiries/{inquiry_id}"): Case(
        ORDER, inquiry_target(BUYER), overrides={COUNTERPART: 200, OPERATOR_CALLER: 404}),
    ("POST", "/inquiries/{inquiry_id}/messages"): Case(
        ORDER, inquiry_target(BUYER, {"body": "补充一下"}),
        overrides={COUNTERPART: 201, OPERATOR_CALLER: 404}),
    # Only its provider offers; its buyer is refused (403).
    ("POST", "/inquiries/{inquiry_id}/offer"): Case(
        ORDER, inquiry_target(PROVIDER, OFFER), overrides={COUNTERPART: 403, OPERATOR_CALLER: 404}),
    ("POST", "/services/{service_id}/images"): Case(OWNER, service_target(
        "draft", body={"content_type": "image/png", "size": 1024})),
    ("POST", "/services/{service_id}/images/{image_id}/check"): Case(OWNER, picture_target),
    # Documents belong to an application: who never applied is refused (409).
    ("POST", "/providers/me/documents"): Case(SELF, self_target(PROVIDER, DOCUMENT), overrides={
        ANOTHER_BUYER: 409, SYSTEM_CLAIM: 409, OPERATOR_CALLER: 409}),
    ("GET", "/admin/providers/{provider_id}/documents/{document_id}"): Case(ADMIN, document_target),
    # Contracts: the parties as on orders; an operator reads but never acts for a party.
    ("POST", "/contracts"): Case(SELF, lambda w: Target(
        {}, BUYER, PROVIDER, body={"service_id": listed_service(), "requirement": "客服外包",
                                   "terms": contract_terms()}),
        overrides={COUNTERPART: 403}),
    ("GET", "/contracts"): Case(SELF, self_target()),
    ("GET", "/contracts/{contract_id}"): Case(
        ORDER, contract_target("draft", BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("PUT", "/contracts/{contract_id}/terms"): Case(
        ORDER, contract_target("draft", BUYER, {"terms": contract_terms(base=320000)}),
        (PARTY, COUNTERPART)),
    ("POST", "/contracts/{contract_id}/sign"): Case(
        ORDER, contract_target("draft", BUYER), (PARTY, COUNTERPART)),
    ("POST", "/contracts/{contract_id}/pay"): Case(
        ORDER, contract_target("awaiting_deposit", BUYER)),
    ("POST", "/contracts/{contract_id}/go-live"): Case(
        ORDER, contract_target("onboarding", BUYER)),
    ("POST", "/contracts/{contract_id}/terminate"): Case(
        ORDER, contract_target("draft", BUYER, {"reason": "不合作了"}), (PARTY, COUNTERPART)),
    ("GET", "/contracts/{contract_id}/statements"): Case(
        ORDER, contract_target("live", BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("POST", "/contracts/{contract_id}/statements/{statement_id}/submit"): Case(
        ORDER, contract_target("live", PROVIDER, {"sales": 0}, statement="open")),
    ("POST", "/contracts/{contract_id}/statements/{statement_id}/confirm"): Case(
        ORDER, contract_target("live", BUYER, statement="submitted")),
    ("POST", "/contracts/{contract_id}/statements/{statement_id}/dispute"): Case(
        ORDER, contract_target("live", BUYER, {"reason": "数据不符"}, statement="submitted")),
    ("POST", "/contracts/{contract_id}/statements/{statement_id}/pay"): Case(
        ORDER, contract_target("live", BUYER, statement="payable")),
    ("POST", "/admin/contracts/{contract_id}/statements/{statement_id}/resolve"): Case(
        ADMIN, contract_target("live", OPERATOR, {"amount": 0, "note": "裁决"},
                               statement="disputed")),
    ("GET", "/admin/contracts"): Case(ADMIN, self_target(OPERATOR)),
    # Talk and files on a contract: as on an order (operators write only over a dispute).
    ("POST", "/contracts/{contract_id}/messages"): Case(
        ORDER, contract_target("draft", BUYER, {"body": "排班表何时给到？"}), (PARTY, COUNTERPART)),
    ("GET", "/contracts/{contract_id}/messages"): Case(
        ORDER, contract_target("draft", BUYER), (PARTY, COUNTERPART, OPERATOR_CALLER)),
    ("POST", "/contracts/{contract_id}/attachments"): Case(
        ORDER, contract_target("draft", BUYER, UPLOAD), (PARTY, COUNTERPART)),
    ("GET", "/contracts/{contract_id}/attachments/{file_id}"): Case(
        ORDER, contract_target("draft", BUYER, file=True), (PARTY, COUNTERPART, OPERATOR_CALLER)),
}
LOCAL_ONLY_REASON = "local-stage-only route: public by design, never deployed (API.md)"


def _applicable(spec: RouteSpec):
    case = CASES[(spec.method, spec.path)]
    for caller in CALLERS:
        if caller == COUNTERPART and "{order_id}" not in spec.path \
                and "{contract_id}" not in spec.path and COUNTERPART not in case.overrides:
            continue  # only an order (or a contract) has another party
        if caller == PARTY and case.kind == ADMIN:
            continue  # the party of an operator route is the operator row
        yield caller


def _matrix():
    for spec in ROUTES:
        if spec.local_only:
            yield pytest.param(spec, None, id=f"{spec.method} {spec.path}",
                               marks=pytest.mark.skip(reason=LOCAL_ONLY_REASON))
            continue
        if (spec.method, spec.path) not in CASES:
            continue  # reported by test_every_route_has_an_expectation
        for caller in _applicable(spec):
            yield pytest.param(spec, caller, id=f"{spec.method} {spec.path} {caller}")


def expected_status(case: Case, spec: RouteSpec, caller: str) -> int:
    if case.kind == SIGNED:
        return case.overrides["anyone"]
    if case.kind == PUBLIC:
        return spec.status  # a bad token on a public route is ignored, not refused
    if caller in BAD_TOKENS:
        return 401
    if caller in case.overrides:
        return case.overrides[caller]
    if case.kind == SELF:
        return spec.status
    if case.kind == ADMIN:
        return spec.status if caller == OPERATOR_CALLER else 403
    if caller in STRANGERS:
        return 404
    if caller in case.allowed:
        return spec.status
    return 403


def _headers(caller: str, target: Target, case: Case) -> dict:
    party_is_operator = case.kind == ADMIN
    if caller in BAD_TOKENS:
        return auth_header(caller, target.party, party_is_operator)
    user, roles = {
        ANOTHER_BUYER: (OTHER_BUYER, []), ANOTHER_PROVIDER: (OTHER_PROVIDER, []),
        SYSTEM_CLAIM: (INTRUDER, ["system"]), PARTY: (target.party, []),
        COUNTERPART: (target.counterpart, []), OPERATOR_CALLER: (OPERATOR, ["operator"]),
    }[caller]
    return {"Authorization": "Bearer " + token(user, roles)}


def _call(world: World, spec: RouteSpec, target: Target, headers: dict, params: dict):
    path = spec.path.format(**params) + target.query
    if target.raw is not None:
        return world.api.call(spec.method, path, raw=target.raw, headers=headers,
                              content_type=target.content_type)
    body = target.body if target.body is not None else ({} if spec.body is not None else None)
    return world.api.call(spec.method, path, body, headers=headers)


_cached: dict = {}


def _target(world: World, case: Case, spec: RouteSpec, fresh: bool) -> Target:
    # A success changes the resource, so each success gets its own; refusals share one.
    if fresh:
        return case.build(world)
    key = (id(world), spec.method, spec.path)
    if key not in _cached:
        _cached[key] = case.build(world)
    return _cached[key]


def test_every_route_has_an_expectation():
    missing = [f"{s.method} {s.path}" for s in ROUTES
               if not s.local_only and (s.method, s.path) not in CASES]
    stale = [k for k in CASES if not any((s.method, s.path) == k for s in ROUTES)]
    assert not missing, f"routes with no authorization expectation: {missing}"
    assert not stale, f"expectations for routes that no longer exist: {stale}"


@pytest.mark.parametrize("spec, caller", list(_matrix()))
def test_matrix(world, spec, caller):
    case = CASES[(spec.method, spec.path)]
    want = expected_status(case, spec, caller)
    target = _target(world, case, spec, fresh=want < 300 and spec.method != "GET")
    headers = _headers(caller, target, case)
    before = target.probe() if target.probe and want >= 300 else None
    reply = _call(world, spec, target, headers, target.params)
    assert reply.status == want, (caller, reply)
    if want < 300:
        return
    assert set(reply.json) == {"error"} and set(reply.json["error"]) == {"code", "message",
                                                                          "details"}, reply
    assert reply.error_code in ERROR_CODES.get(want, {reply.error_code}), reply
    if target.probe:
        assert target.probe() == before, "a refused call changed the resource"
    if target.params and (want in (401, 404) or case.kind == ADMIN):
        # The same caller on ids that exist nowhere: the very same answer, so a refusal
        # never tells an outsider that the resource exists.
        unknown = {k: UNKNOWN_ID for k in target.params}
        twin = _call(world, spec, target, headers, unknown)
        assert (twin.status, twin.json) == (reply.status, reply.json), (reply, twin)


# --- nothing leaks ----------------------------------------------------------------------
def _same_as_unknown(api, path: str, real_id: str, **who):
    reply = api.get(path, **who)
    twin = api.get(path.replace(real_id, UNKNOWN_ID), **who)
    assert reply.status == 404 and reply.error_code == "NOT_FOUND", (path, reply)
    assert reply.json == twin.json, (reply, twin)


def test_strangers_see_nothing_of_an_order(world):
    api = world.api
    oid = world.order("completed")
    assert api.post(f"/orders/{oid}/reviews", {"rating": "good", "comment": "很专业"},
                    user=BUYER).status == 201
    fid = _delivered(world, oid)
    paths = [f"/orders/{oid}", f"/orders/{oid}/events", f"/orders/{oid}/deliverables",
             f"/orders/{oid}/deliverables/{fid}", f"/orders/{oid}/reviews",
             f"/orders/{oid}/proposals"]
    for stranger in (OTHER_BUYER, OTHER_PROVIDER, INTRUDER):
        for path in paths:
            _same_as_unknown(api, path, oid, user=stranger)
        for as_ in ("buyer", "provider"):
            assert oid not in api.get(f"/orders?as={as_}&limit=100", user=stranger).raw.decode()
        assert oid not in api.get("/me/notifications?limit=100", user=stranger).raw.decode()
        assert api.get("/me/balance", user=stranger).json["available"] == 0
    # The parties do see it: the checks above are not vacuous.
    assert oid in api.get("/orders?as=provider&limit=100", user=PROVIDER).raw.decode()
    assert oid in api.get("/me/notifications?limit=100", user=PROVIDER).raw.decode()
    assert api.get("/me/balance", user=PROVIDER).json["available"] > 0
    assert len(api.get(f"/orders/{oid}/reviews", user=BUYER).json["items"]) == 1
    # Sealed from the provider until it reviews too or the window closes.
    assert api.get(f"/orders/{oid}/reviews", user=PROVIDER).json["items"] == []


def test_strangers_see_nothing_of_a_providers_money(world):
    api = world.api
    world.order("completed")
    payee = {"account": "provider-1@example.com", "name": "张小美"}
    assert api.put("/providers/me/payout-account", payee, user=PROVIDER).status == 200
    wid = api.post("/me/withdrawals", {"amount": 100}, user=PROVIDER).json["id"]
    for stranger in (OTHER_BUYER, OTHER_PROVIDER, INTRUDER):
        for path in ("/me/withdrawals?limit=100", "/me/statement?limit=100",
                     "/providers/me/payout-account"):
            reply = api.get(path, user=stranger).raw.decode()
            assert wid not in reply and payee["account"] not in reply
        assert api.get("/me/balance", user=stranger).json["pending_withdrawal"] == 0
    assert wid in api.get("/me/withdrawals?limit=100", user=PROVIDER).raw.decode()
    assert wid in api.get("/me/statement?limit=100", user=PROVIDER).raw.decode()


def test_a_draft_service_and_a_pending_provider_stay_private(world):
    api = world.api
    sid = world.draft(logo=True)
    title = api.get(f"/services/{sid}", user=PROVIDER).json["title"]
    applicant = world.applicant()
    for who in ({}, {"user": OTHER_BUYER}, {"user": OTHER_PROVIDER}, {"user": INTRUDER}):
        _same_as_unknown(api, f"/services/{sid}", sid, **who)
        for query in (f"provider_id={PROVIDER}", "q=" + title[:4], "sort=price_asc"):
            assert sid not in api.get(f"/services?{query}&limit=100", **who).raw.decode()
        _same_as_unknown(api, f"/providers/{applicant}", applicant, **who)
    for stranger in (OTHER_BUYER, OTHER_PROVIDER):
        assert sid not in api.get("/providers/me/services?limit=100", user=stranger).raw.decode()
        order = {"requirement": "想下单", "due_at": "2030-01-01T00:00:00+00:00"}
        mine = api.post("/orders", {"service_id": sid, **order}, user=stranger)
        unknown = api.post("/orders", {"service_id": UNKNOWN_ID, **order}, user=stranger)
        assert (mine.status, mine.json) == (unknown.status, unknown.json) and mine.status == 404
    assert api.get(f"/services/{sid}", user=OPERATOR, operator=True).status == 200
    assert sid in api.get("/providers/me/services?limit=100", user=PROVIDER).raw.decode()


def test_the_buyer_never_sees_undelivered_files_nor_another_orders_files(world):
    api = world.api
    oid = world.order("in_progress")
    draft_file = upload(api, oid)
    other = world.order("in_review")
    other_file = _delivered(world, other)
    assert draft_file not in api.get(f"/orders/{oid}/deliverables", user=BUYER).raw.decode()
    assert api.get(f"/orders/{oid}/deliverables/{draft_file}", user=BUYER).status == 404
    assert api.get(f"/orders/{oid}/deliverables/{draft_file}", user=PROVIDER).status == 200
    for who in ({"user": BUYER}, {"user": PROVIDER}, {"user": OPERATOR, "operator": True}):
        # A file id of another order, even one the caller may read there, is not this order's.
        reply = api.get(f"/orders/{oid}/deliverables/{other_file}", **who)
        assert reply.status == 404 and reply.error_code == "NOT_FOUND"


def test_guessed_and_foreign_ids_are_not_found(world):
    api = world.api
    oid = world.order("in_review")
    fid = _delivered(world, oid)
    sid = api.get(f"/orders/{oid}", user=BUYER).json["service_id"]
    guesses = [sid, fid, BUYER, PROVIDER, "1", "0", "-1", "null", "undefined", oid.upper(),
               oid[:-1], oid + "0", "ORDER%23" + oid, oid + "%23x", "%2e%2e", "..%2Fadmin",
               "x" * 129, "x" * 3000, "%E8%AE%A2%E5%8D%95", "%00", "%20", world.their_order[:-1]]
    for guess in guesses:
        for who in ({"user": BUYER}, {"user": PROVIDER}, {"user": OPERATOR, "operator": True}):
            for method, path in (("GET", f"/orders/{guess}"), ("GET", f"/orders/{guess}/events"),
                                 ("POST", f"/orders/{guess}/approve")):
                reply = api.call(method, path, {} if method == "POST" else None, **who)
                assert reply.status == 404 and reply.error_code == "NOT_FOUND", (path, reply)
    for path in (f"/services/{oid}", f"/services/{fid}", f"/providers/{BUYER}",
                 f"/providers/{oid}", f"/orders/{sid}/deliverables/{fid}"):
        reply = api.get(path, user=BUYER)
        assert reply.status == 404 and reply.error_code == "NOT_FOUND", (path, reply)
    assert api.get(f"/orders/{oid}", user=BUYER).status == 200  # the real id still works


def test_an_idempotency_key_never_replays_to_another_caller(world):
    api = world.api
    oid = world.order("awaiting_payment")
    key = {"Idempotency-Key": "pay-once-123"}
    assert api.post(f"/orders/{oid}/pay", user=BUYER, headers=key).status == 200
    for stranger in (OTHER_BUYER, INTRUDER):
        reply = api.post(f"/orders/{oid}/pay", user=stranger, headers=key)
        assert reply.status == 404 and "idempotent-replayed" not in reply.headers, reply
    replay = api.post(f"/orders/{oid}/pay", user=BUYER, headers=key)
    assert replay.status == 200 and replay.headers.get("idempotent-replayed") == "true"


def _tampered(valid: str) -> str:
    import base64
    import json as json_

    head, payload, sig = valid.split(".")
    claims = json_.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["operator"]
    forged = base64.urlsafe_b64encode(json_.dumps(claims).encode()).decode().rstrip("=")
    return f"{head}.{forged}.{sig}"


def _bad_authorizations():
    import jwt

    from chalicelib import secrets, settings

    secret = secrets.jwt_secret(settings.get())
    valid = token(BUYER)
    far = 4102444800  # 2100-01-01
    return {
        "basic scheme": "Basic YnV5ZXItMTpwYXNzd29yZA==",
        "scheme only": "Bearer",
        "empty token": "Bearer ",
        "other scheme": "Token " + valid,
        "alg none": "Bearer " + jwt.encode({"sub": BUYER, "exp": far}, None, algorithm="none"),
        "HS512": "Bearer " + jwt.encode({"sub": BUYER, "exp": far}, secret, algorithm="HS512"),
        "no exp": "Bearer " + jwt.encode({"sub": BUYER}, secret, algorithm="HS256"),
        "no sub": "Bearer " + jwt.encode({"exp": far}, secret, algorithm="HS256"),
        "empty sub": "Bearer " + token(""),
        "number sub": "Bearer " + jwt.encode({"sub": 7, "exp": far}, secret, algorithm="HS256"),
        "sub with #": "Bearer " + token("ORDER#ord_1"),
        "overlong sub": "Bearer " + token("u" * 129),
        "roles as a string": "Bearer " + jwt.encode(
            {"sub": OPERATOR, "roles": "operator", "exp": far}, secret, algorithm="HS256"),
        "roles of numbers": "Bearer " + token(OPERATOR, [1]),
        "exp as text": "Bearer " + jwt.encode({"sub": BUYER, "exp": "never"}, secret,
                                              algorithm="HS256"),
        "payload swapped": "Bearer " + _tampered(valid),
        "trailing segment": "Bearer " + valid + ".x",
        "huge": "Bearer " + "a" * 5000,
        "binary junk": "Bearer \x00\x01\x02",
    }


BAD_AUTHORIZATIONS = ["basic scheme", "scheme only", "empty token", "other scheme", "alg none",
                      "HS512", "no exp", "no sub", "empty sub", "number sub", "sub with #",
                      "overlong sub", "roles as a string", "roles of numbers", "exp as text",
                      "payload swapped", "trailing segment", "huge", "binary junk"]


@pytest.mark.parametrize("label", BAD_AUTHORIZATIONS)
def test_a_bad_authorization_is_401(world, label):
    header = _bad_authorizations()[label]
    for path in ("/me/balance", "/admin/ledger/check"):
        reply = world.api.get(path, headers={"Authorization": header})
        assert reply.status == 401 and reply.error_code == "UNAUTHENTICATED", (label, reply)


def test_the_bearer_scheme_is_case_insensitive(world):
    assert set(BAD_AUTHORIZATIONS) == set(_bad_authorizations())  # none left untried
    lower = world.api.get("/me/balance", headers={"Authorization": "bearer " + token(BUYER)})
    assert lower.status == 200  # the scheme is case-insensitive (RFC 7235)
