"""A scripted day in the market, touching every route of the contract once or more:
providers apply and are approved (one suspended and reinstated), services are listed,
featured and found, orders go through every path (completed with messages, files and a
revision; cancelled; priced by negotiation; paid through Alipay and confirmed by its
notification; renegotiated by proposals and closed by a mutual cancel; rejected;
disputed and resolved from the dispute queue; milestones), reviews and the provider's
reply, payouts, the inbox and its channels, balances and the operators' views.

Steps that depend on a route another engineer has not built yet are skipped, not
failed: the harness measures whatever exists. Each step names what it needs from the
ones before, so a missing route skips only what depends on it.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from bench import counters, scenario_more
from bench.scenario_parts import (BUYER, BUYER_2, OPERATOR, PROVIDER, PROVIDER_2, PROVIDER_3,
                                  StepFailed, _iso, _place, _put_upload, logo_png)
from chalicelib import clock




@dataclass
class Observation:
    method: str
    path: str
    status: int
    tally: counters.Tally
    step: str


@dataclass
class Run:
    observations: list[Observation] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # step -> why
    ctx: dict = field(default_factory=dict)  # ids the steps created


class Recorder:
    """Wraps an ApiClient: every call is counted and remembered with its step."""

    def __init__(self, api, run: Run):
        self.api = api
        self.run = run
        self.step = ""
        # The market index follows the services' stream: its consumer runs before a market
        # read (as it would have by then), outside the read's count (it is no request's).
        api.market_catches_up = False

    def call(self, method, path, body=None, *, user=None, operator=False, **kw):
        if body is None and method in ("POST", "PUT", "PATCH") and "raw" not in kw:
            body = {}
        if method == "GET" and path.split("?", 1)[0] == "/services":
            self.catch_up()
        with counters.measure() as tally:
            try:
                reply = self.api.call(method, path, body, user=user, operator=operator, **kw)
            except AssertionError as drift:  # tests.answers.AnswerDrift: an app bug to report,
                # not a reason to lose every other route's figures
                raise StepFailed(f"{method} {path}: answer differs from the contract: "
                                 f"{str(drift)[:300]}") from None
        self.run.observations.append(Observation(method, path, reply.status, tally, self.step))
        return reply

    def catch_up(self) -> None:
        """Run the market index's consumer on what the services' stream holds (in process;
        over HTTP the dev server's own poller does it)."""
        from tests.support import catch_up_market

        client = getattr(self.api, "client", None)
        if hasattr(client, "lambda_"):
            catch_up_market(client)

    def ok(self, method, path, body=None, **kw):
        """A call the scenario needs to succeed; anything else skips the step."""
        reply = self.call(method, path, body, **kw)
        if reply.status >= 300:
            raise StepFailed(f"{method} {path} → {reply.status} {reply.error_code or ''}".strip())
        return reply.json

    def op(self, method, path, body=None, **kw):
        return self.ok(method, path, body, user=OPERATOR, operator=True, **kw)


def run_scenario(api) -> Run:
    """Run every step against `api` (tests.support.ApiClient on fresh tables)."""
    run = Run()
    rec = Recorder(api, run)
    ctx = run.ctx
    for step in STEPS:
        rec.step = step.__name__
        try:
            step(rec, ctx)
        except StepFailed as why:
            run.skipped[step.__name__] = str(why)
        except KeyError as missing:
            run.skipped[step.__name__] = f"needs {missing} from an earlier step"
    return run


def system(rec, ctx):
    rec.ok("GET", "/health")
    rec.ok("GET", "/openapi.json")
    rec.ok("POST", "/_local/token", {"sub": BUYER})
    rec.ok("POST", "/_local/clock", {"advance_seconds": 0})


def taxonomy(rec, ctx):
    categories = rec.ok("GET", "/categories")["items"]
    tags = rec.ok("GET", "/tags")["items"]
    ctx["categories"] = [c["id"] for c in categories]
    ctx["tags"] = [t["id"] for t in tags]


def providers(rec, ctx):
    rec.ok("GET", "/providers/me", user=PROVIDER)
    for user, name in ((PROVIDER, "杭州小美设计工作室"), (PROVIDER_2, "云客服外包中心"),
                       (PROVIDER_3, "义乌快拍摄影")):
        rec.ok("POST", "/providers/me/application", {
            "display_name": name, "company_name": f"{name}有限公司",
            "contact": "0571-88886666", "intro": "十年电商服务经验，专注中小卖家。"}, user=user)
    rec.op("GET", "/admin/providers?status=pending")
    rec.op("POST", f"/admin/providers/{PROVIDER}/approve")
    rec.op("POST", f"/admin/providers/{PROVIDER_2}/reject", {"reason": "营业执照不清晰"})
    rec.op("POST", f"/admin/providers/{PROVIDER_3}/approve")
    rec.ok("GET", "/providers/me", user=PROVIDER)
    rec.ok("GET", f"/providers/{PROVIDER}")
    ctx["approved"] = True


def campaigns(rec, ctx):
    campaign = rec.op("POST", "/admin/campaigns", {
        "name": "新店体验季", "starts_at": _iso(timedelta(hours=-1)),
        "ends_at": _iso(timedelta(days=30)), "max_price": 100})
    rec.ok("GET", "/campaigns")
    ctx["campaign"] = campaign["id"]


def _service(title, summary, ctx, *, price=88000, pricing="fixed", tags=2, category=0):
    return {"title": title, "category": ctx["categories"][category % len(ctx["categories"])],
            "summary": summary, "content": f"## {title}\n\n{summary}\n\n- 三次免费修改\n- 源文件交付",
            "pricing": pricing, "price": price, "tags": ctx["tags"][:tags]}


def _create_listable(rec, ctx, body, user=PROVIDER, seed=0, list_body=None):
    service = rec.ok("POST", "/services", body, user=user)
    rec.ok("PUT", f"/services/{service['id']}/logo", user=user, raw=logo_png(seed),
           content_type="image/png")
    rec.ok("POST", f"/services/{service['id']}/list", list_body or {}, user=user)
    return service["id"]


def services(rec, ctx):
    ctx["approved"]
    draft = rec.ok("POST", "/services", _service(
        "旗舰店铺装修", "天猫淘宝旗舰店首页装修，三天出稿，风格随心定制", ctx), user=PROVIDER)
    sid = draft["id"]
    rec.ok("GET", f"/services/{sid}", user=PROVIDER)
    rec.ok("PATCH", f"/services/{sid}", {"summary": "天猫淘宝旗舰店首页装修，两天出稿，风格随心定制"},
           user=PROVIDER)
    rec.ok("PUT", f"/services/{sid}/logo", user=PROVIDER, raw=logo_png(1), content_type="image/png")
    rec.ok("POST", f"/services/{sid}/list", {}, user=PROVIDER)
    ctx["service"] = sid
    ctx["negotiable"] = _create_listable(rec, ctx, _service(
        "原创LOGO设计", "品牌logo设计，原创手绘，可开发票", ctx, price=50000, pricing="negotiable",
        category=1), seed=2)
    ctx["capped"] = _create_listable(rec, ctx, _service(
        "7x24小时客服外包", "专业客服团队，全天候在线，响应快", ctx, price=300000, category=2),
        user=PROVIDER_3, seed=3)
    rec.ok("GET", f"/services/{sid}")
    rec.ok("GET", "/providers/me/services", user=PROVIDER)
    rec.ok("GET", "/providers/me/services?status=listed", user=PROVIDER)


def featured(rec, ctx):
    """小二推荐: an operator features a listed service, the market shows it, and the
    recommendation is taken back (the LOGO service stays featured for the market)."""
    rec.op("POST", f"/admin/services/{ctx['service']}/feature")
    rec.op("POST", f"/admin/services/{ctx['negotiable']}/feature")
    rec.ok("GET", "/services?featured=true")
    rec.op("POST", f"/admin/services/{ctx['service']}/unfeature")


def stored_catalog(rec, ctx):
    """Until the catalog's routes exist, listed services written straight into storage
    (as the order tests do), so that the order routes can still be measured."""
    if "service" in ctx:
        return
    from chalicelib import ids
    from chalicelib.storage.catalog import ProviderModel, ServiceModel

    now = clock.to_key(clock.now())
    for provider in (PROVIDER, PROVIDER_3):
        ProviderModel(provider, status="approved", display_name=provider, company_name=provider,
                      contact="0571-88886666", intro="十年电商服务经验", applied_at=now).save()
    for key, provider, title, pricing, price in (
            ("service", PROVIDER, "旗舰店铺装修", "fixed", 88000),
            ("negotiable", PROVIDER, "原创LOGO设计", "negotiable", 50000),
            ("capped", PROVIDER_3, "7x24小时客服外包", "fixed", 300000)):
        item = ServiceModel(ids.new_id("svc"), provider_id=provider, title=title,
                            category="shop-decoration", summary=f"{title}，三天交付",
                            content=f"# {title}", pricing=pricing, price=price, status="listed",
                            created_at=now, updated_at=now, listed_at=now)
        item.save()
        ctx[key] = item.id
    ctx["stored_catalog"] = True
    raise StepFailed("catalog routes missing: services written straight into storage")


def trial_listing(rec, ctx):
    ctx["trial"] = _create_listable(rec, ctx, _service(
        "一元体验详情页诊断", "新店体验价，详情页诊断报告一份", ctx, price=100, category=3),
        seed=4, list_body={"campaign_id": ctx["campaign"]})


def delist_and_delete(rec, ctx):
    ctx["approved"]
    sid = _create_listable(rec, ctx, _service(
        "主图摄影修图", "商品主图精修，白底图，细节图", ctx, price=2000, category=5), seed=5)
    rec.ok("POST", f"/services/{sid}/delist", {}, user=PROVIDER)
    rec.ok("DELETE", f"/services/{sid}", user=PROVIDER)
    draft = rec.ok("POST", "/services", _service(
        "代运营月度方案", "店铺代运营，月度推广方案", ctx, price=500000, category=4), user=PROVIDER)
    rec.ok("DELETE", f"/services/{draft['id']}", user=PROVIDER)


def market(rec, ctx):
    ctx["service"]
    rec.ok("GET", "/services")
    rec.ok("GET", "/services?q=%E8%A3%85%E4%BF%AE")  # 装修
    rec.ok("GET", "/services?q=LOGO")
    rec.ok("GET", f"/services?category={ctx['categories'][0]}&sort=price_asc")
    rec.ok("GET", f"/services?tag={ctx['tags'][0]}&sort=rating")
    rec.ok("GET", f"/services?provider_id={PROVIDER}&sort=price_desc")


def order_completed(rec, ctx):
    oid = _place(rec, ctx, "service")
    ctx["order"] = oid
    rec.ok("GET", f"/orders/{oid}", user=BUYER)
    rec.ok("POST", f"/orders/{oid}/pay", {}, user=BUYER)
    rec.ok("POST", f"/orders/{oid}/accept", {}, user=PROVIDER)
    _talk(rec, oid)
    file_id = _upload(rec, oid)
    rec.ok("POST", f"/orders/{oid}/deliver", {"file_ids": [file_id], "note": "初稿请查收"},
           user=PROVIDER)
    rec.ok("POST", f"/orders/{oid}/request-revision", {"note": "首屏按钮再大一些"}, user=BUYER)
    file_id = _upload(rec, oid)
    rec.ok("POST", f"/orders/{oid}/deliver", {"file_ids": [file_id], "note": "终稿"},
           user=PROVIDER)
    rec.ok("GET", f"/orders/{oid}/deliverables", user=BUYER)
    rec.ok("GET", f"/orders/{oid}/deliverables/{file_id}", user=BUYER)
    rec.ok("POST", f"/orders/{oid}/approve", {}, user=BUYER)
    ctx["completed"] = oid


def _talk(rec, oid):
    """留言: the buyer sends reference material with a message, the provider answers,
    both read the conversation and the buyer's file."""
    ticket = rec.ok("POST", f"/orders/{oid}/attachments", {
        "filename": "参考图.png", "content_type": "image/png", "size": 1024}, user=BUYER)
    _put_upload(ticket, b"\x89PNG" + b"0" * 1020, "image/png")
    file_id = ticket["file_id"]
    rec.ok("POST", f"/orders/{oid}/messages", {"body": "主色请参考附件，按钮用圆角",
                                               "file_ids": [file_id]}, user=BUYER)
    rec.ok("POST", f"/orders/{oid}/messages", {"body": "收到，明天给您初稿"}, user=PROVIDER)
    rec.ok("GET", f"/orders/{oid}/messages", user=PROVIDER)
    rec.ok("GET", f"/orders/{oid}/attachments/{file_id}", user=PROVIDER)


def _upload(rec, oid) -> str:
    answer = rec.ok("POST", f"/orders/{oid}/deliverables", {
        "filename": "首页终稿.zip", "content_type": "application/zip", "size": 2048},
        user=PROVIDER)
    _put_upload(answer, b"PK\x03\x04" + b"0" * 2044, "application/zip")
    return answer["file_id"]


def reviews(rec, ctx):
    oid = ctx["completed"]
    rec.ok("POST", f"/orders/{oid}/reviews", {"rating": "good", "comment": "设计很用心，沟通顺畅"},
           user=BUYER)
    rec.ok("POST", f"/orders/{oid}/reviews", {"rating": "good", "comment": "需求清楚，付款爽快"},
           user=PROVIDER)
    rec.ok("GET", f"/orders/{oid}/reviews", user=BUYER)
    rec.ok("POST", f"/orders/{oid}/reviews/buyer/reply", {"body": "感谢认可，欢迎再来"},
           user=PROVIDER)
    rec.ok("GET", f"/services/{ctx['service']}/reviews")
    rec.ok("GET", f"/providers/{PROVIDER}/reviews")
    rec.ok("GET", f"/users/{BUYER}")


def payouts(rec, ctx):
    """提现: the provider, paid for the completed order, sets a payout account and
    withdraws part of it; the transfer is made by the sweep at the end."""
    ctx["completed"]
    rec.ok("PUT", "/providers/me/payout-account", {"account": "13800138000", "name": "张小美"},
           user=PROVIDER)
    rec.ok("GET", "/providers/me/payout-account", user=PROVIDER)
    available = rec.ok("GET", "/me/balance", user=PROVIDER)["available"]
    rec.ok("POST", "/me/withdrawals", {"amount": available // 2}, user=PROVIDER)
    rec.ok("GET", "/me/withdrawals", user=PROVIDER)
    rec.ok("GET", "/me/statement", user=PROVIDER)


def order_cancelled(rec, ctx):
    oid = _place(rec, ctx, "negotiable", price=45000)
    rec.ok("POST", f"/orders/{oid}/cancel", {}, user=BUYER)


def order_priced(rec, ctx):
    """可议价: the buyer offers a price, the provider counters, the buyer accepts the
    counter-offer by paying once the provider has set it."""
    oid = _place(rec, ctx, "negotiable", price=45000)
    rec.ok("POST", f"/orders/{oid}/price", {"amount": 42000}, user=BUYER)
    rec.ok("POST", f"/orders/{oid}/price", {"amount": 46000}, user=PROVIDER)
    rec.ok("POST", f"/orders/{oid}/pay", {}, user=BUYER)


def order_paid_through_alipay(rec, ctx):
    """The asynchronous way (the local stack's default): pay answers `pending` with the
    cashier's URL, the buyer pays there, and Alipay's signed notification confirms it."""
    from bench import alipay

    oid = _place(rec, ctx, "service", buyer=BUYER_2)
    with alipay.alipay_on() as world:
        answer = rec.ok("POST", f"/orders/{oid}/pay", {}, user=BUYER_2)
        if answer.get("payment", {}).get("status") != "pending":
            raise StepFailed(f"pay through alipay answered {answer.get('payment')}")
        if world.open_cashier(answer["payment"]["redirect_url"]) != 200:
            raise StepFailed("the stand-in's cashier refused the pay link")
        form = world.pay(oid)
        reply = rec.call("POST", "/payments/alipay/notify", raw=form, content_type=alipay.FORM)
        if reply.status != 200:
            raise StepFailed(f"POST /payments/alipay/notify → {reply.status} "
                             f"{reply.error_code or ''}".strip())
    status = rec.ok("GET", f"/orders/{oid}", user=BUYER_2)["status"]
    if status != "awaiting_provider":
        raise StepFailed(f"the notified order is {status}, not awaiting_provider")


def order_negotiated(rec, ctx):
    """协商 on work in progress: an extension accepted, one withdrawn, a partial refund
    declined, then a cancel with a refund split accepted (the order closes)."""
    oid = _place(rec, ctx, "service")
    rec.ok("POST", f"/orders/{oid}/pay", {}, user=BUYER)
    rec.ok("POST", f"/orders/{oid}/accept", {}, user=PROVIDER)
    base = f"/orders/{oid}/proposals"
    pid = rec.ok("POST", base, {"kind": "extension", "due_at": _iso(timedelta(days=14)),
                                "note": "素材晚到了三天"}, user=PROVIDER)["id"]
    rec.ok("GET", f"{base}/{pid}", user=BUYER)
    rec.ok("POST", f"{base}/{pid}/accept", {}, user=BUYER)
    pid = rec.ok("POST", base, {"kind": "extension", "due_at": _iso(timedelta(days=20))},
                 user=BUYER)["id"]
    rec.ok("POST", f"{base}/{pid}/withdraw", {}, user=BUYER)
    pid = rec.ok("POST", base, {"kind": "cancel", "refund": 20000}, user=PROVIDER)["id"]
    rec.ok("POST", f"{base}/{pid}/decline", {}, user=BUYER)
    pid = rec.ok("POST", base, {"kind": "cancel", "refund": 60000, "note": "需求有变"},
                 user=BUYER)["id"]
    rec.ok("POST", f"{base}/{pid}/accept", {}, user=PROVIDER)
    rec.ok("GET", base, user=PROVIDER)


def order_rejected(rec, ctx):
    oid = _place(rec, ctx, "service", buyer=BUYER_2)
    rec.ok("POST", f"/orders/{oid}/pay", {}, user=BUYER_2)
    rec.ok("POST", f"/orders/{oid}/reject", {"reason": "档期已满，抱歉"}, user=PROVIDER)


def order_disputed(rec, ctx):
    oid = _place(rec, ctx, "capped")
    rec.ok("POST", f"/orders/{oid}/pay", {}, user=BUYER)
    rec.ok("POST", f"/orders/{oid}/accept", {}, user=PROVIDER_3)
    rec.ok("POST", f"/orders/{oid}/dispute", {"reason": "客服响应太慢"}, user=BUYER)
    rec.op("GET", "/admin/orders?status=disputed")
    rec.op("POST", f"/admin/orders/{oid}/resolve", {"refund": 200000, "release": 100000,
                                                      "fault": "none", "note": "各担一部分"})


def order_milestones(rec, ctx):
    oid = _place(rec, ctx, "service", milestones=[
        {"title": "定金", "amount": 20000, "release": "on_accept"},
        {"title": "首页设计", "amount": 40000, "release": "on_approval"},
        {"title": "详情页设计", "amount": 28000, "release": "on_approval"}])
    rec.ok("POST", f"/orders/{oid}/pay", {}, user=BUYER)
    rec.ok("POST", f"/orders/{oid}/accept", {}, user=PROVIDER)


def views(rec, ctx):
    oid = ctx["order"]
    rec.ok("GET", f"/orders/{oid}/events", user=BUYER)
    rec.ok("GET", "/orders?as=buyer", user=BUYER)
    rec.ok("GET", "/orders?as=provider&status=completed", user=PROVIDER)
    rec.ok("GET", "/me/balance", user=PROVIDER)
    rec.ok("GET", "/me/analytics/daily?from=2026-01-01&to=2026-12-31", user=PROVIDER)
    rec.op("GET", f"/orders/{oid}")


def inbox(rec, ctx):
    """Notifications: the unread count, one marked read, then all; and the channels
    they also leave by (an e-mail address: local mail lands in the run's data dir)."""
    notices = rec.ok("GET", "/me/notifications", user=BUYER)["items"]
    rec.ok("GET", "/me/notifications/unread-count", user=BUYER)
    if notices:
        rec.ok("POST", "/me/notifications/read", {"ids": [notices[0]["id"]]}, user=BUYER)
    rec.ok("GET", "/me/notifications?unread=true", user=BUYER)
    rec.ok("POST", "/me/notifications/read", {"all": True}, user=BUYER)
    rec.ok("PUT", "/me/channels", {"email": "buyer1@example.com"}, user=BUYER)
    rec.ok("GET", "/me/channels", user=BUYER)


def operators(rec, ctx):
    rec.op("GET", "/admin/ledger/check")
    rec.op("GET", "/admin/reconciliation")
    rec.op("GET", "/admin/stuck")
    rec.op("GET", "/admin/analytics/daily?from=2026-01-01&to=2026-12-31")  # a year


def suspend(rec, ctx):
    ctx["capped"]
    rec.op("POST", f"/admin/providers/{PROVIDER_3}/suspend", {"reason": "多次投诉"})
    rec.op("POST", f"/admin/providers/{PROVIDER_3}/reinstate")
    rec.op("POST", f"/services/{ctx['trial']}/delist")


def sweeps(rec, ctx):
    rec.ok("POST", "/_local/sweeps")


STEPS = [system, taxonomy, providers, campaigns, services, stored_catalog, featured,
         trial_listing, delist_and_delete, market, order_completed, reviews, payouts,
         order_cancelled, order_priced, order_paid_through_alipay, order_negotiated,
         order_rejected, order_disputed, order_milestones, *scenario_more.STEPS, views, inbox,
         scenario_more.email_verified, operators, suspend, sweeps]


def seed_catalog(api) -> dict:
    """Approved providers and three listed services (店铺装修, LOGO设计, 客服外包), through
    the API; `ctx["skipped"]` says what could not be done yet."""
    run = Run()
    rec = Recorder(api, run)
    ctx: dict = {}
    for step in (taxonomy, providers, services, stored_catalog):
        rec.step = step.__name__
        try:
            step(rec, ctx)
        except (StepFailed, KeyError) as why:
            run.skipped[step.__name__] = str(why)
    ctx["skipped"] = run.skipped
    rec.catch_up()  # the listings' search entries, for whoever clones them (bench.search)
    return ctx


def place_order(api, service_id: str, buyer: str = BUYER) -> str:
    rec = Recorder(api, Run())
    return _place(rec, {"service": service_id}, "service", buyer=buyer)
