"""E-mail channels in tests: mail written to a directory of the test's own, and the
confirmation link an address's owner opens."""
import dataclasses
import email
import re
from email import policy
from urllib.parse import quote, unquote

from chalicelib import settings

BUYER = "buyer-1"


def mail_to_dir(monkeypatch, tmp_path):
    """Mail goes to <tmp_path>/mail as .eml files (the local stage's outbox)."""
    monkeypatch.setattr(settings, "_current", dataclasses.replace(
        settings.get(), local_data_dir=str(tmp_path), mail_transport="outbox"))
    return tmp_path / "mail"


def read_mail(path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def link_token(mail_text: str) -> str:
    return unquote(re.search(r"\?token=(\S+)", mail_text).group(1))


def open_link(api, mail_text: str):
    """What the address's owner does: open the confirmation link the mail carries."""
    return api.get(f"/me/channels/email/verify?token={quote(link_token(mail_text))}")


def link_mails(mail_dir) -> list:
    return sorted(mail_dir.glob("*-verify-*.eml")) if mail_dir.exists() else []


def confirm_email(api, mail_dir, address="shop@example.com", user=BUYER) -> None:
    """Set the address and open its link (then drop that mail, so only notices remain)."""
    assert api.put("/me/channels", {"email": address}, user=user).status == 200
    [mail] = link_mails(mail_dir)
    reply = open_link(api, read_mail(mail).get_content())
    assert reply.status == 200, reply
    mail.unlink()
