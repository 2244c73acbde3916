"""The menu's pure rules: amounts from a choice, every refusal named, revisions counted,
and the transition table refusing a revision the package no longer allows."""
from datetime import datetime, timezone

import pytest

from chalicelib.domain import choices
from chalicelib.domain import orders as life
from chalicelib.domain.errors import RevisionsExhausted, ValidationFailed

PACKAGES = [{"name": "基础版", "price": 30000, "delivery_days": 3, "revisions": 0},
            {"name": "旗舰版", "price": 90000, "delivery_days": 7}]
EXTRAS = [{"name": "加急", "price": 20000}, {"name": "源文件", "price": 5000}]
QUESTIONS = [{"id": "logo_text", "label": "logo文字", "required": True}]
NOW = datetime(2026, 2, 27, 12, tzinfo=timezone.utc)


def choose(pricing="fixed", package="旗舰版", extras=(), answers=None, price=None,
           packages=PACKAGES):
    return choices.choose(packages=packages, extras=EXTRAS, questions=QUESTIONS,
                          pricing=pricing, list_price=50000, package=package,
                          extra_names=list(extras), answers=answers or {"logo_text": "小美"},
                          price=price)


def test_the_amount_is_the_package_plus_the_extras():
    choice = choose(extras=["加急", "源文件"])
    assert choice.amount == choice.list_amount == 115000
    assert choice.package["revisions"] is None  # left out: unlimited
    assert choice.default_due(NOW) == datetime(2026, 3, 6, 12, tzinfo=timezone.utc)


def test_without_packages_the_list_price_stands_and_no_due_date_is_proposed():
    choice = choose(package=None, packages=[], extras=["源文件"])
    assert choice.amount == 55000 and choice.default_due(NOW) is None


def test_a_negotiable_order_takes_the_buyers_price_and_a_fixed_one_refuses_it():
    assert choose("negotiable", price=40000).amount == 40000
    with pytest.raises(ValidationFailed) as refused:
        choose(price=40000)
    assert refused.value.details["errors"][0]["price"] == 90000


def test_every_problem_is_named_at_once():
    with pytest.raises(ValidationFailed) as refused:
        choose(package="豪华版", extras=["加急", "包邮"], answers={"logo_text": " ", "x": "1"})
    assert [e["field"] for e in refused.value.details["errors"]] == [
        "package", "extras[1]", "answers.x", "answers.logo_text"]


def test_repeated_names_in_a_menu_are_refused():
    assert choices.menu_problems(PACKAGES + PACKAGES[:1], EXTRAS, QUESTIONS) == [
        {"field": "packages[2].name", "problem": "repeated"}]


@pytest.mark.parametrize("package, used, left", [
    (None, 99, True), ({"revisions": None}, 50, True), ({"revisions": 2}, 1, True),
    ({"revisions": 2}, 2, False), ({"revisions": 0}, 0, False)])
def test_revisions_left(package, used, left):
    assert choices.revisions_left(package, used) is left


def test_the_table_refuses_a_revision_beyond_the_package():
    facts = life.Facts(now=NOW, revisions_left=False)
    with pytest.raises(RevisionsExhausted):
        life.decide(life.IN_REVIEW, life.REQUEST_REVISION, life.BUYER, facts)
    assert life.decide(life.IN_REVIEW, life.REQUEST_REVISION, life.BUYER,
                       life.Facts(now=NOW)).to == life.IN_PROGRESS
