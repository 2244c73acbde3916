"""A custom offer of a contract (定制报价 → 合同): the provider answers an inquiry with a
contract draft it has signed; the buyer signs it into a binding contract. The offer is
one variant or the other, each checked whole."""
from tests.api.contracts_support import terms
from tests.api.orders_support import BUYER, PROVIDER, due_in, listed_service
from tests.support import BUYER_2


def inquiry(api, **service_kw):
    sid = listed_service(**service_kw)
    reply = api.post(f"/services/{sid}/inquiries", {"body": "想外包客服，按月结算可以吗？"},
                     user=BUYER)
    assert reply.status == 201, reply
    return reply.json["id"]


def offer_contract(api, iid, user=PROVIDER, headers=None, **extra):
    body = {"contract": {"requirement": "天猫店售前售后，三人两班", "terms": terms()}, **extra}
    return api.post(f"/inquiries/{iid}/offer", body, user=user, headers=headers)


def test_the_offer_is_a_draft_the_provider_signed_and_the_buyer_completes(api):
    iid = inquiry(api)
    made = offer_contract(api, iid, headers={"Idempotency-Key": "offer-1"})
    assert made.status == 201, made
    contract = made.json["contract"]
    assert "order" not in made.json
    assert (contract["status"], contract["signed_by"]) == ("draft", ["provider"])
    assert (contract["buyer_id"], contract["provider_id"]) == (BUYER, PROVIDER)
    assert contract["terms"]["base"] == 310000
    # A retry of the same request finds the same contract.
    again = offer_contract(api, iid, headers={"Idempotency-Key": "offer-1"})
    assert again.json["contract"]["id"] == contract["id"]
    assert api.get(f"/inquiries/{iid}", user=BUYER).json["contract_id"] == contract["id"]
    notices = [n for n in api.get("/me/notifications", user=BUYER).json["items"]
               if n["kind"] == "contract_offered"]
    assert len(notices) == 1 and notices[0]["order_id"] == contract["id"]
    assert [c["id"] for c in api.get("/contracts", user=BUYER).json["items"]] == [contract["id"]]

    signed = api.post(f"/contracts/{contract['id']}/sign", user=BUYER)
    assert signed.json["status"] == "awaiting_deposit"


def test_only_the_provider_offers_and_each_variant_is_whole(api):
    iid = inquiry(api)
    assert offer_contract(api, iid, user=BUYER).status == 403
    assert offer_contract(api, iid, user=BUYER_2).status == 404
    mixed = offer_contract(api, iid, amount=88000, due_at=due_in(7))
    assert mixed.status == 422
    assert {e["field"] for e in mixed.json["error"]["details"]["errors"]} == {"amount", "due_at"}
    bad = api.post(f"/inquiries/{iid}/offer", {"contract": {
        "requirement": "客服", "terms": terms(agents=0, commission_bps=20000)}}, user=PROVIDER)
    assert bad.status == 422
    assert "terms.commission_bps" in {e["field"] for e in bad.json["error"]["details"]["errors"]}
    empty = api.post(f"/inquiries/{iid}/offer", {"requirement": "只写了需求"}, user=PROVIDER)
    assert empty.status == 422
    assert {e["field"] for e in empty.json["error"]["details"]["errors"]} == {"amount", "due_at"}
    assert api.get(f"/inquiries/{iid}", user=BUYER).json["contract_id"] is None
