"""Talk and files on a contract, through the orders' one implementation: the parties
write, an operator joins only over a disputed statement, QA reports travel with a
statement and are readable by both parties."""
from tests.api.contracts_support import BUYER, OPERATOR, PROVIDER, at_beijing, draft, live, sweep
from tests.api.messages_support import attach
from tests.support import BUYER_2


def test_the_parties_talk_and_strangers_see_nothing(api):
    cid = draft(api)["id"]
    file_id = attach(api, cid, user=PROVIDER, filename="排班表.png")
    sent = api.post(f"/contracts/{cid}/messages", {"body": "排班表见附件", "file_ids": [file_id]},
                    user=PROVIDER)
    assert sent.status == 201 and sent.json["files"][0]["file_id"] == file_id
    listed = api.get(f"/contracts/{cid}/messages", user=BUYER).json["items"]
    assert [m["body"] for m in listed] == ["排班表见附件"]
    assert api.get(f"/contracts/{cid}/attachments/{file_id}", user=BUYER).status == 200
    assert api.get(f"/contracts/{cid}/messages", user=BUYER_2).status == 404
    assert api.get(f"/contracts/{cid}/attachments/{file_id}", user=BUYER_2).status == 404
    refused = api.post(f"/contracts/{cid}/messages", {"body": "平台提醒"}, user=OPERATOR,
                       operator=True)
    assert refused.status == 403  # no statement is disputed
    kinds = [n["kind"] for n in api.get("/me/notifications", user=BUYER).json["items"]]
    assert "message" in kinds


def test_qa_reports_travel_with_the_statement_and_open_the_operators_voice(api):
    cid = live(api, "2027-01-16")["id"]
    at_beijing("2027-01-23", 1)
    sweep(api)
    sid = api.get(f"/contracts/{cid}/statements", user=BUYER).json["items"][0]["id"]
    report = attach(api, cid, user=PROVIDER, filename="质检报告.png")
    submitted = api.post(f"/contracts/{cid}/statements/{sid}/submit",
                         {"sales": 0, "file_ids": [report]}, user=PROVIDER)
    assert submitted.status == 200 and submitted.json["files"] == [report], submitted
    assert api.get(f"/contracts/{cid}/attachments/{report}", user=BUYER).status == 200
    # The same file cannot be sent again, nor another party's file claimed.
    again = api.post(f"/contracts/{cid}/messages", {"body": "x", "file_ids": [report]},
                     user=PROVIDER)
    assert again.status == 422
    api.post(f"/contracts/{cid}/statements/{sid}/dispute", {"reason": "质检不达标"}, user=BUYER)
    joined = api.post(f"/contracts/{cid}/messages", {"body": "平台已介入"}, user=OPERATOR,
                      operator=True)
    assert joined.status == 201
