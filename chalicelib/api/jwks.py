"""The signing keys of a JWKS (e.g. a Cognito user pool), cached for the container.

A token names its key by `kid`. The key set is fetched on the first token and kept for
CACHE_SECONDS; a `kid` that is not in it may be a rotated key, so it refetches, but at
most once per REFETCH_SECONDS: tokens with made-up kids must not turn every request
(public ones included) into a call to the identity provider. An endpoint that cannot be
reached, or answers something that is not a key set, is ServiceUnavailable (503) while
no keys are known, and is tried again after RETRY_SECONDS; known keys outlive a failed
refresh.
"""
import json
import logging
import threading
import time

from chalicelib.domain.errors import ServiceUnavailable

log = logging.getLogger("market.auth")

CACHE_SECONDS = 3600
REFETCH_SECONDS = 60
RETRY_SECONDS = 5
FETCH_TIMEOUT_SECONDS = 5
MAX_BYTES = 512 * 1024


class JwksUnavailable(ServiceUnavailable):
    default_message = "the identity provider's signing keys could not be read; retry shortly"
    retry_after_seconds = RETRY_SECONDS


def _download(url: str) -> bytes:
    import urllib.request  # only JWKS stages pay for it, on their first token

    # urlopen follows the URL's scheme; settings refuse anything but https outside the
    # local stage.
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as answer:
        return answer.read(MAX_BYTES + 1)


def parse(raw: bytes) -> dict:
    """kid -> PyJWK of every usable signing key in a JWKS document."""
    import jwt

    if len(raw) > MAX_BYTES:
        raise ValueError("the JWKS is larger than %d bytes" % MAX_BYTES)
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the JWKS is not a JSON object")
    keys = {}
    for key in jwt.PyJWKSet.from_dict(data).keys:
        if key.public_key_use in (None, "sig"):
            keys[key.key_id] = key
    return keys


class KeySet:
    """The keys of one JWKS URL, fetched lazily and refetched sparingly."""

    def __init__(self, url: str, clock=time.monotonic):
        self.url = url
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict | None = None
        self._fetched_at = 0.0
        self._retry_at = 0.0  # after a failed fetch
        self._lookup_at = 0.0  # the next refetch an unknown kid may cause

    def key(self, kid):
        """The public key named `kid`, or None if the identity provider has no such key."""
        with self._lock:
            now = self._clock()
            if self._keys is None or now - self._fetched_at >= CACHE_SECONDS:
                self._refresh(now)
            elif kid not in self._keys and now >= self._lookup_at:
                # Perhaps a key rotated in since we fetched: look once, then not again
                # for a while, whatever kids the next tokens make up.
                self._lookup_at = now + REFETCH_SECONDS
                self._refresh(now)
            if self._keys is None:
                raise JwksUnavailable()
            found = self._keys.get(kid)
            return found.key if found is not None else None

    def _refresh(self, now: float) -> None:
        if now < self._retry_at:
            return
        try:
            keys = parse(_download(self.url))
        except Exception as error:  # noqa: BLE001 - unreachable, not JSON, not a key set
            log.error("the JWKS at %s could not be read: %r", self.url, error)
            self._retry_at = now + RETRY_SECONDS
            return
        self._keys, self._fetched_at = keys, now


_lock = threading.Lock()
_sets: dict[str, KeySet] = {}


def key_set(url: str) -> KeySet:
    with _lock:
        found = _sets.get(url)
        if found is None:
            found = _sets[url] = KeySet(url)
        return found


def forget() -> None:
    """Drop every cached key set (tests)."""
    with _lock:
        _sets.clear()
