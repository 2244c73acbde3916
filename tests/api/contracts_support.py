"""Shared steps for the contract tests: terms, a contract walked to a state through the
API, and the clock set to a Beijing day."""
from datetime import datetime, timedelta

from chalicelib import clock
from tests.api.orders_support import listed_service
from tests.support import BUYER, OPERATOR, PROVIDER  # noqa: F401 - tests import them from here

BEIJING = clock.MARKET_TIME


def terms(**over) -> dict:
    """The API's worked example: postpaid, base 3100 元, 2 % commission, 7-day trial."""
    raw = {"period": "month", "billing": "postpaid", "base": 310000, "commission_bps": 200,
           "deposit": 100000, "trial_days": 7, "trial_fee": 50000, "notice_days": 10,
           "schedule": {"agents": 3, "hours": "09:00-24:00", "shifts": 2,
                        "holidays": "春节轮休"},
           "kpis": ["响应时间 ≤ 30 秒"], "confidential": True, "breach": "严重违约扣除定金"}
    raw.update(over)
    return raw


def at_beijing(day: str, hour: int = 10) -> None:
    """Set the app clock to `hour` o'clock of a Beijing day (YYYY-MM-DD)."""
    clock.set_now(datetime.fromisoformat(day).replace(hour=hour, tzinfo=BEIJING))


def later(days: float) -> None:
    clock.advance(days * 24 * 3600)


def draft(api, *, buyer=BUYER, **over):
    service_id = listed_service(title="淘宝客服外包", price=310000)
    reply = api.post("/contracts", {"service_id": service_id,
                                    "requirement": "店铺售前售后客服，三人两班",
                                    "terms": terms(**over)}, user=buyer)
    assert reply.status == 201, reply
    return reply.json


def signed(api, **over):
    contract = draft(api, **over)
    for user in (PROVIDER, BUYER):
        reply = api.post(f"/contracts/{contract['id']}/sign", user=user)
        assert reply.status == 200, reply
    return reply.json


def live(api, day="2027-01-16", **over):
    """A contract gone live on `day` (deposit paid through the sandbox gateway)."""
    at_beijing(day, 9)
    contract = signed(api, **over)
    cid = contract["id"]
    if contract["status"] == "awaiting_deposit":
        reply = api.post(f"/contracts/{cid}/pay", user=BUYER)
        assert reply.status == 200 and reply.json["status"] == "onboarding", reply
    reply = api.post(f"/contracts/{cid}/go-live", user=BUYER)
    assert reply.status == 200, reply
    return reply.json


def statements(api, cid, user=BUYER):
    reply = api.get(f"/contracts/{cid}/statements", user=user)
    assert reply.status == 200, reply
    return reply.json["items"]


def sweep(api):
    return api.invoke("sweep_contracts").payload


def day_after(day: str, n: int = 1) -> str:
    return (datetime.fromisoformat(day) + timedelta(days=n)).date().isoformat()
