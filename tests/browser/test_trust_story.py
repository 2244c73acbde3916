"""Trust in the console: after both sides reviewed, the buyer answers the provider's
review and adds a 追评, the service and provider pages show the provider's record in words and the
follow-up, and an operator hides the buyer's review (the market then shows it hidden)."""
from playwright.sync_api import expect

from tests.browser.test_stories import Api, _approved_order


def test_answers_follow_ups_and_hiding_in_review_lists(person, stack):
    order = _approved_order(stack, "详情页也一起做，冬季主题")
    buyer_api, provider_api = Api(stack, "buyer-1"), Api(stack, "demo-xiaomei")
    buyer_api("POST", f"/orders/{order['id']}/reviews", {"rating": "good", "comment": "加微信私聊更便宜"})
    provider_api("POST", f"/orders/{order['id']}/reviews", {"rating": "good", "comment": "需求清楚，付款爽快"})

    buyer = person("buyer-1")
    page = buyer.open(f"orders/{order['id']}")
    theirs = page.get_by_test_id("review-provider")
    expect(theirs).to_contain_text("需求清楚，付款爽快")
    theirs.get_by_placeholder("回复").fill("合作愉快，下次还找你们")
    page.get_by_test_id("reply-provider-review").click()
    expect(page.get_by_test_id("review-provider")).to_contain_text("买家回复：合作愉快，下次还找你们")
    page.get_by_placeholder("追加评价").fill("上线一周，转化率提升明显")
    page.get_by_test_id("follow-up-review").click()
    expect(page.get_by_test_id("review-buyer")).to_contain_text("追评：上线一周，转化率提升明显")
    expect(page.get_by_test_id("follow-up-review")).to_have_count(0)

    page = buyer.open(f"services/{order['service_id']}")
    expect(page.get_by_test_id("provider-stats")).to_contain_text("已完成")
    expect(page.get_by_test_id("provider-stats")).to_contain_text("回头客")
    expect(page.get_by_test_id("follow-up").first).to_be_visible()
    page.get_by_test_id("provider-link").click()  # the provider's own page
    expect(page.get_by_test_id("provider-name")).to_be_visible()
    expect(page.get_by_test_id("provider-stats")).to_contain_text("已完成")

    operator = person("op-1")
    page = operator.open(f"orders/{order['id']}")
    mine = page.get_by_test_id("review-buyer")
    mine.get_by_placeholder("隐藏原因").fill("含有站外联系方式")
    page.get_by_test_id("hide-review-buyer").click()
    expect(page.get_by_test_id("review-buyer")).to_contain_text("已隐藏：含有站外联系方式")

    page = buyer.open(f"services/{order['service_id']}")
    expect(page.get_by_test_id("review-hidden").first).to_be_visible()
    expect(page.get_by_text("加微信私聊更便宜")).to_have_count(0)
