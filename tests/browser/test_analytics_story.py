"""Pictures of the market's days, in real Chromium against the real local stack: the
operator's 概览 and a provider's 数据 page draw one point per day of the range they show
(7, 30, 365 days), and the figures under each chart are the API's, day by day."""
from playwright.sync_api import expect

from tests.browser.test_stories import Api, _approved_order

MARKET_LINES = {"chart-money": ["funded", "released", "refunded", "platform_revenue"],
                "chart-funnel": ["orders_placed", "orders_paid", "orders_completed"],
                "chart-disputes": ["disputes_opened", "inquiries", "contracts_started"]}
PROVIDER_LINES = {"chart-inquiries": ["inquiries", "inquiring_buyers", "paying_buyers"],
                  "chart-conversion": ["conversion"], "chart-earnings": ["released"]}


def _figures(page, chart: str) -> dict[str, list[str]]:
    """day → the raw values of the chart's table, in its columns' order."""
    rows = page.get_by_test_id(f"{chart}-figures").locator("tbody tr")
    return {row.get_attribute("data-day"): row.locator("td[data-value]").evaluate_all(
        "cells => cells.map(c => c.dataset.value)") for row in rows.all()}


def _as_js(value) -> str:
    """A JSON number as the page's JavaScript prints it: 1.0 is "1", None is "null"."""
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check(page, api, path: str, lines: dict, span: int) -> list[dict]:
    """Each chart of the page has `span` points and its figures are the API's answer
    for the same days; the answer, to say more about it."""
    for chart in lines:
        expect(page.get_by_test_id(f"{chart}-plot")).to_have_attribute("data-points", str(span))
        expect(page.get_by_test_id(f"{chart}-plot").locator("canvas")).to_have_count(1)
    shown = _figures(page, next(iter(lines)))
    assert len(shown) == span
    answer = api("GET", path, **{"from": min(shown), "to": max(shown)})["days"]
    assert [d["day"] for d in answer] == sorted(shown)
    for chart, fields in lines.items():
        assert _figures(page, chart) == {
            d["day"]: [_as_js(d[f]) for f in fields]
            for d in answer}, chart
    return answer


def test_the_overview_draws_a_point_a_day_and_shows_the_apis_numbers(person, stack):
    _approved_order(stack, "首页装修，看看今天的数据")
    operator = person("op-1")
    api = Api(stack, "op-1", roles=["operator"])
    page = operator.open("admin/overview")
    answer = _check(page, api, "/admin/analytics/daily", MARKET_LINES, 7)
    today = answer[-1]
    assert today["orders_paid"] >= 1 and today["funded"] > 0 and today["released"] > 0
    operator.shot("operator-overview")
    for span in (30, 365):
        page.get_by_test_id(f"span-{span}").click()
        expect(page.get_by_test_id("chart-money-plot")).to_have_attribute(
            "data-points", str(span))
        _check(page, api, "/admin/analytics/daily", MARKET_LINES, span)


def test_a_provider_reads_its_days_on_a_phone(person, stack):
    _approved_order(stack, "首页装修，服务商看数据")
    provider = person("demo-xiaomei", phone=True)
    page = provider.open("provider/data")
    answer = _check(page, Api(stack, "demo-xiaomei"), "/me/analytics/daily",
                    PROVIDER_LINES, 30)
    assert answer[-1]["released"] > 0 and answer[-1]["orders_paid"] >= 1
    # At phone width the chart fits the screen: nothing scrolls the page sideways.
    plot = page.get_by_test_id("chart-earnings-plot").bounding_box()
    assert plot and plot["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_test_id("by-month")).to_contain_text(answer[-1]["day"][:7])
    provider.shot("provider-data-phone")
