"""Packages (套餐), extras (加购) and requirement forms (需求表): the provider's menu is
validated, an order's amount is computed from the buyer's choice and kept with it, the
package's revisions are enforced and its delivery days propose the due date."""
from datetime import datetime

from chalicelib import clock
from chalicelib.storage.catalog import ServiceModel
from tests.api.catalog_support import approved_provider, draft
from tests.api.orders_support import BUYER, PROVIDER, deliver, due_in, listed_service, place

PACKAGES = [
    {"name": "基础版", "price": 30000, "delivery_days": 3, "revisions": 1, "description": "首页一屏"},
    {"name": "标准版", "price": 60000, "delivery_days": 5, "revisions": 3},
    {"name": "旗舰版", "price": 120000, "delivery_days": 10, "revisions": None},
]
EXTRAS = [{"name": "加急24小时", "price": 20000}, {"name": "源文件", "price": 5000}]
QUESTIONS = [{"id": "logo_text", "label": "logo上的文字", "required": True, "kind": "text"},
             {"id": "style", "label": "风格偏好", "required": False, "kind": "text"}]


def menu_service(**kw):
    sid = listed_service(**kw)
    item = ServiceModel.get(sid)
    item.update(actions=[ServiceModel.packages.set([{k: v for k, v in p.items() if v is not None}
                                                    for p in PACKAGES]),
                         ServiceModel.extras.set(EXTRAS), ServiceModel.questions.set(QUESTIONS)])
    return sid


def order(api, sid, **extra):
    body = {"service_id": sid, "requirement": "双十一首页", "package": "标准版",
            "answers": {"logo_text": "小美家"}, **extra}
    return api.post("/orders", body, user=BUYER)


def test_a_package_with_extras_is_priced_snapshotted_and_proposes_the_due_date(api):
    sid = menu_service()
    placed = order(api, sid, extras=["加急24小时", "源文件"],
                   answers={"logo_text": "小美家", "style": "国潮红"})
    assert placed.status == 201, placed
    o = placed.json
    assert o["amount"] == 60000 + 20000 + 5000 and o["price_agreed"] is True
    assert o["package"] == {"name": "标准版", "price": 60000, "delivery_days": 5,
                            "revisions": 3, "description": ""}
    assert [e["name"] for e in o["extras"]] == ["加急24小时", "源文件"]
    assert o["answers"] == {"logo_text": "小美家", "style": "国潮红"}
    # No due_at was sent: the package's 5 delivery days propose it.
    proposed = datetime.fromisoformat(o["due_at"]) - clock.now()
    assert abs(proposed.total_seconds() - 5 * 86400) < 120
    # The provider changing the menu later does not change what was ordered.
    ServiceModel.get(sid).update(actions=[ServiceModel.packages.set([])])
    assert api.get(f"/orders/{o['id']}", user=BUYER).json["package"]["price"] == 60000


def test_the_choice_must_fit_the_menu_and_each_refusal_names_its_field(api):
    sid = menu_service()
    fields = lambda reply: {e["field"] for e in reply.json["error"]["details"]["errors"]}  # noqa: E731
    missing = order(api, sid, package=None, answers={})
    assert missing.error_code == "VALIDATION_FAILED"
    assert fields(missing) == {"package", "answers.logo_text"}
    wrong = order(api, sid, package="豪华版", extras=["加急24小时", "包邮"],
                  answers={"logo_text": "小美家", "color": "红"})
    assert fields(wrong) == {"package", "extras[1]", "answers.color"}
    assert order(api, sid, answers={"logo_text": "   "}).error_code == "VALIDATION_FAILED"
    assert order(api, sid, price=1).error_code == "VALIDATION_FAILED"  # fixed: the menu's price
    plain = listed_service()
    assert fields(order(api, plain, answers=None)) == {"package"}  # no packages to choose
    # Without a package there is no default due date.
    assert fields(place(api, plain, due_at=None)) == {"due_at"}
    assert api.get("/orders?as=buyer", user=BUYER).json["items"] == []


def test_a_negotiable_service_takes_the_buyers_price_for_the_provider_to_agree(api):
    sid = menu_service(pricing="negotiable")
    o = order(api, sid, price=50000).json
    assert o["amount"] == 50000 and o["price_agreed"] is False
    assert order(api, sid).json["price_agreed"] is True  # the menu's own price


def test_revisions_beyond_the_package_are_refused(api):
    sid = menu_service()
    oid = order(api, sid, package="基础版", due_at=due_in(3)).json["id"]
    assert api.post(f"/orders/{oid}/pay", user=BUYER).status == 200
    assert api.post(f"/orders/{oid}/accept", user=PROVIDER).status == 200
    assert deliver(api, oid).status == 200
    back = api.post(f"/orders/{oid}/request-revision", {"note": "换成红色"}, user=BUYER)
    assert back.status == 200 and back.json["revision_count"] == 1
    assert deliver(api, oid).status == 200
    seen = api.get(f"/orders/{oid}", user=BUYER).json
    assert "request-revision" not in seen["allowed_actions"] and "approve" in seen["allowed_actions"]
    again = api.post(f"/orders/{oid}/request-revision", {"note": "再改一次"}, user=BUYER)
    assert again.status == 409 and again.error_code == "REVISIONS_EXHAUSTED"


def test_the_provider_writes_a_menu_that_is_validated(api):
    approved_provider(api)
    service = draft(api, packages=PACKAGES, extras=EXTRAS, questions=QUESTIONS)
    assert [p["name"] for p in service["packages"]] == ["基础版", "标准版", "旗舰版"]
    assert service["packages"][2]["revisions"] is None
    assert service["questions"][0] == QUESTIONS[0]
    too_many = api.post("/services", {**_body(), "packages": PACKAGES + PACKAGES[:1]},
                        user=PROVIDER)
    assert too_many.error_code == "VALIDATION_FAILED"
    twice = api.patch(f"/services/{service['id']}",
                      {"extras": [EXTRAS[0], EXTRAS[0]]}, user=PROVIDER)
    assert twice.error_code == "VALIDATION_FAILED"
    assert {e["field"] for e in twice.json["error"]["details"]["errors"]} == {"extras[1].name"}
    bad_days = api.patch(f"/services/{service['id']}",
                         {"packages": [{**PACKAGES[0], "delivery_days": 0}]}, user=PROVIDER)
    assert bad_days.error_code == "VALIDATION_FAILED"
    cleared = api.patch(f"/services/{service['id']}", {"packages": None, "extras": []},
                        user=PROVIDER)
    assert cleared.status == 200, cleared
    assert cleared.json["packages"] == [] and cleared.json["extras"] == []


def _body():
    from tests.api.catalog_support import service_body
    return service_body(1)
