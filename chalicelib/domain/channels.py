"""Rules for where notifications may be sent, without I/O: the shape of a webhook URL,
which addresses a webhook may never reach, and what passes for an e-mail address.

A webhook is a request our servers make on a user's behalf, so an address inside the
platform's own network (private, loopback, link-local such as the instance metadata
service, multicast, reserved) would turn it into a probe of that network (SSRF). The
local stage lets a developer point it at loopback, and nothing else more.
"""
import ipaddress
from urllib.parse import urlsplit

EMAIL_MAX = 254
# The console page an e-mail verification link opens (GET, public).
VERIFY_PATH = "/me/channels/email/verify"
URL_MAX = 2048


def webhook_url_problem(url: str, *, local: bool) -> str | None:
    """What is wrong with the URL's shape (None: fine); addresses are checked apart."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if len(url) > URL_MAX:
        return "is too long"
    if parts.scheme not in ("https", "http"):
        return "must be an https URL"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if port == 0:
        return "has no valid port"
    if parts.scheme == "http" and not (local and is_loopback_name(parts.hostname)):
        return "must be an https URL (http only to loopback in the local stage)"
    return None


def is_loopback_name(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_problem(address: str, *, local: bool) -> str | None:
    """Why a webhook may not reach this IP address (None: it may)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if getattr(ip, "ipv4_mapped", None) is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if local else "resolves to a loopback address"
    for label, refused in (("an unspecified", ip.is_unspecified), ("a link-local", ip.is_link_local),
                           ("a multicast", ip.is_multicast), ("a reserved", ip.is_reserved),
                           ("a private", ip.is_private)):
        if refused:
            return f"resolves to {label} address"
    if not ip.is_global:
        return "resolves to an address that is not public"
    return None


def email_problem(email: str) -> str | None:
    """A simple check: one @, something on either side, no spaces, at most 254 chars."""
    if len(email) > EMAIL_MAX:
        return "is too long"
    if email.count("@") != 1:
        return "must contain exactly one @"
    local_part, domain = email.split("@")
    if not local_part or not domain or "." not in domain.strip("."):
        return "is not an e-mail address"
    if any(c.isspace() for c in email):
        return "must not contain spaces"
    return None
