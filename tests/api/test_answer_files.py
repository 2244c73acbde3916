"""A requirement form's `kind: file` answer (需求表附件) is a file the buyer uploaded for
it: an unknown id, another buyer's file, an upload never completed or one of another
size, or a file another order already took is refused naming the question; a good one
is claimed by the order and readable by both parties."""
from chalicelib import settings
from chalicelib.storage.catalog import ServiceModel
from chalicelib.storage.files import s3_client
from tests.api.orders_support import BUYER, PROVIDER, due_in, listed_service
from tests.support import BUYER_2

QUESTIONS = [{"id": "logo_text", "label": "logo上的文字", "required": True, "kind": "text"},
             {"id": "brief", "label": "品牌手册", "required": True, "kind": "file"}]


def form_service():
    sid = listed_service()
    ServiceModel.get(sid).update(actions=[ServiceModel.questions.set(QUESTIONS)])
    return sid


def upload(api, sid, data=b"%PDF-1.4 brand book", user=BUYER, put=True, put_data=None):
    ticket = api.post(f"/services/{sid}/answer-files", {
        "filename": "品牌手册.pdf", "content_type": "application/pdf", "size": len(data)},
        user=user)
    assert ticket.status == 201, ticket
    if put:
        s3_client().put_object(Bucket=settings.get().bucket,
                               Key=ticket.json["upload"]["fields"]["key"],
                               Body=put_data if put_data is not None else data,
                               ContentType="application/pdf")
    return ticket.json["file_id"]


def order(api, sid, brief, user=BUYER):
    return api.post("/orders", {"service_id": sid, "requirement": "logo", "due_at": due_in(7),
                                "answers": {"logo_text": "小美家", "brief": brief}}, user=user)


def problems(reply) -> dict:
    return {e["field"]: e["problem"] for e in reply.json["error"]["details"]["errors"]}


def test_a_file_answer_is_the_buyers_completed_upload_claimed_by_one_order(api):
    sid = form_service()
    file_id = upload(api, sid)
    placed = order(api, sid, file_id)
    assert placed.status == 201, placed
    oid = placed.json["id"]
    assert placed.json["answers"]["brief"] == file_id
    for user in (PROVIDER, BUYER):
        link = api.get(f"/orders/{oid}/attachments/{file_id}", user=user)
        assert link.status == 200, link
    key = s3_client().list_objects_v2(Bucket=settings.get().bucket,
                                      Prefix=f"orders/{oid}/answers/")["Contents"]
    assert [k["Size"] for k in key] == [len(b"%PDF-1.4 brand book")]
    # The same file cannot answer a second order.
    again = order(api, sid, file_id)
    assert again.status == 422 and problems(again) == {"answers.brief": "already used"}


def test_what_is_not_the_buyers_completed_upload_is_refused_naming_the_question(api):
    sid = form_service()
    made_up = order(api, sid, "file_notreal")
    assert made_up.status == 422 and problems(made_up) == {"answers.brief": "not an uploaded file"}
    others = upload(api, sid, user=BUYER_2)
    assert problems(order(api, sid, others)) == {"answers.brief": "not an uploaded file"}
    never_sent = upload(api, sid, put=False)
    assert problems(order(api, sid, never_sent)) == {"answers.brief": "not uploaded"}
    other_size = upload(api, sid, put_data=b"short")
    assert problems(order(api, sid, other_size)) == {"answers.brief": "not the declared size"}
    # Nothing was placed; a refused answer leaves the file free for a corrected order.
    assert api.get("/orders?as=buyer", user=BUYER).json["items"] == []
    good = upload(api, sid)
    assert order(api, sid, good).status == 201


def test_only_a_would_be_buyer_of_a_listed_service_uploads(api):
    sid = form_service()
    ticket = {"filename": "a.pdf", "content_type": "application/pdf", "size": 10}
    assert api.post(f"/services/{sid}/answer-files", ticket, user=PROVIDER).status == 403
    assert api.post("/services/svc_nope/answer-files", ticket, user=BUYER).status == 404
    assert api.post(f"/services/{sid}/answer-files", ticket).status == 401
