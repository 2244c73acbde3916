"""Channels: setting and clearing the webhook and e-mail, the secret shown once, and the
addresses a webhook may never reach (in a deployed stage, and in the local stage)."""
import dataclasses
import re
from urllib.parse import quote

import pytest

from chalicelib import clock, settings
from chalicelib.services import channels
from chalicelib.storage.channels import ChannelsModel
from tests.api.channels_support import link_mails, link_token, mail_to_dir, open_link, read_mail

BUYER = "buyer-1"
PUBLIC_IP = "93.184.216.34"
REAL_RESOLVE = channels.resolve


@pytest.fixture
def deployed(monkeypatch):
    """The app as a deployed stage sees it (a real-looking secret signs the test tokens)."""
    cfg = dataclasses.replace(settings.get(), stage="prod",
                              jwt_secret="a-deployed-test-secret-" + "x" * 24)
    monkeypatch.setattr(settings, "_current", cfg)
    return cfg


@pytest.fixture
def resolves_to(monkeypatch):
    """Make every name resolve to the given addresses (no DNS from the tests)."""
    def set_(*addresses):
        monkeypatch.setattr(channels, "resolve", lambda host, port: list(addresses))
    set_(PUBLIC_IP)
    return set_


def put(api, body, user=BUYER):
    return api.put("/me/channels", body, user=user)


def test_setting_a_webhook_answers_its_secret_once(api, deployed, resolves_to):
    reply = put(api, {"webhook_url": "https://hooks.example.com/market", "email": "shop@example.com"})
    assert reply.status == 200, reply
    secret = reply.json["webhook_secret"]
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert ChannelsModel.get(BUYER).webhook_secret == secret
    shown = api.get("/me/channels", user=BUYER)
    assert shown.status == 200
    assert shown.json == {"webhook_url": "https://hooks.example.com/market",
                          "email": "shop@example.com", "email_verified": False}
    assert secret not in shown.raw.decode()
    # The same hook again keeps its secret and does not show it; a new hook gets a new one.
    again = put(api, {"webhook_url": "https://hooks.example.com/market"})
    assert "webhook_secret" not in again.json and ChannelsModel.get(BUYER).webhook_secret == secret
    other = put(api, {"webhook_url": "https://hooks.example.com/other"}).json["webhook_secret"]
    assert other != secret and ChannelsModel.get(BUYER).webhook_secret == other


def test_null_clears_and_absent_keeps(api, deployed, resolves_to):
    put(api, {"webhook_url": "https://hooks.example.com/market", "email": "shop@example.com"})
    assert put(api, {"email": None}).json == {"webhook_url": "https://hooks.example.com/market",
                                              "email": None, "email_verified": False}
    nothing = {"webhook_url": None, "email": None, "email_verified": False}
    assert put(api, {"webhook_url": None}).json == nothing
    assert ChannelsModel.get(BUYER).webhook_secret is None
    assert api.get("/me/channels", user="buyer-2").json == nothing


@pytest.mark.parametrize("url, addresses, problem", [
    ("http://hooks.example.com/market", [PUBLIC_IP], "https"),
    ("https://127.0.0.1/hook", None, "loopback"),
    ("https://localhost:8443/hook", ["127.0.0.1"], "loopback"),
    ("https://[::1]/hook", None, "loopback"),
    ("http://127.0.0.1:8080/hook", None, "https"),
    ("https://169.254.169.254/latest/meta-data", None, "link-local"),
    ("https://hooks.example.com/x", ["10.0.0.7"], "private"),
    ("https://hooks.example.com/x", [PUBLIC_IP, "192.168.1.2"], "private"),
    ("https://hooks.example.com/x", ["::ffff:10.0.0.7"], "private"),
    ("https://224.0.0.1/x", None, "multicast"),
    ("https://240.0.0.1/x", None, "reserved"),
    ("https://0.0.0.0/x", None, "unspecified"),
    ("ftp://hooks.example.com/x", [PUBLIC_IP], "https"),
    ("https://user:pw@hooks.example.com/x", [PUBLIC_IP], "password"),
    ("hooks.example.com", [PUBLIC_IP], "https"),
])
def test_a_deployed_stage_refuses_webhooks_into_its_own_network(api, deployed, monkeypatch,
                                                                url, addresses, problem):
    # A literal address goes through the real resolver, which needs no DNS for it.
    monkeypatch.setattr(channels, "resolve", REAL_RESOLVE if addresses is None
                        else lambda host, port: list(addresses))
    reply = put(api, {"webhook_url": url})
    assert reply.status == 422 and reply.error_code == "VALIDATION_FAILED", reply
    errors = reply.json["error"]["details"]["errors"]
    assert errors[0]["field"] == "webhook_url" and problem in errors[0]["problem"], errors
    assert api.get("/me/channels", user=BUYER).json["webhook_url"] is None


def test_an_unresolvable_host_is_refused(api, deployed, monkeypatch):
    def fails(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(channels, "resolve", fails)
    reply = put(api, {"webhook_url": "https://no-such-host.invalid/x"})
    assert reply.status == 422 and "resolve" in reply.json["error"]["details"]["errors"][0]["problem"]


def test_the_local_stage_allows_loopback_and_only_loopback(api):
    assert settings.get().stage == "local"
    ok = put(api, {"webhook_url": "http://127.0.0.1:8999/hook"})
    assert ok.status == 200 and len(ok.json["webhook_secret"]) == 64
    assert put(api, {"webhook_url": "http://localhost:8999/hook"}).status == 200
    for url in ("https://10.1.2.3/hook", "http://10.1.2.3/hook", "https://169.254.169.254/"):
        assert put(api, {"webhook_url": url}).status == 422, url


@pytest.mark.parametrize("email", ["no-at-sign", "a@@example.com", "a@b@example.com",
                                   "@example.com", "shop@", "shop @example.com",
                                   "x" * 250 + "@example.com", "shop@localhost"])
def test_bad_email_addresses_are_refused(api, email):
    reply = put(api, {"email": email})
    assert reply.status == 422 and reply.error_code == "VALIDATION_FAILED", (email, reply)
    assert api.get("/me/channels", user=BUYER).json["email"] is None


def test_bad_bodies_are_refused_in_the_error_shape(api):
    for body in ({"webhook_url": 7}, {"email": ["a@example.com"]}, {"sms": "138"}):
        reply = put(api, body)
        assert reply.status == 422 and reply.error_code == "VALIDATION_FAILED", (body, reply)
    bad_json = api.put("/me/channels", raw=b"{not json", user=BUYER)
    assert bad_json.status == 400 and bad_json.error_code == "INVALID_REQUEST"
    assert api.get("/me/channels").status == 401


# --- an e-mail address is used only once its owner confirmed it ----------------------
@pytest.fixture
def mail_dir(tmp_path, monkeypatch):
    return mail_to_dir(monkeypatch, tmp_path)


def the_link(mail_dir) -> tuple[str, str]:
    [mail] = link_mails(mail_dir)
    message = read_mail(mail)
    mail.unlink()
    return message["To"], message.get_content()


def test_a_new_address_is_sent_a_link_and_confirmed_once(api, mail_dir):
    reply = put(api, {"email": "shop@example.com"})
    assert reply.json["email_verified"] is False
    to, text = the_link(mail_dir)
    assert to == "shop@example.com" and "/me/channels/email/verify?token=" in text
    opened = open_link(api, text)
    assert opened.status == 200
    assert opened.json == {"email": "shop@example.com", "email_verified": True}
    assert api.get("/me/channels", user=BUYER).json["email_verified"] is True
    again = open_link(api, text)
    assert again.status == 404 and again.error_code == "NOT_FOUND"
    # The same confirmed address again stays confirmed and mails nothing.
    assert put(api, {"email": "shop@example.com"}).json["email_verified"] is True
    assert link_mails(mail_dir) == []


def test_a_link_expires(api, mail_dir):
    put(api, {"email": "shop@example.com"})
    _, text = the_link(mail_dir)
    clock.advance(settings.get().email_verify_seconds + 1)
    assert open_link(api, text).status == 404
    assert api.get("/me/channels", user=BUYER).json["email_verified"] is False


def test_a_changed_address_voids_the_old_link_and_the_confirmation(api, mail_dir):
    put(api, {"email": "shop@example.com"})
    _, first = the_link(mail_dir)
    assert open_link(api, first).status == 200
    assert put(api, {"email": "other@example.com"}).json["email_verified"] is False
    _, second = the_link(mail_dir)
    put(api, {"email": "third@example.com"})
    assert open_link(api, second).status == 404  # replaced by the third address's link
    _, third = the_link(mail_dir)
    assert open_link(api, third).json == {"email": "third@example.com", "email_verified": True}


def test_only_the_mailed_token_confirms(api, mail_dir):
    put(api, {"email": "shop@example.com"})
    _, text = the_link(mail_dir)
    user_part, secret = link_token(text).split(".", 1)
    forged = f"{user_part}.{secret[:-2]}xx"
    for token in (forged, secret, "garbage", "Li4u.x", "%ff%fe.x"):
        reply = api.get(f"/me/channels/email/verify?token={quote(token)}")
        assert reply.status == 404 and reply.error_code == "NOT_FOUND", token
    missing = api.get("/me/channels/email/verify")
    assert missing.status == 422 and missing.error_code == "VALIDATION_FAILED"
    assert api.get("/me/channels", user=BUYER).json["email_verified"] is False
    # Another user's token of their own does not confirm this address either.
    put(api, {"email": "mine@example.com"}, user="buyer-2")
    _, theirs = the_link(mail_dir)
    assert open_link(api, theirs).json["email"] == "mine@example.com"
    assert api.get("/me/channels", user=BUYER).json["email_verified"] is False
