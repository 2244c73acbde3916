"""Contracts for the authorization matrix: one built through the API in the state an
action needs (its statement too), so the right party's call really succeeds. The
sweep is asked to open statements at a later `now`, leaving the app clock alone (the
matrix's other targets must not age)."""
from datetime import timedelta

from chalicelib import clock
from chalicelib.services.contracts import sweeping
from tests.api.contracts_support import terms
from tests.api.messages_support import attach
from tests.api.orders_support import BUYER, PROVIDER, listed_service
from tests.attack.authz_support import Target, World

_STEPS = ("draft", "awaiting_deposit", "onboarding", "live")


def new_contract(w: World, state: str) -> str:
    api = w.api
    reply = api.post("/contracts", {"service_id": listed_service(), "requirement": "客服外包",
                                    "terms": terms()}, user=BUYER)
    assert reply.status == 201, reply
    cid = reply.json["id"]
    upto = _STEPS.index(state)
    if upto >= 1:
        for user in (PROVIDER, BUYER):
            assert api.post(f"/contracts/{cid}/sign", user=user).status == 200
    if upto >= 2:
        assert api.post(f"/contracts/{cid}/pay", user=BUYER).status == 200
    if upto >= 3:
        assert api.post(f"/contracts/{cid}/go-live", user=BUYER).status == 200
    return cid


def statement_in(w: World, cid: str, status: str) -> str:
    """The trial's statement (opened by the sweep as if a month had passed) in `status`."""
    sweeping.apply_contract_timers(cid, clock.now() + timedelta(days=40))
    sid = w.api.get(f"/contracts/{cid}/statements", user=BUYER).json["items"][0]["id"]
    steps = [("submit", PROVIDER, {"sales": 0})]
    if status in ("payable", "disputed"):
        steps.append(("confirm" if status == "payable" else "dispute", BUYER,
                      {} if status == "payable" else {"reason": "数据不符"}))
    if status != "open":
        for verb, user, body in steps:
            reply = w.api.post(f"/contracts/{cid}/statements/{sid}/{verb}", body, user=user)
            assert reply.status == 200, reply
    return sid


def sent_file(w: World, cid: str) -> str:
    """A file the buyer sent in a message on the contract."""
    file_id = attach(w.api, cid, user=BUYER)
    assert w.api.post(f"/contracts/{cid}/messages", {"body": "需求说明见附件",
                                                     "file_ids": [file_id]},
                      user=BUYER).status == 201
    return file_id


def contract_target(state: str, party: str, body=None, statement: str | None = None,
                    file: bool = False):
    def build(w: World) -> Target:
        cid = new_contract(w, state)
        params = {"contract_id": cid}
        if statement:
            params["statement_id"] = statement_in(w, cid, statement)
        if file:
            params["file_id"] = sent_file(w, cid)

        def probe():
            return (w.api.get(f"/contracts/{cid}", user=BUYER).json,
                    w.api.get(f"/contracts/{cid}/statements", user=BUYER).json)

        counterpart = PROVIDER if party == BUYER else BUYER
        return Target(params, party, counterpart, body=body, probe=probe)
    return build
