"""Credit levels at every threshold boundary, and the honest-counting month and cap."""
from datetime import datetime, timezone

import pytest

from chalicelib.domain import credit

# (points, label) on both sides of every threshold of the contract.
BOUNDARIES = [
    (-5, None), (0, None), (3, None), (4, "1心"), (10, "1心"), (11, "2心"), (40, "2心"),
    (41, "3心"), (90, "3心"), (91, "4心"), (150, "4心"), (151, "5心"), (250, "5心"),
    (251, "1钻"), (500, "1钻"), (501, "2钻"), (1000, "2钻"), (1001, "3钻"), (2000, "3钻"),
    (2001, "4钻"), (5000, "4钻"), (5001, "5钻"), (10000, "5钻"),
    (10001, "1蓝冠"), (20000, "1蓝冠"), (20001, "2蓝冠"), (50000, "2蓝冠"),
    (50001, "3蓝冠"), (100000, "3蓝冠"), (100001, "4蓝冠"), (200000, "4蓝冠"),
    (200001, "5蓝冠"), (500000, "5蓝冠"),
    (500001, "1金冠"), (1000000, "1金冠"), (1000001, "2金冠"), (2000000, "2金冠"),
    (2000001, "3金冠"), (5000000, "3金冠"), (5000001, "4金冠"), (10000000, "4金冠"),
    (10000001, "5金冠"), (10**12, "5金冠"),
]
TIERS = {"心": "heart", "钻": "diamond", "蓝冠": "blue_crown", "金冠": "gold_crown"}


@pytest.mark.parametrize("points,label", BOUNDARIES)
def test_credit_level_at_each_boundary(points, label):
    level = credit.credit_level(points)
    if label is None:
        assert level is None
        return
    assert level == {"tier": TIERS[label[1:]], "stars": int(label[0]), "label": label}


def test_the_month_is_beijings():
    # 2027-01-31 16:30 UTC is already 1 February in Beijing.
    assert credit.month_of(datetime(2027, 1, 31, 15, 59, tzinfo=timezone.utc)) == "2027-01"
    assert credit.month_of(datetime(2027, 1, 31, 16, 0, tzinfo=timezone.utc)) == "2027-02"


@pytest.mark.parametrize("points,side", [(1, "plus"), (-1, "minus"), (0, None)])
def test_each_sign_has_its_own_cap(points, side):
    assert credit.cap_side(points) == side


@pytest.mark.parametrize("used,counts", [(0, True), (5, True), (6, False), (9, False)])
def test_six_points_a_month_each_way(used, counts):
    assert credit.within_cap(used, 1) is counts
    assert credit.within_cap(used, -1) is counts
