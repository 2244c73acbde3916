"""This round's routes for the scripted market day (bench/scenario.py runs these steps in
its STEPS): contracts and their statements (服务合同, 月结账单), inquiries with a custom
offer of an order and of a contract (咨询, 定制报价), a file answer to a service's
questions, the after-sale paths (举证, a withdrawn dispute, a review's follow-up, the
provider's reply, an operator hiding a review's text), the trust paths (a provider's
documents, a checked content picture) and the operators' campaign list.

Same conventions as scenario.py: each step names what it needs from the ones before
(ctx), and a route that answers otherwise skips the step, never the run.
"""
from datetime import timedelta

from bench.scenario_parts import StepFailed, _place, _put_upload, logo_png
from chalicelib import clock

PROVIDER, PROVIDER_3, BUYER, BUYER_2 = "provider-1", "provider-3", "buyer-1", "buyer-2"
DAY = 24 * 3600


def _terms(**over) -> dict:
    """The API's worked example: postpaid, base 3100 元, 2 % commission, 7-day trial."""
    return {"period": "month", "billing": "postpaid", "base": 310000, "commission_bps": 200,
            "deposit": 100000, "trial_days": 7, "trial_fee": 50000, "notice_days": 10,
            "schedule": {"agents": 3, "hours": "09:00-24:00", "shifts": 2, "holidays": "春节轮休"},
            "kpis": ["响应时间 ≤ 30 秒"], "confidential": True, "breach": "严重违约扣除定金",
            **over}


def _put(ticket: dict, data: bytes, content_type: str) -> None:

    _put_upload(ticket, data, content_type)


def _sweep_contracts(rec) -> None:
    """The contracts' timers, run as their schedule would (not a request: not counted)."""
    invoke = getattr(rec.api, "invoke", None)
    if invoke is None:
        rec.ok("POST", "/_local/sweeps")
    else:
        invoke("sweep_contracts")


def _live_contract(rec, ctx, **over) -> str:
    contract = rec.ok("POST", "/contracts", {
        "service_id": ctx["capped"], "requirement": "店铺售前售后客服，三人两班",
        "terms": _terms(**over)}, user=BUYER)
    cid = contract["id"]
    for user in (PROVIDER_3, BUYER):
        rec.ok("POST", f"/contracts/{cid}/sign", user=user)
    rec.ok("POST", f"/contracts/{cid}/pay", user=BUYER)
    rec.ok("POST", f"/contracts/{cid}/go-live", user=BUYER)
    return cid


def contracts(rec, ctx):
    """Two contracts go live; past the 7-day trial the sweep opens each one's trial
    statement: one is submitted, confirmed and paid; the other disputed, resolved by an
    operator and paid. A third is drafted, re-termed and cancelled."""
    draft = rec.ok("POST", "/contracts", {
        "service_id": ctx["capped"], "requirement": "双十一临时客服", "terms": _terms()},
        user=BUYER_2)["id"]
    rec.ok("PUT", f"/contracts/{draft}/terms", {"terms": _terms(base=320000)}, user=BUYER_2)
    rec.ok("POST", f"/contracts/{draft}/terminate", {"reason": "改为按单外包"}, user=BUYER_2)
    paid, disputed = _live_contract(rec, ctx), _live_contract(rec, ctx)
    ticket = rec.ok("POST", f"/contracts/{paid}/attachments", {
        "filename": "排班表.png", "content_type": "image/png", "size": 64}, user=PROVIDER_3)
    _put(ticket, b"\x89PNG" + b"0" * 60, "image/png")
    rec.ok("POST", f"/contracts/{paid}/messages", {
        "body": "排班表见附件", "file_ids": [ticket["file_id"]]}, user=PROVIDER_3)
    rec.ok("GET", f"/contracts/{paid}/messages", user=BUYER)
    rec.ok("GET", f"/contracts/{paid}/attachments/{ticket['file_id']}", user=BUYER)
    rec.ok("GET", "/contracts", user=BUYER)
    rec.ok("GET", "/contracts?as=provider", user=PROVIDER_3)
    clock.advance(8 * DAY)  # past the trial: its statement opens
    try:
        _sweep_contracts(rec)
        for cid, settle in ((paid, "confirm"), (disputed, "dispute")):
            rec.ok("GET", f"/contracts/{cid}", user=BUYER)
            sid = rec.ok("GET", f"/contracts/{cid}/statements", user=BUYER)["items"][0]["id"]
            base = f"/contracts/{cid}/statements/{sid}"
            rec.ok("POST", f"{base}/submit", {"sales": 1000000, "kpis": {"响应时间": "25秒"}},
                   user=PROVIDER_3)
            if settle == "confirm":
                rec.ok("POST", f"{base}/confirm", user=BUYER)
            else:
                rec.ok("POST", f"{base}/dispute", {"reason": "响应时间不达标"}, user=BUYER)
                rec.op("GET", "/admin/contracts?statement_status=disputed")
                rec.op("POST", f"/admin/contracts/{cid}/statements/{sid}/resolve",
                       {"amount": 40000, "note": "按考核扣减"})
            rec.ok("POST", f"{base}/pay", user=BUYER)
    finally:
        clock.advance(-8 * DAY)


def inquiries(rec, ctx):
    """咨询 before ordering: a buyer asks, the provider answers and makes a custom offer
    of an order; another inquiry is answered with a contract the provider signed."""
    iid = rec.ok("POST", f"/services/{ctx['negotiable']}/inquiries",
                 {"body": "您好，双十一首页三天内能交付吗？"}, user=BUYER)["id"]
    rec.ok("POST", f"/inquiries/{iid}/messages", {"body": "可以，三天交付，报价880元"},
           user=PROVIDER)
    rec.ok("GET", f"/inquiries/{iid}", user=BUYER)
    rec.ok("GET", "/inquiries?as=buyer", user=BUYER)
    rec.ok("GET", "/inquiries?as=provider", user=PROVIDER)
    rec.ok("POST", f"/inquiries/{iid}/offer", {
        "amount": 88000, "requirement": "双十一首页+两张详情页，红色主题",
        "due_at": clock.to_iso(clock.now() + timedelta(days=7))}, user=PROVIDER)
    other = rec.ok("POST", f"/services/{ctx['service']}/inquiries",
                   {"body": "想外包客服，按月结算可以吗？"}, user=BUYER_2)["id"]
    rec.ok("POST", f"/inquiries/{other}/offer", {"contract": {
        "requirement": "天猫店售前售后，三人两班", "terms": _terms()}}, user=PROVIDER)


def answer_files(rec, ctx):
    """A would-be buyer uploads a file to answer a service's question before ordering."""
    data = b"%PDF-1.4 brand book"
    ticket = rec.ok("POST", f"/services/{ctx['service']}/answer-files", {
        "filename": "品牌手册.pdf", "content_type": "application/pdf", "size": len(data)},
        user=BUYER)
    _put(ticket, data, "application/pdf")


def after_sale(rec, ctx):
    """售后: a dispute with evidence from both sides, one withdrawn by its opener; on the
    completed order the buyer's follow-up, the provider's reply, an operator hiding text."""

    for withdrawn in (False, True):
        oid = _place(rec, ctx, "service")
        rec.ok("POST", f"/orders/{oid}/pay", {}, user=BUYER)
        rec.ok("POST", f"/orders/{oid}/accept", {}, user=PROVIDER)
        rec.ok("POST", f"/orders/{oid}/dispute", {"reason": "交付物与需求不符"}, user=BUYER)
        if withdrawn:
            rec.ok("POST", f"/orders/{oid}/dispute/withdraw", user=BUYER)
            continue
        rec.ok("POST", f"/orders/{oid}/evidence", {"statement": "首页没有用品牌红"}, user=BUYER)
        rec.ok("POST", f"/orders/{oid}/evidence", {"statement": "买家中途改了需求，聊天记录为证"},
               user=PROVIDER)
        rec.ok("GET", f"/orders/{oid}/evidence?limit=100", user=BUYER)
    done = ctx["completed"]
    rec.ok("POST", f"/orders/{done}/reviews/buyer/follow-up", {"body": "用了一个月，转化率明显提升"},
           user=BUYER)
    rec.ok("POST", f"/orders/{done}/reviews/provider/reply", {"body": "谢谢，合作愉快"}, user=BUYER)
    rec.op("POST", f"/admin/orders/{done}/reviews/buyer/hide", {"reason": "含有联系方式"})


def trust(rec, ctx):
    """信任: a provider's licence scan an operator downloads; a content picture checked."""

    licence = b"%PDF-1.4 business licence scan"
    doc = rec.ok("POST", "/providers/me/documents", {
        "kind": "business_license", "filename": "营业执照.pdf", "content_type": "application/pdf",
        "size": len(licence)}, user=PROVIDER)
    _put(doc, licence, "application/pdf")
    rec.op("GET", f"/admin/providers/{PROVIDER}/documents/{doc['document_id']}")
    picture = logo_png(6)
    sid = ctx["service"]
    ticket = rec.ok("POST", f"/services/{sid}/images", {"content_type": "image/png",
                                                       "size": len(picture)}, user=PROVIDER)
    _put(ticket, picture, "image/png")
    rec.ok("POST", f"/services/{sid}/images/{ticket['image_id']}/check", user=PROVIDER)


def admin_campaigns(rec, ctx):
    ctx["campaign"]
    rec.op("GET", "/admin/campaigns")


STEPS = [contracts, inquiries, answer_files, after_sale, trust, admin_campaigns]


def email_verified(rec, ctx):
    """The buyer opens the confirmation link the e-mail channel's mail carries (the local
    stage writes mail to the run's data dir, bench.env)."""
    import re
    from pathlib import Path
    from urllib.parse import quote, unquote

    from chalicelib import settings

    rec.ok("PUT", "/me/channels", {"email": "shop@example.com"}, user=BUYER)
    mails = sorted((Path(settings.get().local_data_dir) / "mail").glob("*-verify-*.eml"),
                   key=lambda p: p.stat().st_mtime)
    if not mails:

        raise StepFailed("no confirmation mail was written")
    token = unquote(re.search(r"\?token=(\S+)", mails[-1].read_text()).group(1))
    rec.ok("GET", f"/me/channels/email/verify?token={quote(token)}")
