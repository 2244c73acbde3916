"""Provider applications, profiles and the operators' decisions."""
import pytest

from tests.api.catalog_support import (APPLICATION, OPERATOR, PROVIDER, PROVIDER_2,
                                       approved_provider, listed)


def op(api, method, path, body=None):
    return api.call(method, path, body if body is not None else {}, user=OPERATOR, operator=True)


def test_profile_is_none_before_applying(api):
    reply = api.get("/providers/me", user=PROVIDER)
    assert reply.status == 200
    assert reply.json["status"] == "none"
    assert reply.json["listed_count"] == 0 and reply.json["credit"] == 0


def test_apply_then_approve(api):
    reply = api.post("/providers/me/application", APPLICATION, user=PROVIDER)
    assert reply.status == 201
    assert reply.json["status"] == "pending"
    assert reply.json["display_name"] == "杭州小美设计工作室"
    assert api.get("/providers/me", user=PROVIDER).json["status"] == "pending"
    assert api.get(f"/providers/{PROVIDER}").status == 404  # pending is not public

    approved = op(api, "POST", f"/admin/providers/{PROVIDER}/approve")
    assert approved.status == 200 and approved.json["status"] == "approved"
    public = api.get(f"/providers/{PROVIDER}")
    assert public.status == 200
    assert public.json["credit"] == 0
    assert public.json["ratings"] == {"good": 0, "neutral": 0, "bad": 0}
    assert "contact" not in public.json


def test_applying_twice_is_refused_until_rejected(api):
    api.post("/providers/me/application", APPLICATION, user=PROVIDER)
    again = api.post("/providers/me/application", APPLICATION, user=PROVIDER)
    assert again.status == 409 and again.error_code == "INVALID_STATE"

    rejected = op(api, "POST", f"/admin/providers/{PROVIDER}/reject", {"reason": "营业执照不清晰"})
    assert rejected.status == 200
    assert rejected.json["status"] == "rejected" and rejected.json["reason"] == "营业执照不清晰"
    assert api.get(f"/providers/{PROVIDER}").status == 404

    retry = api.post("/providers/me/application", {**APPLICATION, "intro": "已补充营业执照"},
                     user=PROVIDER)
    assert retry.status == 201 and retry.json["status"] == "pending"
    assert retry.json["reason"] is None


@pytest.mark.parametrize("field,limit", [("display_name", 50), ("company_name", 100),
                                         ("contact", 100), ("intro", 1000)])
def test_application_field_limits(api, field, limit):
    at_limit = api.post("/providers/me/application", {**APPLICATION, field: "字" * limit},
                        user="user-at")
    assert at_limit.status == 201, at_limit
    past = api.post("/providers/me/application", {**APPLICATION, field: "字" * (limit + 1)},
                    user="user-past")
    assert past.status == 422 and past.error_code == "VALIDATION_FAILED"
    empty = api.post("/providers/me/application", {**APPLICATION, field: "  "}, user="user-empty")
    assert empty.status == 422


def test_missing_field_and_no_token(api):
    missing = api.post("/providers/me/application",
                       {k: v for k, v in APPLICATION.items() if k != "intro"}, user=PROVIDER)
    assert missing.status == 422
    assert api.post("/providers/me/application", APPLICATION).status == 401
    forged = api.post("/providers/me/application", APPLICATION,
                      headers={"Authorization": "Bearer not.a.token"})
    assert forged.status == 401 and forged.error_code == "UNAUTHENTICATED"
    assert api.get("/providers/me").status == 401


def test_decisions_need_an_operator(api):
    api.post("/providers/me/application", APPLICATION, user=PROVIDER)
    for action, body in (("approve", {}), ("reject", {"reason": "x"}),
                         ("suspend", {"reason": "x"})):
        reply = api.post(f"/admin/providers/{PROVIDER}/{action}", body, user="buyer-1")
        assert reply.status == 403 and reply.error_code == "FORBIDDEN"
    assert api.get("/admin/providers", user="buyer-1").status == 403
    assert api.get("/admin/providers").status == 401
    assert api.get("/providers/me", user=PROVIDER).json["status"] == "pending"


def test_decisions_are_conditional_on_the_expected_status(api):
    assert op(api, "POST", "/admin/providers/nobody/approve").status == 404
    api.post("/providers/me/application", APPLICATION, user=PROVIDER)
    early = op(api, "POST", f"/admin/providers/{PROVIDER}/suspend", {"reason": "投诉"})
    assert early.status == 409 and early.error_code == "INVALID_STATE"
    assert op(api, "POST", f"/admin/providers/{PROVIDER}/approve").status == 200
    twice = op(api, "POST", f"/admin/providers/{PROVIDER}/approve")
    assert twice.status == 409 and twice.json["error"]["details"]["status"] == "approved"
    late_reject = op(api, "POST", f"/admin/providers/{PROVIDER}/reject", {"reason": "x"})
    assert late_reject.status == 409


def test_reject_and_suspend_need_a_reason(api):
    api.post("/providers/me/application", APPLICATION, user=PROVIDER)
    assert op(api, "POST", f"/admin/providers/{PROVIDER}/reject", {}).status == 422
    assert op(api, "POST", f"/admin/providers/{PROVIDER}/reject", {"reason": ""}).status == 422
    op(api, "POST", f"/admin/providers/{PROVIDER}/approve")
    assert op(api, "POST", f"/admin/providers/{PROVIDER}/suspend", {}).status == 422


def test_admin_list_by_status_pages_with_a_cursor(api):
    for i in range(3):
        api.post("/providers/me/application", {**APPLICATION, "display_name": f"工作室{i}"},
                 user=f"applicant-{i}")
    op(api, "POST", "/admin/providers/applicant-1/approve")
    first = op(api, "GET", "/admin/providers?status=pending&limit=1")
    assert first.status == 200 and len(first.json["items"]) == 1
    second = op(api, "GET", f"/admin/providers?status=pending&limit=1&cursor={first.json['next_cursor']}")
    ids = {first.json["items"][0]["id"], second.json["items"][0]["id"]}
    assert ids == {"applicant-0", "applicant-2"}
    approved = op(api, "GET", "/admin/providers?status=approved").json["items"]
    assert [p["id"] for p in approved] == ["applicant-1"]
    assert op(api, "GET", "/admin/providers?status=weird").status == 422
    forged = op(api, "GET", "/admin/providers?status=approved&cursor=abc")
    assert forged.status == 400


def test_suspending_delists_every_service_and_frees_the_slots(api):
    approved_provider(api)
    services = [listed(api, n=i)["id"] for i in range(3)]
    assert api.get("/providers/me", user=PROVIDER).json["listed_count"] == 3

    reply = op(api, "POST", f"/admin/providers/{PROVIDER}/suspend", {"reason": "多次投诉"})
    assert reply.status == 200 and reply.json["status"] == "suspended"
    assert reply.json["listed_count"] == 0
    for sid in services:
        own = api.get(f"/services/{sid}", user=PROVIDER).json
        assert own["status"] == "delisted"
        assert api.get(f"/services/{sid}").status == 404
    assert api.get(f"/services?provider_id={PROVIDER}").json["items"] == []
    public = api.get(f"/providers/{PROVIDER}")
    assert public.status == 200 and public.json["status"] == "suspended"
    relist = api.post(f"/services/{services[0]}/list", user=PROVIDER)
    assert relist.status == 403 and relist.error_code == "PROVIDER_NOT_APPROVED"


def test_other_providers_are_untouched_by_a_suspension(api):
    approved_provider(api)
    approved_provider(api, PROVIDER_2)
    mine = listed(api, PROVIDER_2, n=1)
    listed(api, PROVIDER, n=0)
    op(api, "POST", f"/admin/providers/{PROVIDER}/suspend", {"reason": "多次投诉"})
    assert api.get(f"/services/{mine['id']}").json["status"] == "listed"


def test_a_suspension_cut_short_is_finished_by_the_retry(api, monkeypatch):
    from chalicelib.services import catalog

    approved_provider(api)
    service = listed(api)
    real = catalog.delist_all_of_provider

    def crash(*args):
        raise RuntimeError("lambda timed out")

    monkeypatch.setattr(catalog, "delist_all_of_provider", crash)
    cut = op(api, "POST", f"/admin/providers/{PROVIDER}/suspend", {"reason": "多次投诉"})
    assert cut.status == 500
    assert api.get(f"/services/{service['id']}").json["status"] == "listed"
    monkeypatch.setattr(catalog, "delist_all_of_provider", real)
    retry = op(api, "POST", f"/admin/providers/{PROVIDER}/suspend", {"reason": "多次投诉"})
    assert retry.status == 409 and retry.error_code == "INVALID_STATE"
    assert api.get(f"/services/{service['id']}").status == 404
    assert api.get("/providers/me", user=PROVIDER).json["listed_count"] == 0
