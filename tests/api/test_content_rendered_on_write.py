"""content_html is rendered when the content or its pictures change and stored with the
fingerprint of what it was rendered from (services.content): a read answers the stored
HTML while that fingerprint matches what the service holds, and renders otherwise, so it
never shows what the service no longer says."""
from chalicelib.services import content
from chalicelib.storage.catalog import ServiceModel
from tests.api.catalog_support import PROVIDER, approved_provider, draft
from tests.api.test_service_content import check, picture, uploaded


def _stored(sid) -> ServiceModel:
    return ServiceModel.get(sid, consistent_read=True)


def _shown(api, sid) -> str:
    reply = api.get(f"/services/{sid}", user=PROVIDER)
    assert reply.status == 200, reply
    return reply.json["content_html"]


def test_creating_and_editing_store_the_rendered_content(api):
    approved_provider(api)
    created = draft(api)
    stored = _stored(created["id"])
    assert stored.content_html == content.render(stored.content, {}) != ""
    assert created["content_html"] == stored.content_html == _shown(api, created["id"])
    edited = api.patch(f"/services/{created['id']}", {"content": "## 新版\n\n**三天出稿**"},
                       user=PROVIDER)
    assert edited.status == 200, edited
    stored = _stored(created["id"])
    assert "<h2>新版</h2>" in stored.content_html and "<strong>三天出稿</strong>" in stored.content_html
    assert edited.json["content_html"] == stored.content_html == _shown(api, created["id"])
    # A title change leaves the stored rendering as it was (it still matches).
    api.patch(f"/services/{created['id']}", {"title": "旗舰店铺装修二"}, user=PROVIDER)
    assert _stored(created["id"]).content_html == stored.content_html


def test_a_read_answers_the_stored_html_while_its_fingerprint_matches(api):
    approved_provider(api)
    sid = draft(api)["id"]
    # Marked in the store behind the service's back: the read shows the mark, so it
    # rendered nothing.
    _stored(sid).update(actions=[ServiceModel.content_html.set("<p>stored</p>")])
    assert _shown(api, sid) == "<p>stored</p>"
    # The content changed without a new rendering (an item written before, or a write
    # that lost a race): the fingerprint no longer matches, and the read renders.
    _stored(sid).update(actions=[ServiceModel.content.set("## 直接写入")])
    assert _shown(api, sid) == "<h2>直接写入</h2>\n"
    _stored(sid).update(actions=[ServiceModel.content_html.remove(),
                                 ServiceModel.content_html_of.remove()])
    assert _shown(api, sid) == "<h2>直接写入</h2>\n"


def test_a_checked_picture_is_in_the_stored_html_at_once(api):
    approved_provider(api)
    sid = draft(api)["id"]
    image_id = uploaded(api, sid, picture())
    api.patch(f"/services/{sid}", {"content": f"![案例](image:{image_id})"}, user=PROVIDER)
    assert "src=" not in _stored(sid).content_html  # not checked yet: no source
    checked = check(api, sid, image_id)
    assert checked.status == 200, checked
    stored = _stored(sid)
    assert f'<img src="{checked.json["url"]}" alt="案例">' in stored.content_html
    assert stored.content_html_of == content.fingerprint(
        stored.content, {image_id: checked.json["url"]})
    assert _shown(api, sid) == stored.content_html
