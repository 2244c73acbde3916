"""Disputes the parties end themselves (issue 24), in real headless Chromium against the
local stack: a dispute opened, evidence given by both sides and seen by both, then
withdrawn by its opener (the order's deadline is shown again); and a dispute settled by
a cancel the provider proposes and the buyer accepts."""
import time
from datetime import datetime, timedelta, timezone

import requests
from playwright.sync_api import expect

from tests.browser.test_stories import Api, _place_and_pay


def _accepted_order(stack, requirement: str) -> str:
    """An order of 旗舰店铺首页装修 paid and accepted, through the API."""
    buyer, provider = Api(stack, "buyer-1"), Api(stack, "demo-xiaomei")
    service = next(s for s in buyer("GET", "/services", q="装修")["items"]
                   if s["title"] == "旗舰店铺首页装修")
    due = (datetime.now(timezone.utc) + timedelta(days=10)).isoformat()
    order = buyer("POST", "/orders", {"service_id": service["id"], "requirement": requirement,
                                      "due_at": due})
    paying = buyer("POST", f"/orders/{order['id']}/pay", {})
    if paying["payment"]["status"] == "pending":  # the stand-in cashier confirms once opened
        requests.get(paying["payment"]["redirect_url"], timeout=10)
    deadline = time.monotonic() + 20
    while buyer("GET", f"/orders/{order['id']}")["status"] != "awaiting_provider":
        assert time.monotonic() < deadline, "the payment was never confirmed"
        time.sleep(0.3)
    provider("POST", f"/orders/{order['id']}/accept", {})
    return order["id"]


def test_both_sides_give_evidence_and_the_opener_withdraws_the_dispute(person, tmp_path):
    buyer = person("buyer-1")
    order_id = _place_and_pay(buyer, "店庆活动页，三天内要")
    page = buyer.page
    expect(page.get_by_text("服务商确认截止")).to_be_visible()
    page.get_by_placeholder("纠纷原因").fill("服务商迟迟不确认")
    page.get_by_test_id("dispute").click()
    expect(page.get_by_test_id("order-status")).to_have_text("纠纷处理中")
    dispute = page.get_by_test_id("dispute")
    expect(dispute.get_by_test_id("evidence-until")).to_contain_text("举证截止")
    expect(page.get_by_text("服务商确认截止")).to_have_count(0)  # timers stop
    shot = tmp_path / "沟通截图.txt"
    shot.write_text("买家 10:02 已付款，请确认", encoding="utf-8")
    page.get_by_test_id("evidence-statement").fill("付款两天了，服务商一直没有确认")
    page.get_by_test_id("evidence-file").set_input_files(str(shot))
    page.get_by_test_id("submit-evidence").click()
    expect(dispute.get_by_test_id("evidence-buyer")).to_contain_text("一直没有确认")
    expect(dispute.get_by_test_id("evidence-buyer")).to_contain_text("沟通截图.txt")

    provider = person("demo-xiaomei")
    page = provider.open(f"orders/{order_id}")
    dispute = page.get_by_test_id("dispute")
    expect(dispute.get_by_test_id("evidence-buyer")).to_contain_text("沟通截图.txt")
    expect(dispute.get_by_test_id("withdraw-dispute")).to_have_count(0)  # not the opener's
    page.get_by_test_id("evidence-statement").fill("周末不接单，店铺公告已写明")
    page.get_by_test_id("submit-evidence").click()
    expect(dispute.get_by_test_id("evidence-provider")).to_contain_text("店铺公告已写明")
    provider.shot("order-dispute-evidence")

    page = buyer.open(f"orders/{order_id}")
    dispute = page.get_by_test_id("dispute")
    expect(dispute.get_by_test_id("evidence-provider")).to_contain_text("店铺公告已写明")
    dispute.get_by_test_id("withdraw-dispute").click()
    expect(page.get_by_test_id("order-status")).to_have_text("待服务商确认")
    expect(page.get_by_text("服务商确认截止")).to_be_visible()  # the window runs again
    expect(page.get_by_test_id("dispute-withdrawn")).to_contain_text("已由发起方撤销")
    expect(page.get_by_test_id("timeline")).to_contain_text("撤销纠纷")
    expect(page.get_by_test_id("evidence-statement")).to_have_count(0)


def test_the_parties_settle_a_dispute_with_a_cancel(person, stack):
    order_id = _accepted_order(stack, "详情页三张，风格参考首页")
    Api(stack, "buyer-1")("POST", f"/orders/{order_id}/dispute", {"reason": "进度太慢"})

    provider = person("demo-xiaomei")
    page = provider.open(f"orders/{order_id}")
    expect(page.get_by_test_id("order-status")).to_have_text("纠纷处理中")
    # Only a cancel settles a dispute: the other kinds are not offered.
    expect(page.get_by_test_id("propose-extension")).to_have_count(0)
    page.get_by_test_id("proposal-refund").fill("500")
    page.get_by_test_id("proposal-note").fill("退一部分，已做的首页稿归您")
    page.get_by_test_id("propose").click()
    expect(page.get_by_test_id("open-proposal")).to_contain_text("退款给买家 ¥500.00")

    buyer = person("buyer-1")
    page = buyer.open(f"orders/{order_id}")
    offer = page.get_by_test_id("open-proposal")
    expect(offer).to_contain_text("已做的首页稿归您")
    buyer.shot("order-dispute-settle")
    offer.get_by_test_id("accept-proposal").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已取消")
    expect(page.get_by_test_id("escrow")).to_contain_text("已退款 ¥500.00")
    expect(page.get_by_test_id("escrow")).to_contain_text("已放款 ¥380.00")
