"""Least privilege, per function and per table: each deployed function's policy grants
every AWS action its code calls (recorded, with the function making it, while a market
scenario drives every route and every kind of job work on moto) and nothing wider."""
import json
import re
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib import clock, secrets, settings
from chalicelib.api.routing import ROUTES
from chalicelib.storage import files, schema
from deploy import template
from tests.api import catalog_support as catalog
from tests.api import channels_support
from tests.api import messages_support as messages
from tests.api import orders_support as orders
from tests.deploy.aws_calls import recording
from tests.support import BUYER, BUYER_2, OPERATOR, PROVIDER, ApiClient

DAY = 24 * 3600

API, SWEEP, RELEASE = template.API_FUNCTION, "sweep_timeouts", "release_escrow"
SETTLE, DELIVER = "settle_payments", "deliver_notifications"
CONTRACTS = "sweep_contracts"
INDEX = "index_market"  # the services' stream consumer (app.py's on_dynamodb_record)
FUNCTIONS = [API, SWEEP, RELEASE, SETTLE, DELIVER, CONTRACTS, INDEX]

# Granted though the scenario does not reach them, each with the code path that needs it:
# (function, table or table/index, action) -> why.
USED_BUT_NOT_IN_SCENARIO: dict[tuple[str, str, str], str] = {
    (API, "instructions", "dynamodb:GetItem"):
        "a refund executed right after its move starts from the instruction it wrote, and "
        "reads it again only when that attempt lost a race (instructions.execute_instruction)",
    (SWEEP, "instructions", "dynamodb:GetItem"):
        "the same, for the refund of an expiry",
    (API, "campaigns", "dynamodb:GetItem"):
        "a refused trial listing reads its campaign to name the rule it broke (the listing "
        "transaction checks the campaign itself: catalog.listing._check_trial); tested in "
        "tests/api/test_listing.py",
    (API, "catalog_guards", "dynamodb:GetItem"):
        "the same for the trial slot, and a duplicate listing reads the title's guard to "
        "name the service holding it (catalog.listing._guard); tests/api/test_listing.py",
    (API, "idempotency", "dynamodb:DeleteItem"):
        "a request that ends in a 5xx releases its Idempotency-Key claim "
        "(services.idempotency.release), so the retry runs it again",
    (RELEASE, "stuck_items", "dynamodb:UpdateItem"):
        "an instruction that crashes the run or runs out of tries is recorded for operators "
        "(instructions.record_failure, stuck.record_parked)",
    (SWEEP, "proposals", "dynamodb:UpdateItem"):
        "a timeout that moves an order (expiry, auto-approval) lapses its open proposal in "
        "the same transaction (orders.engine._lapse_proposal); tested in tests/api/test_proposals.py",
    (SWEEP, "provider_stats", "dynamodb:UpdateItem"):
        "an auto-approval that completes an order counts it in the provider's record, in "
        "the completing transaction (provider_stats.move_writes)",
    (SWEEP, "reviews", "dynamodb:UpdateItem"):
        "closing a review window publishes the buyer's sealed review "
        "(reviews.close_review_window); tested in tests/api/test_reviews.py",
    (DELIVER, "stuck_items", "dynamodb:UpdateItem"):
        "a receiver that keeps failing is parked for operators (stuck.record_parked, "
        "record_failure); tested in tests/jobs/test_deliver_notifications.py",
    (DELIVER, "stuck_items", "dynamodb:DeleteItem"):
        "a receiver that recovers clears its record (stuck.clear); same tests",
    (SETTLE, "stuck_items", "dynamodb:UpdateItem"):
        "a payment the gateway cannot be asked about is recorded for operators "
        "(stuck.record_failure)",
    (SETTLE, "instructions", "dynamodb:PutItem"):
        "money found for an order that closed meanwhile is refunded through an instruction "
        "(orders.returned_payments.void_late_payment), tested in tests/jobs/test_settle_payments.py",
    (SETTLE, "instructions", "dynamodb:GetItem"): "the same refund, executed at once",
    (CONTRACTS, "instructions", "dynamodb:GetItem"):
        "a deposit refund starts from the instruction it wrote, and reads it again only "
        "when that attempt lost a race (instructions.execute_instruction)",
    (CONTRACTS, "stuck_items", "dynamodb:UpdateItem"):
        "a contract or statement whose handling fails is recorded for operators "
        "(stuck.record_failure)",
    (RELEASE, "contracts", "dynamodb:UpdateItem"):
        "a contract's refund (deposit, a bill's excess) that failed at once is retried by "
        "the driver, which counts it on the contract (escrow.execute)",
    **{(SETTLE, table, action): "a contract's deposit or bill confirmed by the gateway's "
       "answer to the reconciliation sweep's query (contracts.payments.settle); the same "
       "path as the notification's, tested in tests/api/test_contract_timers.py"
       for table, action in (("contracts", "dynamodb:GetItem"),
                             ("contracts", "dynamodb:UpdateItem"),
                             ("statements", "dynamodb:GetItem"),
                             ("statements", "dynamodb:Query"),
                             ("statements", "dynamodb:UpdateItem"),
                             ("accounts", "dynamodb:UpdateItem"))},
    (SETTLE, "instructions", "dynamodb:UpdateItem"): "the same refund, executed at once",
}


class _RouteRecorder(ApiClient):
    """The scenario's client: remembers which routes it requested."""

    def __init__(self, client):
        super().__init__(client)
        self.requested: set[tuple[str, str]] = set()

    def call(self, method, path, *args, **kwargs):
        self.requested.add((method, path.split("?", 1)[0]))
        return super().call(method, path, *args, **kwargs)


def _ok(reply, *statuses):
    assert reply.status in (statuses or (200, 201, 204)), reply
    return reply.json


def _market_scenario(api: ApiClient, alipay_registration) -> None:
    """Every kind of thing users, operators and the scheduler do, once."""
    catalog.approved_provider(api, PROVIDER)
    service = catalog.listed(api, PROVIDER)
    _ok(api.get("/services"))
    _ok(api.get("/services?q=装修"))
    _ok(api.get("/services?sort=newest"))
    _ok(api.get("/services?sort=price_asc"))
    _ok(api.get("/services?sort=rating"))
    _ok(api.get(f"/services/{service['id']}"))
    _ok(api.post(f"/admin/services/{service['id']}/feature", user=OPERATOR, operator=True))
    _ok(api.get("/services?featured=true"))
    _ok(api.post(f"/admin/services/{service['id']}/unfeature", user=OPERATOR, operator=True))
    _ok(api.post(f"/admin/services/{service['id']}/feature", user=OPERATOR, operator=True))
    _ok(api.get(f"/providers/{PROVIDER}"))
    _ok(api.get("/providers/me", user=PROVIDER))
    _ok(api.get("/providers/me/services", user=PROVIDER))
    _ok(api.get("/admin/providers?status=approved", user=OPERATOR, operator=True))
    # Before and when ordering: an inquiry and its offer, a content picture, a document.
    inquiry = _ok(api.post(f"/services/{service['id']}/inquiries", {"body": "三天能交付吗？"},
                           user=BUYER_2))
    _ok(api.post(f"/inquiries/{inquiry['id']}/messages", {"body": "可以"}, user=PROVIDER))
    _ok(api.get(f"/inquiries/{inquiry['id']}", user=BUYER_2))
    _ok(api.get("/inquiries?as=provider", user=PROVIDER))
    _ok(api.get("/inquiries", user=BUYER_2))
    _ok(api.post(f"/inquiries/{inquiry['id']}/offer", {
        "amount": 70000, "requirement": "首页", "due_at": orders.due_in()}, user=PROVIDER))
    _answer_file_scenario(api, service["id"], inquiry["id"])
    png = catalog.image_bytes(size=(200, 120))
    ticket = _ok(api.post(f"/services/{service['id']}/images",
                          {"content_type": "image/png", "size": len(png)}, user=PROVIDER))
    files.s3_client().put_object(Bucket=settings.get().bucket,
                                 Key=ticket["upload"]["fields"]["key"], Body=png,
                                 ContentType="image/png")
    _ok(api.post(f"/services/{service['id']}/images/{ticket['image_id']}/check", {},
                 user=PROVIDER))
    document = _ok(api.post("/providers/me/documents", {
        "kind": "business_license", "filename": "营业执照.pdf",
        "content_type": "application/pdf", "size": 1000}, user=PROVIDER))
    _ok(api.get(f"/admin/providers/{PROVIDER}/documents/{document['document_id']}",
                user=OPERATOR, operator=True))
    now = clock.now()
    campaign = _ok(api.post("/admin/campaigns", {
        "name": "新店扶持计划", "starts_at": clock.to_iso(now - timedelta(hours=1)),
        "ends_at": clock.to_iso(now + timedelta(days=30)), "max_price": 100000},
        user=OPERATOR, operator=True))
    trial = catalog.draft(api, PROVIDER, n=5, price=50000)
    catalog.with_logo(api, trial["id"])
    _ok(api.post(f"/services/{trial['id']}/list", {"campaign_id": campaign["id"]}, user=PROVIDER))
    _ok(api.get("/campaigns"))
    _ok(api.get("/admin/campaigns", user=OPERATOR, operator=True))
    _ok(api.get("/categories"))

    # The happy path, with an Idempotency-Key on the order and a replay of it.
    body = {"service_id": service["id"], "requirement": "双十一首页，红色主题，突出满减活动",
            "due_at": orders.due_in()}
    order = _ok(api.post("/orders", body, user=BUYER, headers={"Idempotency-Key": "下单-1"}))
    _ok(api.post("/orders", body, user=BUYER, headers={"Idempotency-Key": "下单-1"}))
    oid = order["id"]
    _ok(api.post(f"/orders/{oid}/pay", user=BUYER))
    _ok(api.post(f"/orders/{oid}/accept", user=PROVIDER))
    reference = messages.attach(api, oid)
    _ok(api.post(f"/orders/{oid}/messages", {"body": "参考图见附件", "file_ids": [reference]},
                 user=BUYER))
    _ok(api.get(f"/orders/{oid}/messages", user=PROVIDER))
    _ok(api.get(f"/orders/{oid}/attachments/{reference}", user=PROVIDER))
    _ok(orders.deliver(api, oid))
    _ok(api.post(f"/orders/{oid}/request-revision", {"note": "请把主色调改为深红"}, user=BUYER))
    file_id = orders.upload(api, oid)
    _ok(api.post(f"/orders/{oid}/deliver", {"file_ids": [file_id], "note": "第二版"},
                 user=PROVIDER))
    _ok(api.get(f"/orders/{oid}/deliverables/{file_id}", user=BUYER))
    _ok(api.post(f"/orders/{oid}/approve", user=BUYER))
    _ok(api.post(f"/orders/{oid}/reviews", {"rating": "good", "comment": "设计很用心"}, user=BUYER))
    _ok(api.post(f"/orders/{oid}/reviews", {"rating": "good", "comment": "买家沟通顺畅"},
                 user=PROVIDER))
    _ok(api.get(f"/orders/{oid}/events", user=BUYER))
    _ok(api.get(f"/orders/{oid}/reviews", user=BUYER))
    _ok(api.post(f"/orders/{oid}/reviews/buyer/reply", {"body": "感谢认可"}, user=PROVIDER))
    _ok(api.post(f"/orders/{oid}/reviews/provider/reply", {"body": "合作愉快"}, user=BUYER))
    _ok(api.post(f"/orders/{oid}/reviews/buyer/follow-up", {"body": "用了一个月，效果很好"},
                 user=BUYER))
    _ok(api.post(f"/admin/orders/{oid}/reviews/provider/hide", {"reason": "含有联系方式"},
                 user=OPERATOR, operator=True))
    _ok(api.get(f"/services/{service['id']}/reviews"))
    _ok(api.get(f"/providers/{PROVIDER}/reviews"))
    _ok(api.get("/orders?as=buyer", user=BUYER))
    _ok(api.get("/orders?as=buyer&status=completed", user=BUYER))
    _ok(api.get("/orders?as=provider", user=PROVIDER))
    _ok(api.get("/orders?as=provider&status=completed", user=PROVIDER))
    _ok(api.get("/me/notifications", user=PROVIDER))
    _ok(api.get("/me/notifications?unread=true", user=PROVIDER))
    _ok(api.get("/me/notifications/unread-count", user=PROVIDER))
    first = api.get("/me/notifications?limit=1", user=PROVIDER).json["items"][0]["id"]
    _ok(api.post("/me/notifications/read", {"ids": [first]}, user=PROVIDER))
    _ok(api.post("/me/notifications/read", {"all": True}, user=BUYER))
    _ok(api.put("/me/channels", {"email": "shop@example.com"}, user=BUYER))
    [link] = channels_support.link_mails(Path(settings.get().local_data_dir) / "mail")[-1:]
    _ok(channels_support.open_link(api, channels_support.read_mail(link).get_content()))
    _ok(api.get("/me/channels", user=BUYER))
    _deliver_by_ses(api)
    _ok(api.get("/me/balance", user=PROVIDER))
    _ok(api.get(f"/users/{BUYER}"))
    # Analytics: the day counters, read back as a week (a Query per shard).
    week = {"from": "2026-12-01", "to": "2026-12-07"}
    _ok(api.get("/admin/analytics/daily?from={from}&to={to}".format(**week), user=OPERATOR,
                operator=True))
    _ok(api.get("/me/analytics/daily?from={from}&to={to}".format(**week), user=PROVIDER))

    # Cancelled unpaid, rejected, disputed and resolved, and one left to the sweeps.
    unpaid = _ok(orders.place(api, service["id"], buyer=BUYER_2))["id"]
    # 改价 is for negotiable orders: on this fixed-price one it is refused, after reading it.
    _ok(api.post(f"/orders/{unpaid}/price", {"amount": 50000}, user=PROVIDER), 409, 422)
    _ok(api.post(f"/orders/{unpaid}/cancel", user=BUYER_2))
    rejected = _ok(orders.place(api, service["id"]))["id"]
    _ok(api.post(f"/orders/{rejected}/pay", user=BUYER))
    _ok(api.post(f"/orders/{rejected}/reject", {"reason": "档期已满"}, user=PROVIDER))
    disputed = _ok(orders.place(api, service["id"]))["id"]
    _ok(api.post(f"/orders/{disputed}/pay", user=BUYER))
    _ok(api.post(f"/orders/{disputed}/accept", user=PROVIDER))
    _ok(api.post(f"/orders/{disputed}/dispute", {"reason": "迟迟不交稿"}, user=BUYER))
    _ok(api.get("/admin/orders?status=disputed", user=OPERATOR, operator=True))
    # 举证 with a file from each side, read by the operator.
    for party in (BUYER, PROVIDER):
        proof = messages.attach(api, disputed, user=party)
        _ok(api.post(f"/orders/{disputed}/evidence",
                     {"statement": "沟通记录为证", "file_ids": [proof]}, user=party,
                     headers={"Idempotency-Key": f"举证-{party}"}))
    _ok(api.get(f"/orders/{disputed}/evidence", user=OPERATOR, operator=True))
    held = orders.escrow(api, disputed)["held"]
    _ok(api.post(f"/admin/orders/{disputed}/resolve",
                 {"refund": held // 2, "release": held - held // 2, "note": "各担一半",
                  "fault": "none"},
                 user=OPERATOR, operator=True))
    # Proposals: an extension agreed, one declined, one withdrawn, a mutual cancel.
    agreed = _ok(orders.place(api, service["id"]))["id"]
    _ok(api.post(f"/orders/{agreed}/pay", user=BUYER))
    _ok(api.post(f"/orders/{agreed}/accept", user=PROVIDER))
    later = orders.due_in(20)
    for verb, user in (("accept", BUYER), ("decline", BUYER), ("withdraw", PROVIDER)):
        pid = _ok(api.post(f"/orders/{agreed}/proposals", {"kind": "extension", "due_at": later},
                           user=PROVIDER))["id"]
        _ok(api.post(f"/orders/{agreed}/proposals/{pid}/{verb}", user=user))
    pid = _ok(api.post(f"/orders/{agreed}/proposals", {"kind": "cancel", "refund": 100},
                       user=BUYER))["id"]
    _ok(api.get(f"/orders/{agreed}/proposals/{pid}", user=PROVIDER))
    _ok(api.post(f"/orders/{agreed}/proposals/{pid}/accept", user=PROVIDER))
    _ok(api.get(f"/orders/{agreed}/proposals", user=BUYER))
    # A dispute withdrawn by its opener, and one the parties settle with a cancel.
    for ended in ("withdrawn", "settled"):
        eid = _ok(orders.place(api, service["id"]))["id"]
        _ok(api.post(f"/orders/{eid}/pay", user=BUYER))
        _ok(api.post(f"/orders/{eid}/accept", user=PROVIDER))
        _ok(api.post(f"/orders/{eid}/dispute", {"reason": "进度太慢"}, user=BUYER))
        if ended == "withdrawn":
            _ok(api.post(f"/orders/{eid}/dispute/withdraw", user=BUYER))
        else:
            pid = _ok(api.post(f"/orders/{eid}/proposals", {"kind": "cancel", "refund": 100},
                               user=PROVIDER))["id"]
            _ok(api.post(f"/orders/{eid}/proposals/{pid}/accept", user=BUYER))
    waiting = _ok(orders.place(api, service["id"], buyer=BUYER_2))["id"]
    _ok(api.post(f"/orders/{waiting}/pay", user=BUYER_2))
    # Delivered and left unreviewed: the sweep approves it and pays the provider.
    unreviewed = _ok(orders.place(api, service["id"], buyer=BUYER_2))["id"]
    _ok(api.post(f"/orders/{unreviewed}/pay", user=BUYER_2))
    _ok(api.post(f"/orders/{unreviewed}/accept", user=PROVIDER))
    _ok(orders.deliver(api, unreviewed))
    clock.advance(8 * DAY)
    api.invoke("sweep_timeouts")
    api.invoke("release_escrow")
    api.invoke("settle_payments")
    assert orders.escrow(api, unreviewed, BUYER_2)["released"] > 0  # auto-approved by the sweep
    orders.ledger_clean(api)
    # Payouts: the provider's earnings leave through the gateway (the driver pays them).
    _ok(api.put("/providers/me/payout-account", {"account": "13800138000", "name": "张小美"},
                user=PROVIDER))
    _ok(api.get("/providers/me/payout-account", user=PROVIDER))
    _ok(api.post("/me/withdrawals", {"amount": 100}, user=PROVIDER))
    # A withdrawal whose answer was lost (a 5xx after the commit) is found, not repeated,
    # when the client retries with the same Idempotency-Key.
    from chalicelib.services import payouts
    lost = {"Idempotency-Key": "withdraw-lost"}
    with _replaced(payouts, "present", lambda real: lambda *a: 1 / 0):
        assert api.post("/me/withdrawals", {"amount": 100}, user=PROVIDER,
                        headers=lost).status == 500
    _ok(api.post("/me/withdrawals", {"amount": 100}, user=PROVIDER, headers=lost))
    _ok(api.get("/me/withdrawals", user=PROVIDER))
    _ok(api.get("/me/statement", user=PROVIDER))
    api.invoke("release_escrow")
    _alipay_payments(api, alipay_registration)
    _every_kind_of_job_work(api, service["id"])
    _contract_scenario(api, service["id"])
    _ok(api.get("/admin/reconciliation", user=OPERATOR, operator=True))

    # The catalog's remaining writes: edit, delist, delete; suspend a provider.
    _ok(api.post(f"/services/{service['id']}/delist", user=PROVIDER))
    _ok(api.patch(f"/services/{service['id']}", {"title": "旗舰店铺装修（升级版）"}, user=PROVIDER))
    spare = catalog.draft(api, PROVIDER, n=3)
    catalog.with_logo(api, spare["id"])
    _ok(api.put(f"/services/{spare['id']}/logo", user=PROVIDER, content_type="image/png",
                raw=catalog.image_bytes(color=(10, 90, 200))))  # replaces the first logo
    _ok(api.delete(f"/services/{spare['id']}", user=PROVIDER))  # and its logo
    catalog.approved_provider(api, "provider-2")
    _ok(api.post("/admin/providers/provider-2/suspend", {"reason": "资质过期"}, user=OPERATOR,
                 operator=True))
    _ok(api.post("/admin/providers/provider-2/reinstate", user=OPERATOR, operator=True))
    _ok(api.post("/providers/me/application", {**catalog.APPLICATION}, user="provider-3"))
    _ok(api.post("/admin/providers/provider-3/reject", {"reason": "营业执照不清晰"},
                 user=OPERATOR, operator=True))
    _ok(api.get(f"/orders/{oid}/deliverables", user=BUYER))
    _ok(api.get("/admin/stuck", user=OPERATOR, operator=True))
    for path in ("/health", "/tags", "/openapi.json"):
        _ok(api.get(path))


@contextmanager
def _replaced(module, name: str, fake):
    real = getattr(module, name)
    setattr(module, name, fake(real))
    try:
        yield
    finally:
        setattr(module, name, real)


def _failing_once(real):
    calls = []

    def fake(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("injected: the first item of this run fails")
        return real(*args, **kwargs)
    return fake


def _alipay_payments(api: ApiClient, registration) -> None:
    """Money in through Alipay's protocol: one payment confirmed by its signed
    notification, one whose notification never comes, settled by settle_payments."""
    from tests.api import alipay_support

    with alipay_support.alipay_on(registration) as alipay:
        notified, _ = alipay_support.pending_order(api, alipay, buyer=BUYER_2)
        alipay.pay(notified)
        reply = alipay_support.notify(api, alipay.notification(notified))
        assert (reply.status, reply.raw) == (200, b"success"), reply
        silent, _ = alipay_support.pending_order(api, alipay, buyer=BUYER_2)
        alipay.pay(silent)  # its notification is lost
        clock.advance(settings.get().payment_check_after_seconds + 60)
        api.invoke("settle_payments")
        funded = _ok(api.get(f"/orders/{silent}", user=BUYER_2))
        assert funded["status"] == "awaiting_provider", funded  # the job's query funded it


def _every_kind_of_job_work(api: ApiClient, service_id: str) -> None:
    """What the scheduled functions do besides the happy sweep: finish money decisions a
    request committed but did not execute, close an unpaid order, mark a late one, close a
    review window, end a campaign, and park and retry an item that failed."""
    from chalicelib.jobs import sweep_timeouts
    from chalicelib.services import instructions

    disputed = _ok(orders.place(api, service_id))["id"]
    _ok(api.post(f"/orders/{disputed}/pay", user=BUYER))
    _ok(api.post(f"/orders/{disputed}/accept", user=PROVIDER))
    _ok(api.post(f"/orders/{disputed}/dispute", {"reason": "交稿质量差"}, user=BUYER))
    held = orders.escrow(api, disputed)["held"]
    # The request's own execution of the release and refund never happens (as if the
    # function died right after the decision committed): release_escrow does it.
    with _replaced(instructions, "execute_quietly", lambda real: lambda *a, **k: set()):
        _ok(api.post(f"/admin/orders/{disputed}/resolve",
                     {"refund": held // 2, "release": held - held // 2, "note": "各担一半",
                  "fault": "none"},
                     user=OPERATOR, operator=True))
    _ok(orders.place(api, service_id, buyer=BUYER_2))  # never paid: the sweep closes it
    late = _ok(orders.place(api, service_id, due_at=orders.due_in(1)))["id"]
    _ok(api.post(f"/orders/{late}/pay", user=BUYER))
    _ok(api.post(f"/orders/{late}/accept", user=PROVIDER))
    clock.advance(4 * DAY)
    with _replaced(sweep_timeouts.timers, "apply_due_timers", _failing_once):
        api.invoke("sweep_timeouts")  # the unpaid order fails once: recorded, deferred
    clock.advance(DAY)
    api.invoke("sweep_timeouts")  # and goes through: its stuck record is cleared
    api.invoke("release_escrow")
    clock.advance(25 * DAY)  # the campaign has ended; reviews closed; the late order is late
    api.invoke("sweep_timeouts")
    api.invoke("release_escrow")
    orders.ledger_clean(api)


def _answer_file_scenario(api: ApiClient, service_id: str, inquiry_id: str) -> None:
    """A contract offered on an inquiry; a form's file answer uploaded and claimed."""
    from tests.api.contracts_support import terms

    _ok(api.post(f"/inquiries/{inquiry_id}/offer", {
        "contract": {"requirement": "客服外包", "terms": terms()}}, user=PROVIDER))
    from chalicelib.storage.catalog import ServiceModel

    # The form as a provider's edit leaves it (a listed service is edited delisted).
    ServiceModel.get(service_id).update(actions=[ServiceModel.questions.set(
        [{"id": "brief", "label": "品牌手册", "required": False, "kind": "file"}])])
    data = b"%PDF-1.4 brand"
    ticket = _ok(api.post(f"/services/{service_id}/answer-files", {
        "filename": "品牌手册.pdf", "content_type": "application/pdf", "size": len(data)},
        user=BUYER_2))
    files.s3_client().put_object(Bucket=settings.get().bucket,
                                 Key=ticket["upload"]["fields"]["key"], Body=data,
                                 ContentType="application/pdf")
    _ok(api.post("/orders", {"service_id": service_id, "requirement": "logo",
                             "due_at": orders.due_in(), "answers": {"brief": ticket["file_id"]}},
                 user=BUYER_2))
    ServiceModel.get(service_id).update(actions=[ServiceModel.questions.set([])])


def _prepaid_cut_short(api: ApiClient, service_id: str) -> None:
    """A prepaid month paid, then cut short by a termination: the excess refunded."""
    from tests.api.contracts_support import terms

    cid = _ok(api.post("/contracts", {"service_id": service_id, "requirement": "客服外包",
                                      "terms": terms(billing="prepaid", commission_bps=0,
                                                     deposit=0, trial_days=0, trial_fee=0)},
                       user=BUYER_2))["id"]
    for user in (PROVIDER, BUYER_2):
        _ok(api.post(f"/contracts/{cid}/sign", user=user))
    _ok(api.post(f"/contracts/{cid}/go-live", user=BUYER_2))
    api.invoke("sweep_contracts")
    path = f"/contracts/{cid}/statements"
    first = _ok(api.get(path, user=BUYER_2))["items"][0]["id"]
    _ok(api.post(f"{path}/{first}/pay", user=BUYER_2))
    _ok(api.post(f"/contracts/{cid}/terminate", {"reason": "提前结束"}, user=BUYER_2))


def _contract_scenario(api: ApiClient, service_id: str) -> None:
    """A contract from terms to ended: a disputed bill resolved and paid, an overdue one
    paid from the deposit by the sweep, the rest of the deposit refunded."""
    from tests.api.contracts_support import terms

    def agreed(**over):
        return terms(trial_days=0, trial_fee=0, deposit=1000000, **over)

    _prepaid_cut_short(api, service_id)
    cid = _ok(api.post("/contracts", {"service_id": service_id, "requirement": "客服外包",
                                      "terms": agreed()}, user=BUYER_2))["id"]
    _ok(api.put(f"/contracts/{cid}/terms", {"terms": agreed(base=300000)}, user=PROVIDER))
    for user in (PROVIDER, BUYER_2):
        _ok(api.post(f"/contracts/{cid}/sign", user=user))
    _ok(api.post(f"/contracts/{cid}/pay", user=BUYER_2))
    _ok(api.post(f"/contracts/{cid}/go-live", user=BUYER_2))
    _ok(api.get(f"/contracts/{cid}", user=PROVIDER))
    _ok(api.get("/contracts?as=provider", user=PROVIDER))
    schedule = messages.attach(api, cid, user=PROVIDER)
    _ok(api.post(f"/contracts/{cid}/messages", {"body": "排班表见附件", "file_ids": [schedule]},
                 user=PROVIDER))
    _ok(api.get(f"/contracts/{cid}/messages", user=BUYER_2))
    _ok(api.get(f"/contracts/{cid}/attachments/{schedule}", user=BUYER_2))
    _ok(api.get("/contracts", user=BUYER_2))
    clock.advance(35 * DAY)
    api.invoke("sweep_contracts")
    path = f"/contracts/{cid}/statements"
    first = _ok(api.get(path, user=BUYER_2))["items"][0]["id"]
    _ok(api.post(f"{path}/{first}/submit", {"sales": 100000}, user=PROVIDER))
    _ok(api.post(f"{path}/{first}/dispute", {"reason": "数据不符"}, user=BUYER_2))
    _ok(api.get("/admin/contracts?statement_status=disputed", user=OPERATOR, operator=True))
    _ok(api.post(f"/admin/contracts/{cid}/statements/{first}/resolve",
                 {"amount": 1000, "note": "按考核扣减"}, user=OPERATOR, operator=True))
    _ok(api.post(f"{path}/{first}/pay", user=BUYER_2))
    _ok(api.post(f"/contracts/{cid}/terminate", {"reason": "店铺转型"}, user=BUYER_2))
    _ok(api.get("/admin/contracts?status=ending", user=OPERATOR, operator=True))
    clock.advance(40 * DAY)
    api.invoke("sweep_contracts")  # the last, cut-short month opens; the contract ends
    last = _ok(api.get(path, user=BUYER_2))["items"][-1]["id"]
    _ok(api.post(f"{path}/{last}/submit", {"sales": 0}, user=PROVIDER))
    _ok(api.post(f"{path}/{last}/confirm", user=BUYER_2))
    clock.advance(8 * DAY)
    api.invoke("sweep_contracts")  # paid from the deposit; the rest of it refunded
    assert _ok(api.get(f"/contracts/{cid}", user=BUYER_2))["deposit"]["held"] == 0
    orders.ledger_clean(api)


def _deliver_by_ses(api: ApiClient) -> None:
    """deliver_notifications as a deployed stage runs it: mail through SES."""
    import dataclasses

    import boto3

    boto3.client("ses", region_name="us-east-1").verify_email_identity(
        EmailAddress="notices@market.example.com")
    before = settings.get()
    settings._current = dataclasses.replace(before, mail_transport="ses",
                                            mail_from="notices@market.example.com")
    try:
        assert api.invoke("deliver_notifications").payload["moved"] >= 1
    finally:
        settings._current = before


def _deployed_secret_reads() -> None:
    """A deployed container reading its secret from SSM, then from Secrets Manager."""
    import boto3

    value = "s" * 48
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/market-prod/jwt-secret", Value=value, Type="SecureString")
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="market-prod-jwt", SecretString=value)["ARN"]
    base = {**settings.load().__dict__, "stage": "prod", "jwt_secret": None,
            "region": "us-east-1"}
    for source in ({"jwt_secret_ssm_parameter": "/market-prod/jwt-secret"},
                   {"jwt_secret_secret_arn": arn}):
        secrets.forget()
        assert secrets.jwt_secret(settings.Settings(**{**base, **source})) == value
    secrets.forget()
    # The Alipay registration, from the SSM parameter or a Secrets Manager secret.
    from chalicelib.alipay import credentials, protocol

    private, public = protocol.new_key_pair()
    document = json.dumps({"app_id": "2021000000000001", "app_private_key": private,
                           "alipay_public_key": public,
                           "notify_url": "https://api.example.com/payments/alipay/notify"})
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/market-prod/alipay", Value=document, Type="SecureString")
    alipay_arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="market-prod-alipay", SecretString=document)["ARN"]
    for source in ({"alipay_ssm_parameter": "/market-prod/alipay"},
                   {"alipay_secret_arn": alipay_arn}):
        credentials.forget()
        cfg = settings.Settings(**{**base, "alipay_app_id": None, **source})
        assert credentials.load(cfg).app_id == "2021000000000001"
    credentials.forget()


@pytest.fixture(scope="module")
def scenario_run(alipay_registration):
    from types import SimpleNamespace

    from moto import mock_aws

    import app as app_module
    from tests.conftest import _point_at

    clock.reset()
    with mock_aws():
        _point_at(None, None, "test-")
        schema.create_missing_tables()
        schema.create_bucket_if_missing()
        with Client(app_module.app, stage_name="local") as client:
            api = _RouteRecorder(client)
            scheduled = [n for n, _ in template.scheduled_functions(app_module.app)]
            # The stream consumer runs when the scenario reads the market (the test client
            # catches the index up through app.py's index_market, as Lambda calls it).
            scheduled += [n for n, _ in template.stream_functions(app_module.app)]
            with recording(type(files.s3_client()), scheduled) as calls:
                _market_scenario(api, alipay_registration)
                _deployed_secret_reads()
    clock.reset()
    return SimpleNamespace(calls=calls, requested=api.requested, scheduled=scheduled)


@pytest.fixture(scope="module")
def recorded_calls(scenario_run):
    return scenario_run.calls


def _policy(stage="prod", function=API) -> dict:
    return json.loads(template.policy_path(stage, function).read_text(encoding="utf-8"))


def _statements(policy: dict) -> list[dict]:
    """Statements as deployed, whichever branch of a CloudFormation condition applies."""
    out = []
    for statement in policy["Statement"]:
        if "Fn::If" in statement:
            out += [s for s in statement["Fn::If"][1:] if "Effect" in s]
        else:
            out.append(statement)
    return out


def _models_by_table() -> dict:
    return {"test-" + m.TABLE_SUFFIX: m for m in schema.all_models()}


def _arn(model, index=None) -> dict:
    logical = template.table_logical_id(model)
    if index:
        return {"Fn::Sub": "${%s.Arn}/index/%s" % (logical, index)}
    return {"Fn::GetAtt": [logical, "Arn"]}


def _grants(function: str) -> set[tuple[str, str]]:
    """(action, resource as JSON) pairs the function's policy allows."""
    return {(a, json.dumps(r, sort_keys=True)) for st in _statements(_policy(function=function))
            for a in st["Action"] for r in st["Resource"]}


_OBJECTS = re.compile(r'^\{"Fn::Sub": "\$\{%s\.Arn\}/(.*)\*"\}$' % template.FILES_BUCKET)


def _covers(resource: str, key: str) -> bool:
    """Whether a granted bucket resource (JSON) covers the object key."""
    found = _OBJECTS.match(resource)
    return found is not None and key.startswith(found.group(1))


def _needed(recorded_calls) -> dict[str, set[tuple[str, str]]]:
    """(action, resource as JSON; or `s3-key:<key>`, `secret`) each function's calls need."""
    tables = _models_by_table()
    needed: dict[str, set] = {}
    for call in recorded_calls:
        mine = needed.setdefault(call["function"], set())
        for action in call["actions"]:
            if call["service"] == "dynamodb":
                for name in call["tables"]:
                    assert name in tables, f"{name} is not a registered model's table"
                    mine.add((action, json.dumps(_arn(tables[name], call["index"]),
                                                 sort_keys=True)))
            elif call["service"] == "s3":
                mine.update((action, "s3-key:" + key) for key in call["keys"])
            else:
                mine.add((action, "secret"))
    return needed


def _is_granted(need: tuple[str, str], granted: set[tuple[str, str]]) -> bool:
    action, target = need
    if target == "secret":
        return any(a == action for a, _ in granted)
    if target.startswith("s3-key:"):
        return any(a == action and _covers(r, target[len("s3-key:"):]) for a, r in granted)
    return need in granted


def _is_needed(grant: tuple[str, str], needed: set[tuple[str, str]]) -> bool:
    action, resource = grant
    return grant in needed or any(
        a == action and t.startswith("s3-key:") and _covers(resource, t[len("s3-key:"):])
        for a, t in needed)


def _resource_names(function: str) -> dict[str, str]:
    """Resource JSON -> `table` or `table/index`, as USED_BUT_NOT_IN_SCENARIO names them."""
    out = {}
    for model in schema.all_models():
        out[json.dumps(_arn(model), sort_keys=True)] = model.TABLE_SUFFIX
        for index in template.index_names(model):
            out[json.dumps(_arn(model, index), sort_keys=True)] = f"{model.TABLE_SUFFIX}/{index}"
    return out


def test_the_scenario_reached_every_kind_of_call(scenario_run):
    calls = scenario_run.calls
    assert {"dynamodb", "s3", "ssm", "secretsmanager"} <= {c["service"] for c in calls}
    actions = {a for c in calls for a in c["actions"]}
    assert {"dynamodb:Query", "dynamodb:UpdateItem", "s3:PutObject", "s3:GetObject"} <= actions
    assert {c["function"] for c in calls} == {API, *scenario_run.scheduled}


def test_the_scenario_requests_every_deployed_route(scenario_run):
    """A route the scenario never requests is a route whose calls no grant is checked for."""
    def matches(spec, path):
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(spec.path)) + "$"
        return re.match(pattern, path) is not None

    missing = [f"{spec.method} {spec.path}" for spec in ROUTES if not spec.local_only
               and not any(m == spec.method and matches(spec, p)
                           for m, p in scenario_run.requested)]
    assert not missing, f"add these routes to _market_scenario: {missing}"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_is_granted_every_call_its_code_makes(recorded_calls, function):
    needed = _needed(recorded_calls).get(function, set())
    granted = _grants(function)
    missing = sorted(n for n in needed if not _is_granted(n, granted))
    assert not missing, f"{function} lacks {missing}: add them to deploy/template.py"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_is_granted_a_call_its_code_never_makes(recorded_calls, function):
    needed = _needed(recorded_calls).get(function, set())
    names = _resource_names(function)
    unused = []
    for action, resource in _grants(function):
        if action.startswith(("logs:", "ssm:", "secretsmanager:", "ses:", "sqs:")):
            # Lambda's runtime writes logs, and sends a failed scheduled run to the
            # function's dead-letter queue with its role; each secret source is read above;
            # mail is sent as MailFrom, whose identity only the deployment knows.
            continue
        if _is_needed((action, resource), needed):
            continue
        if '"StreamArn"' in resource and function == INDEX:
            continue  # Lambda's event source mapping reads the stream with the role
        if (function, names.get(resource, resource), action) in USED_BUT_NOT_IN_SCENARIO:
            continue
        unused.append((action, names.get(resource, resource)))
    assert not unused, f"{function} is granted calls it never makes: {sorted(unused)}"


def test_only_the_api_touches_the_bucket_and_the_secret():
    """The jobs get their tables and log streams; the two that talk to the payment gateway
    (refunds and payouts, payment queries) also read the Alipay registration, nothing else."""
    for function in (SWEEP, RELEASE, SETTLE):
        statements = _statements(_policy(function=function))
        actions = {a for st in statements for a in st["Action"]}
        services = {a.split(":")[0] for a in actions}
        if function == SWEEP:
            assert services <= {"dynamodb", "logs", "sqs"}, function
            continue
        assert services <= {"dynamodb", "logs", "sqs", "ssm", "secretsmanager"}, function
        secret_reads = {st["Sid"] for st in statements
                        if st["Action"][0].split(":")[0] in ("ssm", "secretsmanager")}
        assert secret_reads == {"AlipayParameter", "AlipaySecret"}, function


@pytest.mark.parametrize("function", [SWEEP, RELEASE, SETTLE, DELIVER])
def test_each_scheduled_function_may_send_only_to_its_own_dead_letter_queue(function):
    sends = [st for st in _statements(_policy(function=function))
             if any(a.startswith("sqs:") for a in st["Action"])]
    assert len(sends) == 1 and sends[0]["Action"] == ["sqs:SendMessage"]
    queue = template.cfn_name(function) + "DeadLetters"
    assert sends[0]["Resource"] == [{"Fn::GetAtt": [queue, "Arn"]}]
    assert not [st for st in _statements(_policy()) if "sqs:SendMessage" in st["Action"]]


def test_money_tables_are_never_deleted_from_or_batch_written_and_only_audited_by_scan():
    money = {template.table_logical_id(m) for m in schema.all_models() if m.MONEY_TABLE}
    assert {"OrdersTable", "PostingsTable", "AccountsTable", "InstructionsTable"} <= money
    for stage in template.DEPLOYED_STAGES:
        for function in FUNCTIONS:
            for st in _statements(_policy(stage, function)):
                if st["Sid"] not in money:
                    continue
                actions = set(st["Action"])
                assert not actions & {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}, st
                if "dynamodb:Scan" in actions:
                    assert function == API, st  # GET /admin/ledger/check, operators only


def test_only_logos_may_be_deleted_from_the_bucket(recorded_calls):
    deletes = [c for c in recorded_calls if "s3:DeleteObject" in c["actions"]]
    assert deletes and all(k.startswith(template.LOGO_PREFIX) for c in deletes for k in c["keys"])
    for function in FUNCTIONS:
        for statement in _statements(_policy(function=function)):
            if "s3:DeleteObject" in statement["Action"]:
                assert statement["Resource"] == [
                    {"Fn::Sub": "${%s.Arn}/%s*" % (template.FILES_BUCKET, template.LOGO_PREFIX)}]


@pytest.mark.parametrize("stage", template.DEPLOYED_STAGES)
def test_each_scheduled_function_is_deployed_with_its_own_policy(stage, scenario_run):
    config = json.loads((template.ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    stage_config = config["stages"][stage]
    assert stage_config["iam_policy_file"] == template.policy_path(stage).name
    for function in scenario_run.scheduled:
        named = stage_config["lambda_functions"][function]["iam_policy_file"]
        assert named == template.policy_path(stage, function).name
        assert (template.ROOT / ".chalice" / named).exists()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_policy_fits_an_inline_role_policy(function):
    # IAM caps a role's inline policies at 10,240 characters (whitespace not counted).
    text = json.dumps(_policy(function=function), separators=(",", ":"))
    assert len(text) < 10_240


# Where a `*` may appear in a resource: objects of our own bucket (keys are ids the app
# makes) and log streams of our own log group (Lambda names them). Nothing else.
_ALLOWED_WILDCARDS = [
    re.escape("${%s.Arn}/" % template.FILES_BUCKET) + r"([a-z]+/)?\*",
    re.escape(":log-group:" + template.LOG_GROUP_NAME + ":*\"}"),
]


def _wildcards(policy: dict) -> list[str]:
    found = []
    for statement in _statements(policy):
        if statement["Effect"] != "Allow":
            continue
        found += [f"action {a}" for a in statement["Action"] if "*" in a]
        for resource in statement["Resource"]:
            text = resource if isinstance(resource, str) else json.dumps(resource)
            if "*" in text and not any(re.search(p, text) for p in _ALLOWED_WILDCARDS):
                found.append(f"resource {text}")
    return found


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", template.DEPLOYED_STAGES)
def test_the_policy_grants_no_wildcard_action_or_resource(stage, function):
    assert _wildcards(_policy(stage, function)) == []


def test_the_wildcard_check_catches_broad_grants():
    policy = _policy()
    policy["Statement"] += [
        {"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": [{"Fn::GetAtt": ["X", "Arn"]}]},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["dynamodb:Query"],
         "Resource": [{"Fn::Sub": "${OrdersTable.Arn}/index/*"}]},
    ]
    assert len(_wildcards(policy)) == 3


def test_every_resource_is_one_of_our_tables_indexes_bucket_log_group_or_secret():
    known = set(_resource_names(API))
    for stage in template.DEPLOYED_STAGES:
        for function in FUNCTIONS:
            for st in _statements(_policy(stage, function)):
                if st["Sid"] == "ReadStream":  # the services' stream, for its consumer only
                    assert function == INDEX and st["Resource"] == [
                        {"Fn::GetAtt": ["ServicesTable", "StreamArn"]}], st
                    continue
                if st["Action"][0].startswith("dynamodb:"):
                    assert {json.dumps(r, sort_keys=True) for r in st["Resource"]} <= known, st
