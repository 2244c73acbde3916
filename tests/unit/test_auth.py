"""Bearer tokens: what is accepted and what is refused, without AWS."""
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from chalicelib.api import auth
from chalicelib.domain.errors import Unauthenticated


def _bearer(token):
    return {"authorization": f"Bearer {token}"}


def test_a_valid_token_names_the_caller_and_roles():
    caller = auth.caller_from_headers(_bearer(auth.issue_token("op-1", ["operator"])))
    assert caller.user_id == "op-1" and caller.is_operator


def test_no_header_is_anonymous():
    assert auth.caller_from_headers({}) is None


@pytest.mark.parametrize("token", [
    jwt.encode({"sub": "mallory", "exp": datetime.now(timezone.utc) + timedelta(hours=1)},
               "not-the-secret", algorithm="HS256"),
    "garbage",
    "",
], ids=["forged", "garbage", "empty"])  # stable ids: parallel workers must collect the same
def test_forged_or_garbage_tokens_are_refused(token):
    with pytest.raises(Unauthenticated):
        auth.caller_from_headers(_bearer(token))


def test_expired_token_is_refused():
    token = jwt.encode({"sub": "buyer-1", "exp": datetime.now(timezone.utc) - timedelta(seconds=60)},
                       auth._secret(), algorithm="HS256")
    with pytest.raises(Unauthenticated, match="expired"):
        auth.caller_from_headers(_bearer(token))


def test_a_token_without_exp_is_refused():
    token = jwt.encode({"sub": "buyer-1"}, auth._secret(), algorithm="HS256")
    with pytest.raises(Unauthenticated):
        auth.caller_from_headers(_bearer(token))


def test_alg_none_is_refused():
    token = jwt.encode({"sub": "x", "exp": datetime.now(timezone.utc) + timedelta(hours=1)},
                       None, algorithm="none")
    with pytest.raises(Unauthenticated):
        auth.caller_from_headers(_bearer(token))



def _signed(**claims):
    return _bearer(jwt.encode({"sub": "buyer-1", **claims}, auth._secret(), algorithm="HS256"))


def test_clocks_a_few_seconds_apart_do_not_refuse_a_fresh_token():
    """The issuer's clock may run up to 30 s ahead of ours (iat, nbf) or behind (exp)."""
    now = datetime.now(timezone.utc)
    for claims in ({"iat": now + timedelta(seconds=10), "exp": now + timedelta(hours=1)},
                   {"nbf": now + timedelta(seconds=10), "exp": now + timedelta(hours=1)},
                   {"exp": now - timedelta(seconds=10)}):
        assert auth.caller_from_headers(_signed(**claims)).user_id == "buyer-1", claims


def test_beyond_the_leeway_tokens_are_still_refused():
    now = datetime.now(timezone.utc)
    for claims in ({"nbf": now + timedelta(seconds=90), "exp": now + timedelta(hours=1)},
                   {"iat": now + timedelta(seconds=90), "exp": now + timedelta(hours=1)},
                   {"exp": now - timedelta(seconds=90)}):
        with pytest.raises(Unauthenticated):
            auth.caller_from_headers(_signed(**claims))


@pytest.mark.parametrize("sub", ["system", "SYSTEM", "System"])
def test_a_user_token_cannot_take_the_schedulers_name(sub):
    """Order events name the scheduler `system`; no user may appear as it."""
    with pytest.raises(Unauthenticated):
        auth.caller_from_headers(_bearer(auth.issue_token(sub, [])))


def test_a_token_issued_for_longer_than_the_maximum_lifetime_is_refused():
    now = datetime.now(timezone.utc)
    with pytest.raises(Unauthenticated, match="longer than allowed"):
        auth.caller_from_headers(_signed(iat=now, exp=now + timedelta(hours=24, seconds=1)))
    assert auth.caller_from_headers(_signed(iat=now, exp=now + timedelta(hours=24)))


def test_without_iat_an_exp_too_far_from_now_is_refused():
    now = datetime.now(timezone.utc)
    with pytest.raises(Unauthenticated, match="longer than allowed"):
        auth.caller_from_headers(_signed(exp=now + timedelta(days=365)))
    assert auth.caller_from_headers(_signed(exp=now + timedelta(hours=23)))


def test_the_maximum_lifetime_is_a_setting(monkeypatch):
    from chalicelib import settings

    monkeypatch.setenv("JWT_MAX_LIFETIME_SECONDS", "3600")
    settings.reload()
    try:
        with pytest.raises(Unauthenticated, match="longer than allowed"):
            auth.caller_from_headers(_bearer(auth.issue_token("buyer-1", [])))
        assert auth.caller_from_headers(_bearer(auth.issue_token("buyer-1", [], 3600)))
    finally:
        monkeypatch.undo()
        settings.reload()
