"""The console tells the whole truth: dates from the app's clock, a refused input that can
be corrected and sent (a new Idempotency-Key per intent), refusals in words, milestones
and deposits, the listing buttons a service's status allows, replies that appear at once,
and a campaign that says it was created."""
import time

import requests
from playwright.sync_api import expect

from tests.browser.test_stories import Api, _approved_order, _back_until, _order_id

FLAGSHIP = "旗舰店铺首页装修"  # the demo catalog's ¥880.00 fixed-price service


def _service_page(person, sub: str = "buyer-1"):
    buyer = person(sub)
    page = buyer.open("")
    page.get_by_test_id("search-q").fill("装修")
    page.get_by_role("button", name="搜索").click()
    page.get_by_test_id("service-card").filter(has_text=FLAGSHIP).click()
    expect(page.get_by_test_id("order-form")).to_be_visible()
    return buyer, page


def test_after_the_app_clock_moved_the_order_form_still_places_an_order(person, stack):
    # 11 days ahead: a default "10 days from the browser's now" would be in the app's past.
    requests.post(stack.url + "/_local/clock", json={"advance_seconds": 11 * 86400}, timeout=10)
    try:
        buyer, page = _service_page(person)
        expect(page.get_by_test_id("app-clock")).to_contain_text("已拨动")
        # A refusal of the input, in words (no code, no English) ...
        page.get_by_test_id("place-order").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("需求")
        expect(alert).not_to_contain_text("VALIDATION_FAILED")
        expect(alert).not_to_contain_text("required")
        # ... then the corrected input is a new intent: sent with a new key, it is placed.
        page.get_by_test_id("requirement").fill("大促首页，时钟拨动之后")
        page.get_by_test_id("place-order").click()
        _order_id(page)
        expect(page.get_by_test_id("order-status")).to_have_text("待付款")
    finally:
        requests.post(stack.url + "/_local/clock", json={"reset": True}, timeout=10)


def test_milestones_and_a_deposit_are_ordered_and_shown(person):
    buyer, page = _service_page(person)
    page.get_by_test_id("requirement").fill("分两期：定金加尾款")
    page.get_by_test_id("add-step").click()
    page.get_by_test_id("add-step").click()
    page.get_by_test_id("step-title-0").fill("定金")
    page.get_by_test_id("step-amount-0").fill("200")
    page.get_by_test_id("step-release-0").select_option("on_accept")
    page.get_by_test_id("step-title-1").fill("终稿")
    page.get_by_test_id("step-amount-1").fill("600")
    page.get_by_test_id("place-order").click()
    # The sum is refused with the amounts the API names in its details.
    expect(page.get_by_role("alert")).to_contain_text("须等于订单金额 ¥880.00")
    page.get_by_test_id("step-amount-1").fill("680")
    page.get_by_test_id("place-order").click()
    _order_id(page)
    steps = page.get_by_test_id("milestones")
    expect(steps).to_contain_text("定金")
    expect(steps).to_contain_text("¥200.00")
    expect(steps).to_contain_text("接单时放款（定金）")
    expect(steps).to_contain_text("¥680.00")
    expect(steps).to_contain_text("验收通过后放款")
    buyer.shot("order-milestones")


def test_a_refusal_names_the_orders_state_in_words(person, stack):
    buyer, page = _service_page(person)
    page.get_by_test_id("requirement").fill("付款之前服务商就拒绝了")
    page.get_by_test_id("place-order").click()
    order_id = _order_id(page)
    # The page must have read the order (with its pay button) before it is cancelled
    # behind its back; the URL changes before the order is fetched.
    expect(page.get_by_test_id("pay")).to_be_visible()
    Api(stack, "buyer-1")("POST", f"/orders/{order_id}/cancel", {})
    page.get_by_test_id("pay").click()  # the page still shows the button it was given
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("已取消")
    expect(alert).not_to_contain_text("cancelled")
    expect(alert).not_to_contain_text("INVALID_TRANSITION")


def test_a_provider_sees_only_the_listing_actions_the_status_allows(person):
    provider = person("demo-xiaomei")
    page = provider.open("provider")
    row = page.get_by_test_id("my-services").get_by_role("row").filter(has_text="原创品牌LOGO设计")
    expect(row.get_by_test_id("delist")).to_be_visible()
    expect(row.get_by_test_id("list")).to_have_count(0)
    expect(row.get_by_test_id("delete-service")).to_have_count(0)
    row.get_by_test_id("delist").click()
    expect(row.get_by_test_id("list")).to_be_visible()
    expect(row.get_by_test_id("delete-service")).to_be_visible()
    expect(row.get_by_test_id("delist")).to_have_count(0)
    row.get_by_test_id("list").click()  # as it was, for the other stories
    expect(row.get_by_test_id("delist")).to_be_visible()


def test_a_reply_to_a_review_appears_without_a_reload(person, stack):
    order = _approved_order(stack, "评价之后回复")
    Api(stack, "buyer-1")("POST", f"/orders/{order['id']}/reviews", {"rating": "good", "comment": "做得很用心"})
    Api(stack, "demo-xiaomei")("POST", f"/orders/{order['id']}/reviews",
                               {"rating": "good", "comment": "沟通顺畅的买家"})
    provider = person("demo-xiaomei")
    page = provider.open(f"orders/{order['id']}")
    reviews = page.get_by_test_id("reviews")
    expect(reviews).to_contain_text("做得很用心")
    reviews.get_by_placeholder("回复").fill("谢谢支持，欢迎再来")
    reviews.get_by_test_id("reply-review").click()
    expect(reviews).to_contain_text("服务商回复：谢谢支持，欢迎再来")
    # Everyone reads it on the provider's public reviews, from any of its services.
    buyer, page = _service_page(person)
    expect(page.get_by_test_id("provider-reviews")).to_contain_text("做得很用心")


def test_a_future_campaign_says_it_was_created(person):
    operator = person("op-1")
    page = operator.open("admin/campaigns")
    page.get_by_label("名称").fill("明年春季体验季")
    page.get_by_label("开始").fill("2031-03-01T00:00")
    page.get_by_label("结束").fill("2031-03-31T00:00")
    page.get_by_test_id("create-campaign").click()
    expect(page.get_by_test_id("campaign-created")).to_contain_text("明年春季体验季")
    expect(page.get_by_test_id("campaign-created")).to_contain_text("2031")
    # And it is listed, as not started yet, now and after a reload.
    for shown in (page, operator.open("admin/campaigns")):
        row = shown.get_by_test_id("campaign-row").filter(has_text="明年春季体验季")
        expect(row).to_contain_text("未开始")


def test_the_cashier_leads_back_to_the_order(person):
    buyer, page = _service_page(person)
    page.get_by_test_id("requirement").fill("付款后从收银台回来")
    page.get_by_test_id("place-order").click()
    order_id = _order_id(page)
    page.get_by_test_id("pay").click()
    expect(page.get_by_text("付款成功").first).to_be_visible(timeout=15000)
    page.get_by_role("link", name="返回商户").click()
    page.wait_for_url(f"**/console/#/orders/{order_id}")
    expect(page.get_by_test_id("order-status")).to_be_visible()
    _back_until(buyer, f"orders/{order_id}", "待服务商确认")


def test_a_service_content_is_rendered_from_markdown(person):
    buyer, page = _service_page(person)
    content = page.get_by_test_id("service-content")
    expect(content.locator("h3").first).to_have_text("服务内容")
    expect(content.locator("li").filter(has_text="手机端同步适配")).to_have_count(1)
    expect(content).not_to_contain_text("##")


def test_the_operator_features_and_unfeatures_a_service(person):
    operator = person("op-1")
    page = operator.open("")
    page.get_by_test_id("service-card").filter(has_text="原创品牌LOGO设计").click()
    feature = page.get_by_test_id("feature")
    feature.get_by_test_id("feature-service").click()
    expect(feature).to_contain_text("已推荐")
    page = operator.open("")
    page.get_by_label("小二推荐").check()
    page.get_by_role("button", name="搜索").click()
    expect(page.get_by_test_id("service-card").filter(has_text="原创品牌LOGO设计")).to_contain_text("小二推荐")
    page.get_by_test_id("service-card").filter(has_text="原创品牌LOGO设计").click()
    page.get_by_test_id("unfeature").click()
    expect(page.get_by_test_id("feature")).to_contain_text("未推荐")


def test_a_provider_lists_a_service_as_a_campaign_trial(person):
    provider = person("demo-yunkefu")
    page = provider.open("provider")
    page.get_by_test_id("my-services").get_by_role("link", name="大促活动临时客服").click()
    editor = page.get_by_test_id("service-editor")
    editor.get_by_test_id("delist").click()
    expect(editor.get_by_test_id("service-status")).to_have_text("已下架")
    editor.get_by_test_id("price").fill("1")
    editor.get_by_test_id("save").click()
    expect(editor).to_contain_text("已保存")
    expect(editor.get_by_test_id("trial-campaign")).to_contain_text("新店体验季")
    editor.get_by_test_id("list-trial").click()
    expect(editor.get_by_test_id("service-status")).to_have_text("已上架")
    # The market follows the services' stream (read every 0.2 s locally, as Lambda reads
    # it deployed): a market opened before it caught up is opened again, as a user would.
    deadline = time.monotonic() + 20
    while True:
        card = provider.open("").get_by_test_id("service-card").filter(has_text="大促活动临时客服")
        try:
            expect(card).to_have_count(1, timeout=2000)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
    expect(card).to_contain_text("试用")


def test_a_user_sets_notification_channels_and_sees_the_secret_once(person):
    buyer = person("buyer-1")
    page = buyer.open("notifications")
    channels = page.get_by_test_id("channels")
    channels.get_by_test_id("channel-webhook").fill("http://127.0.0.1:9/hook")
    channels.get_by_test_id("channel-email").fill("buyer@example.com")
    channels.get_by_test_id("save-channels").click()
    expect(channels.get_by_test_id("webhook-secret")).to_contain_text("只显示这一次")
    page = buyer.open("notifications")
    expect(page.get_by_test_id("channel-email")).to_have_value("buyer@example.com")
    expect(page.get_by_test_id("webhook-secret")).to_have_count(0)


def test_a_withdrawal_whose_answer_was_lost_is_not_made_twice_by_a_second_click(person, stack):
    # Another provider than the payouts story's, whose first withdrawal that story shows.
    _approved_order(stack, "提现的答复丢了", "7x24小时客服外包", "demo-yunkefu", "客服")
    api = Api(stack, "demo-yunkefu")
    api("PUT", "/providers/me/payout-account", {"account": "13800138000", "name": "张小美"})
    before = len(api("GET", "/me/withdrawals", limit=100)["items"])
    provider = person("demo-yunkefu")
    page = provider.open("provider/money")
    expect(page.get_by_test_id("available")).not_to_have_text("¥0.00")
    lost = []

    def lose_the_answer(route):
        """The request reaches the API and is done there; its answer never comes back."""
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().status)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/me/withdrawals", lose_the_answer)
    page.get_by_test_id("withdraw-amount").fill("1")
    page.get_by_test_id("withdraw").click()
    expect(page.get_by_role("alert")).to_contain_text("连不上服务器")
    assert lost == [201]
    page.get_by_test_id("withdraw").click()  # the same intent again: the same key, replayed
    expect(page.get_by_role("alert")).to_have_count(0)
    after = api("GET", "/me/withdrawals", limit=100)["items"]
    assert len(after) == before + 1 and after[0]["amount"] == 100


def test_a_review_appears_as_soon_as_it_is_sent(person, stack):
    order = _approved_order(stack, "评价一提交就看得到")
    Api(stack, "demo-xiaomei")("POST", f"/orders/{order['id']}/reviews",
                               {"rating": "good", "comment": "合作愉快"})
    buyer = person("buyer-1")
    page = buyer.open(f"orders/{order['id']}")
    page.get_by_placeholder("评语").fill("交付准时，设计用心")
    page.get_by_test_id("review").click()
    reviews = page.get_by_test_id("reviews")
    expect(reviews).to_contain_text("交付准时，设计用心")
    expect(reviews).to_contain_text("合作愉快")


def test_ordering_ones_own_service_is_refused_in_words(person):
    provider, page = _service_page(person, "demo-xiaomei")
    page.get_by_test_id("requirement").fill("给自己下一单")
    page.get_by_test_id("place-order").click()
    expect(page.get_by_role("alert")).to_have_text("不能购买自己的服务")
