"""What people do in the console, in real headless Chromium against the real local
stack: the README's story end to end, talking and agreeing on an order, the provider's
payouts, and the operator's desk."""
import re
import time
from datetime import datetime, timedelta, timezone

import requests
from playwright.sync_api import expect


class Api:
    """One user calling the stack's API directly: setting up what a story needs but does
    not show (an order already approved), so the browser only does what is under test."""

    def __init__(self, stack, sub: str, roles: list | None = None):
        self.url = stack.url
        token = requests.post(self.url + "/_local/token", json={"sub": sub, "roles": roles or []},
                              timeout=10).json()["token"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, body: dict | None = None, **params) -> dict:
        answer = self.session.request(method, self.url + path, json=body, params=params, timeout=10)
        assert answer.ok, (method, path, answer.status_code, answer.text)
        return answer.json()


def _approved_order(stack, requirement: str, title: str = "旗舰店铺首页装修",
                    provider_id: str = "demo-xiaomei", q: str = "装修") -> dict:
    """An order of 旗舰店铺首页装修 (or another demo service) paid, accepted, delivered and
    approved, through the API."""
    buyer, provider = Api(stack, "buyer-1"), Api(stack, provider_id)
    service = next(s for s in buyer("GET", "/services", q=q)["items"] if s["title"] == title)
    due = (datetime.now(timezone.utc) + timedelta(days=10)).isoformat()
    order = buyer("POST", "/orders", {"service_id": service["id"], "requirement": requirement, "due_at": due})
    paying = buyer("POST", f"/orders/{order['id']}/pay", {})
    if paying["payment"]["status"] == "pending":  # the stand-in cashier confirms once opened
        requests.get(paying["payment"]["redirect_url"], timeout=10)
    deadline = time.monotonic() + 20
    while buyer("GET", f"/orders/{order['id']}")["status"] != "awaiting_provider":
        assert time.monotonic() < deadline, "the payment was never confirmed"
        time.sleep(0.3)
    provider("POST", f"/orders/{order['id']}/accept", {})
    final = b"final design"
    ticket = provider("POST", f"/orders/{order['id']}/deliverables",
                      {"filename": "final.txt", "content_type": "text/plain", "size": len(final)})
    sent = requests.post(ticket["upload"]["url"], data=ticket["upload"]["fields"],
                         files={"file": ("final.txt", final, "text/plain")}, timeout=10)
    assert sent.ok, sent.text
    provider("POST", f"/orders/{order['id']}/deliver", {"file_ids": [ticket["file_id"]]})
    return buyer("POST", f"/orders/{order['id']}/approve", {})


def _order_id(page) -> str:
    page.wait_for_url(re.compile(r"#/orders/ord_"))
    return page.url.rsplit("/", 1)[1]


def _place_and_pay(buyer, requirement: str) -> str:
    page = buyer.open("")
    page.get_by_test_id("search-q").fill("装修")
    page.get_by_role("button", name="搜索").click()
    page.get_by_test_id("service-card").filter(has_text="旗舰店铺首页装修").click()
    expect(page.get_by_test_id("service-title")).to_have_text("旗舰店铺首页装修")
    page.get_by_test_id("requirement").fill(requirement)
    page.get_by_test_id("place-order").click()
    order_id = _order_id(page)
    expect(page.get_by_test_id("order-status")).to_have_text("待付款")
    page.get_by_test_id("pay").click()
    # The console sends the buyer to the gateway's cashier (the local Alipay stand-in),
    # which takes the payment and notifies the API; the buyer then comes back.
    expect(page.get_by_text("付款成功").first).to_be_visible(timeout=15000)
    _back_until(buyer, f"orders/{order_id}", "待服务商确认")
    return order_id


def _back_until(person, fragment: str, status: str, seconds: float = 20) -> None:
    """Open the order again until the gateway's notification has landed."""
    deadline = time.monotonic() + seconds
    while True:
        page = person.open(fragment)
        shown = page.get_by_test_id("order-status")
        expect(shown).to_be_visible()
        if shown.inner_text() == status or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(shown).to_have_text(status)


def test_a_buyer_orders_and_pays_the_provider_delivers_and_the_buyer_approves(person, tmp_path):
    buyer = person("buyer-1")
    page = buyer.open("")
    expect(page.get_by_test_id("service-card").first).to_be_visible()
    expect(page.locator(".card img.logo").first).to_have_js_property("naturalWidth", 80)
    buyer.shot("market")
    page.get_by_test_id("service-card").filter(has_text="旗舰店铺首页装修").click()
    expect(page.get_by_test_id("order-form")).to_be_visible()
    buyer.shot("service")

    order_id = _place_and_pay(buyer, "双十一首页，红色主题，突出满减活动")
    expect(buyer.page.get_by_test_id("escrow")).to_contain_text("托管中 ¥880.00")
    buyer.shot("order-paid")

    provider = person("demo-xiaomei")
    page = provider.open("provider/orders")
    page.get_by_role("button", name="待服务商确认").click()
    # This story's order by its link (other stories on the same stack order the same
    # service, so the first row is not necessarily this one).
    page.get_by_test_id("orders").locator(f'a[href$="{order_id}"]').click()
    assert _order_id(page) == order_id
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("order-status")).to_have_text("等待上传终稿")
    final = tmp_path / "首页设计稿.txt"
    final.write_text("首页设计稿 第一版", encoding="utf-8")
    page.get_by_test_id("deliver-file").set_input_files(str(final))
    page.get_by_test_id("deliver").click()
    expect(page.get_by_test_id("order-status")).to_have_text("验收中")
    expect(page.get_by_test_id("deliverables")).to_contain_text("首页设计稿.txt")
    provider.shot("provider-delivered")

    page = buyer.open(f"orders/{order_id}")
    expect(page.get_by_test_id("order-status")).to_have_text("验收中")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("order-status")).to_have_text("验收通过")
    expect(page.get_by_test_id("escrow")).to_contain_text("已放款 ¥880.00")
    expect(page.get_by_test_id("timeline")).to_contain_text("验收通过")
    buyer.shot("order-completed")

    page = provider.open("provider")
    expect(page.get_by_test_id("balance")).not_to_have_text("¥0.00")
    provider.shot("provider-desk")


def test_only_allowed_actions_show_and_a_refusal_is_explained_in_words(person, stack):
    buyer = person("buyer-1")
    order_id = _place_and_pay(buyer, "再来一单，看看取消")
    page = buyer.page
    # Paid, awaiting the provider: the buyer may dispute or propose, not approve or pay.
    expect(page.get_by_test_id("dispute")).to_be_visible()
    expect(page.get_by_test_id("approve")).to_have_count(0)
    expect(page.get_by_test_id("pay")).to_have_count(0)
    # The provider rejects it meanwhile; the buyer's page still offers the dispute.
    Api(stack, "demo-xiaomei")("POST", f"/orders/{order_id}/reject", {"reason": "档期已满"})
    page.get_by_placeholder("纠纷原因").fill("服务商不回复")
    page.get_by_test_id("dispute").click()
    expect(page.get_by_role("alert")).to_contain_text("订单现在是「已拒绝」，不能这样操作")
    expect(page.get_by_role("alert")).not_to_contain_text("INVALID_TRANSITION")


def test_an_operator_approves_an_application(person):
    applicant = person("provider-9")
    page = applicant.open("provider")
    expect(page.get_by_test_id("provider-status")).to_have_text("未申请")
    page.get_by_test_id("display_name").fill("巧手装修工作室")
    page.get_by_test_id("company_name").fill("杭州巧手网络科技有限公司")
    page.get_by_test_id("contact").fill("13800000000")
    page.get_by_test_id("intro").fill("专注淘宝天猫店铺装修十年")
    page.get_by_test_id("apply").click()
    expect(page.get_by_test_id("provider-status")).to_have_text("审核中")

    operator = person("op-1")
    page = operator.open("admin/applications")
    row = page.get_by_test_id("application-provider-9")
    expect(row).to_contain_text("巧手装修工作室")
    operator.shot("operator-applications")
    row.get_by_test_id("approve-provider").click()
    expect(row).to_have_count(0)

    page = applicant.open("provider")
    expect(page.get_by_test_id("provider-status")).to_have_text("已通过")

    # Suspended, then reinstated: the applicant's status follows each decision.
    page = operator.open("admin/applications")
    page.get_by_role("button", name="已通过").click()
    row = page.get_by_test_id("application-provider-9")
    row.get_by_placeholder("暂停原因").fill("资质材料过期")
    row.get_by_test_id("suspend-provider").click()
    expect(row).to_have_count(0)
    expect(applicant.open("provider").get_by_test_id("provider-status")).to_have_text("已暂停")
    page.get_by_role("button", name="已暂停").click()
    page.get_by_test_id("application-provider-9").get_by_test_id("reinstate-provider").click()
    expect(page.get_by_test_id("application-provider-9")).to_have_count(0)
    expect(applicant.open("provider").get_by_test_id("provider-status")).to_have_text("已通过")


def test_an_operator_finds_a_dispute_in_the_queue_and_resolves_it(person):
    buyer = person("buyer-1")
    order_id = _place_and_pay(buyer, "需要紧急上线，可能来不及")
    page = buyer.page
    page.get_by_placeholder("纠纷原因").fill("服务商一直不确认")
    page.get_by_test_id("dispute").click()
    expect(page.get_by_test_id("order-status")).to_have_text("纠纷处理中")

    operator = person("op-1")
    page = operator.open("admin/disputes")
    queued = page.get_by_test_id(f"queued-{order_id}")
    expect(queued).to_contain_text("服务商一直不确认")
    expect(queued).to_contain_text("¥880.00")
    operator.shot("operator-dispute-queue")
    queued.get_by_role("link", name="旗舰店铺首页装修").click()
    expect(page.get_by_test_id("order-status")).to_have_text("纠纷处理中")
    # An operator may write on a disputed order; both parties read it there. (Typing
    # waits for the messages to load: the list appearing shifts the send button.)
    expect(page.get_by_test_id("messages")).to_contain_text("还没有留言")
    page.get_by_test_id("message-body").fill("小二已介入，请双方提供沟通记录")
    page.get_by_test_id("send-message").click()
    expect(page.get_by_test_id("messages")).to_contain_text("小二已介入")
    page.get_by_test_id("refund").fill("600")
    expect(page.get_by_text("放款给服务商：¥280.00")).to_be_visible()
    page.get_by_test_id("resolve-note").fill("按已完成部分放款，其余退回")
    operator.shot("operator-dispute")
    page.get_by_test_id("resolve").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已裁决")
    expect(page.get_by_test_id("timeline")).to_contain_text("按已完成部分放款，其余退回")
    expect(page.get_by_test_id("escrow")).to_contain_text("已退款 ¥600.00")
    expect(page.get_by_test_id("escrow")).to_contain_text("已放款 ¥280.00")

    page = operator.open("admin/disputes")
    expect(page.get_by_test_id("disputes").or_(page.get_by_text("没有待处理的纠纷"))).to_be_visible()
    expect(page.get_by_test_id(f"queued-{order_id}")).to_have_count(0)
    page.get_by_test_id("queue-resolved").click()
    expect(page.get_by_test_id(f"queued-{order_id}")).to_contain_text("已裁决")

    page = buyer.open(f"orders/{order_id}")
    expect(page.get_by_test_id("messages")).to_contain_text("小二已介入")

    page = operator.open("admin/ledger")
    expect(page.get_by_test_id("ledger")).to_contain_text("账本平衡")


def test_the_market_works_at_phone_width(person):
    buyer = person("buyer-1", phone=True)
    page = buyer.open("")
    expect(page.get_by_test_id("service-card").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    buyer.shot("market-phone")


def test_buyer_and_provider_exchange_messages_and_agree_an_extension(person, tmp_path):
    buyer = person("buyer-1", phone=True)
    order_id = _place_and_pay(buyer, "详情页改版，配色见留言里的附件")
    page = buyer.page
    reference = tmp_path / "配色参考.txt"
    reference.write_text("主色 #E4393C", encoding="utf-8")
    expect(page.get_by_test_id("messages")).to_contain_text("还没有留言")  # loaded: no shift
    page.get_by_test_id("message-body").fill("配色请参考附件，主色用品牌红")
    page.get_by_test_id("message-file").set_input_files(str(reference))
    page.get_by_test_id("send-message").click()
    expect(page.get_by_test_id("message")).to_contain_text("主色用品牌红")
    expect(page.get_by_test_id("messages")).to_contain_text("配色参考.txt")

    provider = person("demo-xiaomei")
    page = provider.open(f"orders/{order_id}")
    expect(page.get_by_test_id("messages")).to_contain_text("配色请参考附件，主色用品牌红")
    expect(page.get_by_test_id("messages")).to_contain_text("配色参考.txt")
    page.get_by_test_id("message-body").fill("收到，素材晚到了，想延期一周")
    page.get_by_test_id("send-message").click()
    expect(page.get_by_test_id("message")).to_have_count(2)
    page.get_by_test_id("proposal-due").fill("2027-01-15T18:00")
    page.get_by_test_id("proposal-note").fill("素材晚到了三天")
    page.get_by_test_id("propose").click()
    proposal = page.get_by_test_id("open-proposal")
    expect(proposal).to_contain_text("延期")
    expect(proposal.get_by_test_id("proposal-status")).to_have_text("待回应")
    expect(proposal.get_by_test_id("accept-proposal")).to_have_count(0)  # not the author's to accept
    provider.shot("order-proposal")

    page = buyer.open(f"orders/{order_id}")
    expect(page.get_by_test_id("messages")).to_contain_text("想延期一周")
    expect(page.get_by_test_id("unread-count")).to_be_visible()
    proposal = page.get_by_test_id("open-proposal")
    expect(proposal).to_contain_text("素材晚到了三天")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the order page scrolls sideways on a phone ({width}px)"
    buyer.shot("order-talk-phone")
    proposal.get_by_test_id("accept-proposal").click()
    expect(page.get_by_test_id("proposal").first.get_by_test_id("proposal-status")).to_have_text("已同意")
    expect(page.get_by_test_id("open-proposal")).to_have_count(0)
    expect(page.get_by_test_id("due-at")).to_contain_text("2027/1/15 18:00")
    expect(page.get_by_test_id("timeline")).to_contain_text("同意延期")

    # The provider's message and proposal were notified to the buyer; reading them all
    # empties the count.
    page = buyer.open("notifications")
    expect(page.get_by_test_id("notifications")).to_contain_text("申请延期")
    buyer.shot("notifications-phone")
    page.get_by_test_id("read-all").click()
    expect(page.get_by_test_id("unread-count")).to_have_count(0)


def test_a_provider_sets_a_payout_account_and_withdraws(person, stack):
    _approved_order(stack, "首页装修，验收后提现")
    provider = person("demo-xiaomei")
    page = provider.open("provider")
    page.get_by_test_id("to-money").click()
    available = page.get_by_test_id("available")
    expect(available).not_to_have_text("¥0.00")
    expect(page.get_by_text("还没有提现")).to_be_visible()
    page.get_by_test_id("withdraw-amount").fill("800")
    page.get_by_test_id("withdraw").click()
    expect(page.get_by_role("alert")).to_contain_text("请先设置收款账号")
    page.get_by_test_id("payout-account").fill("13800138000")
    page.get_by_test_id("payout-name").fill("张小美")
    page.get_by_test_id("save-payout").click()
    expect(page.get_by_test_id("payout-shown")).to_contain_text("13800138000 · 张小美")
    page.get_by_test_id("withdraw").click()
    rows = page.get_by_test_id("withdrawal")
    expect(rows).to_have_count(1)
    newest = rows.first
    expect(newest).to_contain_text("¥800.00")
    expect(newest).to_contain_text("138****8000")
    expect(page.get_by_test_id("statement")).to_contain_text("-¥800.00")
    # The transfer is the scheduled job's (every second here): the withdrawal turns paid.
    deadline = time.monotonic() + 20
    while newest.get_by_test_id("withdrawal-status").inner_text() != "已到账" and time.monotonic() < deadline:
        time.sleep(0.5)
        page.get_by_test_id("refresh-money").click()
    expect(newest.get_by_test_id("withdrawal-status")).to_have_text("已到账")
    provider.shot("provider-money")
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the payouts page scrolls sideways on a phone ({width}px)"


def test_the_operator_checks_payments_against_the_ledger(person):
    operator = person("op-1")
    page = operator.open("admin/reconciliation")
    report = page.get_by_test_id("reconciliation")
    expect(report).to_contain_text("已付款")
    expect(report).to_contain_text("渠道与账本一致，没有差异")
    operator.shot("operator-reconciliation")


def test_a_negotiable_price_waits_for_the_provider(person):
    buyer = person("buyer-1")
    page = buyer.open("")
    page.get_by_test_id("service-card").filter(has_text="原创品牌LOGO设计").click()
    page.get_by_test_id("requirement").fill("茶饮品牌LOGO，简洁")
    page.get_by_test_id("offer").fill("400")
    page.get_by_test_id("place-order").click()
    order_id = _order_id(page)
    expect(page.get_by_test_id("price-agreed")).to_have_text("等待服务商确认")
    # Not payable yet: the order's allowed_actions leave the pay button out.
    expect(page.get_by_test_id("set-price")).to_be_visible()
    expect(page.get_by_test_id("pay")).to_have_count(0)

    provider = person("demo-xiaomei")
    page = provider.open(f"orders/{order_id}")
    expect(page.get_by_test_id("price")).to_contain_text("¥400.00")
    page.get_by_test_id("confirm-price").click()
    expect(page.get_by_test_id("price-agreed")).to_have_text("服务商已确认")
    provider.shot("order-price")

    page = buyer.open(f"orders/{order_id}")
    expect(page.get_by_test_id("price-agreed")).to_have_text("服务商已确认")
    expect(page.get_by_test_id("pay")).to_be_visible()


def test_a_buyer_asks_first_the_provider_offers_and_the_buyer_pays(person):
    """询单 → 定制报价 → 付款: no order exists until the provider offers one."""
    buyer = person("buyer-1")
    page = buyer.open("")
    page.get_by_test_id("search-q").fill("装修")
    page.get_by_role("button", name="搜索").click()
    page.get_by_test_id("service-card").filter(has_text="旗舰店铺首页装修").click()
    page.get_by_test_id("ask-body").fill("首页加两张详情页，能一起做吗？大概多少钱？")
    page.get_by_test_id("ask-send").click()
    page.wait_for_url(re.compile(r"#/inquiries/inq_"))
    inquiry_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("inquiry-message")).to_have_count(1)

    provider = person("demo-xiaomei")
    page = provider.open("inquiries")
    page.get_by_test_id("inquiries-as-provider").click()
    page.get_by_test_id("inquiry-row").filter(has_text="旗舰店铺首页装修").first \
        .get_by_role("link").click()
    page.get_by_test_id("inquiry-reply").fill("可以一起做，打包价1200元，七天交付")
    page.get_by_test_id("inquiry-send").click()
    expect(page.get_by_test_id("inquiry-message")).to_have_count(2)
    page.get_by_test_id("offer-amount").fill("1200")
    page.get_by_test_id("offer-requirement").fill("首页+两张详情页，红色主题")
    page.get_by_test_id("offer-send").click()
    expect(page.get_by_test_id("offer-order")).to_be_visible()
    provider.shot("inquiry-offer")

    page = buyer.open(f"inquiries/{inquiry_id}")
    expect(page.get_by_test_id("inquiry-message")).to_have_count(2)
    page.get_by_test_id("to-offer-order").click()
    order_id = _order_id(page)
    expect(page.get_by_test_id("order-amount")).to_contain_text("¥1200.00")
    expect(page.get_by_test_id("order-choice")).to_contain_text("定制报价")
    expect(page.get_by_test_id("order-status")).to_have_text("待付款")
    page.get_by_test_id("pay").click()
    expect(page.get_by_text("付款成功").first).to_be_visible(timeout=15000)
    _back_until(buyer, f"orders/{order_id}", "待服务商确认")


def test_a_provider_answers_an_inquiry_with_a_contract(person):
    """询单 → 合同报价 → 签约: the provider's offer is a contract it signed; the buyer
    follows the inquiry to it and signs, which makes it binding."""
    buyer = person("buyer-1")
    page = buyer.open("")
    page.get_by_test_id("service-card").filter(has_text="7x24小时客服外包").click()
    page.get_by_test_id("ask-body").fill("想外包售前客服，三人两班，按月结算可以吗？")
    page.get_by_test_id("ask-send").click()
    page.wait_for_url(re.compile(r"#/inquiries/inq_"))
    inquiry_id = page.url.rsplit("/", 1)[1]

    provider = person("demo-yunkefu")
    page = provider.open(f"inquiries/{inquiry_id}")
    page.get_by_test_id("contract-offer-form").locator("summary").click()
    page.get_by_test_id("contract-offer-requirement").fill("售前客服三人两班，按月结算")
    page.get_by_test_id("t-base").fill("3000")
    page.get_by_test_id("contract-offer-send").click()
    page.wait_for_url(re.compile(r"#/contracts/ctr_"))
    contract_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("contract-status")).to_have_text("洽谈中")
    expect(page.get_by_text("已签：服务商")).to_be_visible()

    page = buyer.open(f"inquiries/{inquiry_id}")
    page.get_by_test_id("to-offer-contract").click()
    page.wait_for_url(re.compile(f"#/contracts/{contract_id}"))
    expect(page.get_by_test_id("terms")).to_contain_text("底薪 ¥3000.00")
    page.get_by_test_id("sign").click()
    expect(page.get_by_test_id("contract-status")).to_have_text("培训考核中")


def test_a_buyer_orders_a_package_with_an_extra_and_answers_the_form(person, stack, tmp_path):
    """套餐 + 加购 + 需求表: the form's missing answer is refused by its own label; a file
    question is answered with a file the buyer picks, which the provider can then open."""
    from tests.api.catalog_support import APPLICATION, image_bytes

    provider, operator = Api(stack, "story-menu"), Api(stack, "op-1", roles=["operator"])
    provider("POST", "/providers/me/application", APPLICATION)
    operator("POST", "/admin/providers/story-menu/approve", {})
    service = provider("POST", "/services", {
        "title": "品牌海报设计", "category": "shop-decoration", "summary": "活动海报，三档可选",
        "content": "## 服务范围\n\n- 海报设计\n- 源文件交付", "pricing": "fixed", "price": 30000,
        "packages": [{"name": "基础版", "price": 30000, "delivery_days": 3, "revisions": 1},
                     {"name": "标准版", "price": 60000, "delivery_days": 5, "revisions": 3,
                      "description": "两版设计"}],
        "extras": [{"name": "加急24小时", "price": 20000}],
        "questions": [{"id": "poster_text", "label": "海报上的文字", "required": True},
                      {"id": "brand_book", "label": "品牌手册", "kind": "file"}]})
    logo = requests.put(f"{stack.url}/services/{service['id']}/logo", data=image_bytes(),
                        headers={**provider.session.headers, "Content-Type": "image/png"},
                        timeout=10)
    assert logo.ok, logo.text
    provider("POST", f"/services/{service['id']}/list", {})

    buyer = person("buyer-1")
    page = buyer.open(f"services/{service['id']}")
    expect(page.get_by_test_id("packages")).to_contain_text("修改 3 次")
    page.get_by_test_id("package-标准版").check()
    page.get_by_test_id("extra-加急24小时").check()
    page.get_by_test_id("requirement").fill("双十一活动海报")
    page.get_by_test_id("place-order").click()
    expect(page.get_by_role("alert")).to_contain_text("「海报上的文字」：必填")
    page.get_by_test_id("answer-poster_text").fill("双十一狂欢 全场五折")
    brand_book = tmp_path / "品牌手册.pdf"
    brand_book.write_bytes(b"%PDF-1.4 brand colours: red and gold")
    page.get_by_test_id("answer-brand_book").set_input_files(str(brand_book))
    page.get_by_test_id("place-order").click()
    order_id = _order_id(page)
    file_id = provider("GET", f"/orders/{order_id}")["answers"]["brand_book"]
    link = provider("GET", f"/orders/{order_id}/attachments/{file_id}")
    assert link["filename"] == "品牌手册.pdf"
    assert requests.get(link["url"], timeout=10).content == brand_book.read_bytes()
    expect(page.get_by_test_id("order-amount")).to_contain_text("¥800.00")
    expect(page.get_by_test_id("order-package")).to_contain_text("标准版")
    expect(page.get_by_test_id("order-extras")).to_contain_text("加急24小时")
    expect(page.get_by_test_id("order-answers")).to_contain_text("双十一狂欢 全场五折")
    buyer.shot("order-package")


def test_a_provider_writes_packages_and_adds_a_picture_to_the_content(person, stack, tmp_path):
    """The menu and a picture are the provider's to write; the API checks them."""
    from tests.api.catalog_support import image_bytes

    service = Api(stack, "demo-yunkefu")("POST", "/services", {
        "title": "主图设计", "category": "shop-decoration", "summary": "商品主图五张",
        "content": "## 案例", "pricing": "fixed", "price": 20000})
    provider = person("demo-yunkefu")
    page = provider.open(f"provider/services/{service['id']}")
    page.get_by_test_id("add-package").click()
    row = page.get_by_test_id("edit-package-0")
    row.get_by_placeholder("套餐名").fill("基础版")
    row.get_by_placeholder("价格（元）").fill("200")
    row.get_by_placeholder("修改次数（空为不限）").fill("2")
    page.get_by_test_id("save-menu").click()
    expect(page.get_by_test_id("service-menu")).to_contain_text("基础版 ¥200.00 · 3天 · 修改 2 次")
    picture = tmp_path / "case.png"
    picture.write_bytes(image_bytes(size=(300, 200)))
    page.get_by_test_id("picture").set_input_files(str(picture))
    page.get_by_test_id("upload-picture").click()
    expect(page.get_by_test_id("service-pictures").locator("img")).to_have_count(1)
def _contract_status_until(person, contract_id: str, status: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        page = person.open(f"contracts/{contract_id}")
        shown = page.get_by_test_id("contract-status")
        expect(shown).to_be_visible()
        if shown.inner_text() == status or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(shown).to_have_text(status)


def _statement_paid_in_browser(provider, buyer, contract_id: str, period: str, *,
                               sales: str) -> None:
    """The provider submits the period's statement with its sales; the buyer confirms
    it and pays it at the cashier, then sees it paid."""
    page = provider.open(f"contracts/{contract_id}")
    row = page.get_by_test_id(f"statement-{period}")
    row.get_by_test_id("sales").fill(sales)
    row.get_by_test_id("submit-statement").click()
    expect(row).to_contain_text("待买家确认")
    page = buyer.open(f"contracts/{contract_id}")
    row = page.get_by_test_id(f"statement-{period}")
    row.get_by_test_id("confirm-statement").click()
    expect(row).to_contain_text("待支付")
    row.get_by_test_id("pay-statement").click()
    expect(page.get_by_text("付款成功").first).to_be_visible(timeout=15000)
    deadline = time.monotonic() + 20
    while True:
        row = buyer.open(f"contracts/{contract_id}").get_by_test_id(f"statement-{period}")
        expect(row).to_be_visible()
        if "已支付" in row.inner_text() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(row).to_contain_text("已支付")


def test_a_contract_from_terms_to_a_paid_statement(person, stack):
    """客服外包 sold as a contract: proposed on the service page, signed by both, the
    deposit paid at the cashier, live after training, the trial's statement submitted
    by the provider, confirmed and paid by the buyer — and the page fits a phone."""
    buyer = person("buyer-1")
    page = buyer.open("")
    page.get_by_test_id("service-card").filter(has_text="7x24小时客服外包").click()
    form = page.get_by_test_id("contract-form")
    form.locator("summary").click()
    page.get_by_test_id("contract-requirement").fill("天猫旗舰店售前售后，两班倒")
    page.get_by_test_id("t-deposit").fill("1000")
    page.get_by_test_id("t-trial-days").fill("3")
    page.get_by_test_id("t-trial-fee").fill("500")
    page.get_by_test_id("t-commission").fill("2")
    page.get_by_test_id("create-contract").click()
    page.wait_for_url(re.compile(r"#/contracts/ctr_"))
    contract_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("contract-status")).to_have_text("洽谈中")
    page.get_by_test_id("sign").click()
    expect(page.get_by_test_id("sign")).to_have_count(0)

    provider = person("demo-yunkefu")
    page = provider.open("provider/contracts")
    page.get_by_test_id("contracts").get_by_role("link", name="7x24小时客服外包").first.click()
    page.get_by_test_id("sign").click()
    expect(page.get_by_test_id("contract-status")).to_have_text("待付定金")

    page = buyer.open(f"contracts/{contract_id}")
    page.get_by_test_id("pay-deposit").click()
    expect(page.get_by_text("付款成功").first).to_be_visible(timeout=15000)
    _contract_status_until(buyer, contract_id, "培训考核中")
    buyer.page.get_by_test_id("go-live").click()
    expect(buyer.page.get_by_test_id("contract-status")).to_have_text("试用期")
    expect(buyer.page.get_by_test_id("deposit")).to_contain_text("托管中 ¥1000.00")
    buyer.shot("contract-live")

    real_now = datetime.now(timezone.utc)
    try:
        # The trial's three days pass; the sweep opens its statement.
        requests.post(stack.url + "/_local/clock", json={"advance_seconds": 4 * 24 * 3600},
                      timeout=10)
        requests.post(stack.url + "/_local/sweeps", timeout=60)
        page = provider.open(f"contracts/{contract_id}")
        expect(page.get_by_test_id("contract-status")).to_have_text("服务中")
        page.get_by_test_id("sales").fill("0")
        page.get_by_test_id("submit-statement").click()
        expect(page.get_by_test_id("statements")).to_contain_text("待买家确认")

        page = buyer.open(f"contracts/{contract_id}")
        page.get_by_test_id("confirm-statement").first.click()
        expect(page.get_by_test_id("statements")).to_contain_text("待支付")
        page.get_by_test_id("pay-statement").click()
        expect(page.get_by_text("付款成功").first).to_be_visible(timeout=15000)
        deadline = time.monotonic() + 20
        while True:
            page = buyer.open(f"contracts/{contract_id}")
            expect(page.get_by_test_id("statements")).to_be_visible()
            if "已支付" in page.get_by_test_id("statements").inner_text() \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        expect(page.get_by_test_id("statements")).to_contain_text("已支付")
        buyer.shot("contract-statement-paid")

        # Two months go by, each settled as 次月结算上月: the sweep opens the month's
        # statement the day after it ends, the provider submits its sales, the buyer
        # confirms and pays at the cashier.
        api = Api(stack, "buyer-1")
        for _month in ("first", "second"):
            opens = api("GET", f"/contracts/{contract_id}")["deadlines"]["next_statement_on"]
            requests.post(stack.url + "/_local/clock", json={"now": f"{opens}T09:00:00+08:00"},
                          timeout=10)
            requests.post(stack.url + "/_local/sweeps", timeout=60)
            period = next(s for s in api("GET", f"/contracts/{contract_id}/statements")["items"]
                          if s["status"] == "open")["period_start"]
            _statement_paid_in_browser(provider, buyer, contract_id, period, sales="20000")
        statements = api("GET", f"/contracts/{contract_id}/statements")["items"]
        assert [s["status"] for s in statements] == ["paid", "paid", "paid"]
        assert [s["kind"] for s in statements] == ["trial", "regular", "regular"]
        # The second month is whole: its base and 2 % of the declared sales.
        assert statements[2]["amount"] == statements[2]["base"] + 2000000 * 200 // 10000
        buyer.shot("contract-second-month-paid")
        token = requests.post(stack.url + "/_local/token",
                              json={"sub": "op-1", "roles": ["operator"]}, timeout=10).json()
        check = requests.get(stack.url + "/admin/ledger/check", timeout=30,
                             headers={"Authorization": f"Bearer {token['token']}"}).json()
        assert check["violations"] == [] and check["sum"] == 0

        phone = person("buyer-1", phone=True)
        page = phone.open(f"contracts/{contract_id}")
        expect(page.get_by_test_id("contract-status")).to_have_text("服务中")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the contract page scrolls sideways on a phone ({width}px)"
    finally:
        requests.post(stack.url + "/_local/clock", json={"now": real_now.isoformat()}, timeout=10)
