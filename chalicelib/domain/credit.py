"""Credit levels (信用等级) and honest counting (防刷信誉): pure rules over points.

Levels follow Taobao's thresholds: a tier (心, 钻, 蓝冠, 金冠) of 1-5 stars, none below 4
points. Honest counting caps how far the reviews between one buyer and one provider
may move the reviewed party's credit within one calendar month (Beijing time): +6 and
-6, each cap on its own, so farming good reviews between friends stops at six a month.
"""
from datetime import datetime, timedelta, timezone

HEART, DIAMOND, BLUE_CROWN, GOLD_CROWN = "heart", "diamond", "blue_crown", "gold_crown"
TIER_LABELS = {HEART: "心", DIAMOND: "钻", BLUE_CROWN: "蓝冠", GOLD_CROWN: "金冠"}
# (lowest points, tier, stars), highest first: the first row a credit reaches is its level.
LEVELS = tuple(reversed((
    (4, HEART, 1), (11, HEART, 2), (41, HEART, 3), (91, HEART, 4), (151, HEART, 5),
    (251, DIAMOND, 1), (501, DIAMOND, 2), (1001, DIAMOND, 3), (2001, DIAMOND, 4),
    (5001, DIAMOND, 5),
    (10001, BLUE_CROWN, 1), (20001, BLUE_CROWN, 2), (50001, BLUE_CROWN, 3),
    (100001, BLUE_CROWN, 4), (200001, BLUE_CROWN, 5),
    (500001, GOLD_CROWN, 1), (1000001, GOLD_CROWN, 2), (2000001, GOLD_CROWN, 3),
    (5000001, GOLD_CROWN, 4), (10000001, GOLD_CROWN, 5),
)))

MONTHLY_CAP = 6  # points each way, per buyer-provider pair and calendar month
BEIJING = timezone(timedelta(hours=8))


def credit_level(points: int) -> dict | None:
    """The level of a credit: {"tier", "stars", "label": "3心"}, or None below 4."""
    for lowest, tier, stars in LEVELS:
        if points >= lowest:
            return {"tier": tier, "stars": stars, "label": f"{stars}{TIER_LABELS[tier]}"}
    return None


def month_of(now: datetime) -> str:
    """The calendar month (Beijing time) a review counts in: 2027-01."""
    return now.astimezone(BEIJING).strftime("%Y-%m")


def cap_side(points: int) -> str | None:
    """Which monthly cap a review's points use up: `plus`, `minus`, or None for 0 (a
    neutral review moves nothing, so nothing caps it)."""
    if points > 0:
        return "plus"
    if points < 0:
        return "minus"
    return None


def within_cap(used: int, points: int) -> bool:
    """Whether a review of `points` still counts after `used` points of its side."""
    return used + abs(points) <= MONTHLY_CAP
