"""What people do in the console, in real headless Chromium against the real local
stack: the README's story end to end, and the operator's desk."""
import re
import time

from playwright.sync_api import expect


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
    page.get_by_test_id("orders").get_by_role("link", name="旗舰店铺首页装修").first.click()
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


def test_a_refused_action_is_explained_in_words(person):
    buyer = person("buyer-1")
    order_id = _place_and_pay(buyer, "再来一单，看看取消")
    page = buyer.page
    page.get_by_test_id("approve").click()
    expect(page.get_by_role("alert")).to_contain_text("不能这样操作")
    expect(page.get_by_role("alert")).to_contain_text("INVALID_TRANSITION")
    assert order_id


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


def test_an_operator_resolves_a_dispute(person):
    buyer = person("buyer-1")
    order_id = _place_and_pay(buyer, "需要紧急上线，可能来不及")
    page = buyer.page
    page.get_by_placeholder("纠纷原因").fill("服务商一直不确认")
    page.get_by_test_id("dispute").click()
    expect(page.get_by_test_id("order-status")).to_have_text("纠纷处理中")

    operator = person("op-1")
    page = operator.open("admin/disputes")
    page.get_by_test_id("order-id").fill(order_id)
    page.get_by_role("button", name="打开订单").click()
    expect(page.get_by_test_id("order-status")).to_have_text("纠纷处理中")
    operator.shot("operator-dispute")
    page.get_by_test_id("refund").fill("880")
    page.get_by_test_id("resolve").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已裁决")
    expect(page.get_by_test_id("escrow")).to_contain_text("已退款 ¥880.00")

    page = operator.open("admin/ledger")
    expect(page.get_by_test_id("ledger")).to_contain_text("账本平衡")


def test_the_market_works_at_phone_width(person):
    buyer = person("buyer-1", phone=True)
    page = buyer.open("")
    expect(page.get_by_test_id("service-card").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    buyer.shot("market-phone")
