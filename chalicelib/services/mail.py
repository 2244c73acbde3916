"""Sending mail: through SES, or, locally, into an outbox directory of .eml files.

Notices (services.outbox) and e-mail confirmation links (services.channels) both leave
through here. Any failure — a header that cannot be built, SES refusing, a full disk —
is `DeliveryFailed`, the one failure a channel has, so a caller never crashes on a bad
message and always records what became of it.
"""
import email.policy
from email.message import EmailMessage
from pathlib import Path

from chalicelib import settings

SUBJECT_PREFIX = "[服务市场] "
SUBJECT_TEXT_MAX = 60


class DeliveryFailed(Exception):
    """A channel did not take the notice (non-2xx, timeout, refused address, mail error)."""


def subject_line(text: str) -> str:
    """A Subject made from free text: every run of whitespace (newlines, tabs, Unicode
    line separators) becomes one space, since a header may never carry a line break."""
    return SUBJECT_PREFIX + " ".join(text.split())[:SUBJECT_TEXT_MAX]


class Mailer:
    """Sends plain-text mail: through SES, or into the local outbox directory."""

    def __init__(self, cfg=None):
        self.cfg = cfg or settings.get()
        self._ses = None

    def send(self, to: str, subject: str, body: str, *, name: str,
             headers: dict | None = None) -> None:
        """Mail `body` to `to`; `name` names the .eml in the local outbox."""
        try:
            message = EmailMessage()
            message["From"] = self.cfg.mail_from or "notifications@market.local"
            message["To"] = to
            message["Subject"] = subject_line(subject)
            for header, value in (headers or {}).items():
                message[header] = value
            # 8bit, not base64: the local outbox's .eml files read as text with `cat`.
            message.set_content(body, cte="8bit")
            if self.cfg.mail_transport == "outbox":
                self._to_outbox(message, name)
            else:
                self._to_ses(message)
        except DeliveryFailed:
            raise
        except Exception as error:  # noqa: BLE001 - any header, SES or disk failure is this channel failing
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from None

    def _to_outbox(self, message: EmailMessage, name: str) -> None:
        folder = self.outbox_dir(self.cfg)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.eml").write_bytes(
            message.as_bytes(policy=email.policy.default.clone(utf8=True)))

    @staticmethod
    def outbox_dir(cfg=None) -> Path:
        return Path((cfg or settings.get()).local_data_dir) / "mail"

    def _to_ses(self, message: EmailMessage) -> None:
        if not self.cfg.mail_from:
            raise DeliveryFailed("MAIL_FROM is not set")
        if self._ses is None:
            import boto3

            self._ses = boto3.client("ses", region_name=self.cfg.region)
        self._ses.send_email(
            Source=self.cfg.mail_from, Destination={"ToAddresses": [message["To"]]},
            Message={"Subject": {"Data": message["Subject"], "Charset": "UTF-8"},
                     "Body": {"Text": {"Data": message.get_content(), "Charset": "UTF-8"}}})
