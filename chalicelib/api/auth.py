"""Bearer tokens: HS256 JWTs signed with the stage's secret, or, when JWT_JWKS_URL is
set (e.g. a Cognito user pool), RS256 JWTs verified against that JWKS. Claims `sub`,
`exp`, and the roles list (`roles`, or the claim named by JWT_ROLES_CLAIM)."""
import time
from datetime import datetime, timedelta, timezone

from chalicelib import secrets
from chalicelib import settings as settings_module
from chalicelib.api import jwks
from chalicelib.domain.actors import SYSTEM, Caller
from chalicelib.domain.errors import Unauthenticated


# Clock skew between the token's issuer and this function: iat/nbf up to 30 s ahead of
# us and exp up to 30 s behind are accepted.
LEEWAY_SECONDS = 30


def _jwt():
    """PyJWT, imported on the first token rather than at cold start: with cryptography
    (needed for RS256) it is about a third of the app's import time, which public
    requests — the market, a service page — never need."""
    import jwt

    return jwt


def _secret() -> str:
    return secrets.jwt_secret(settings_module.get())


def _decode(token: str, cfg) -> dict:
    jwt = _jwt()
    if not cfg.jwt_jwks_url:
        return jwt.decode(token, _secret(), algorithms=["HS256"], leeway=LEEWAY_SECONDS,
                          options={"require": ["exp", "sub"]})
    if not (cfg.jwt_issuer and cfg.jwt_audience):
        # Any token the identity provider signs for any of its apps would do otherwise.
        raise settings_module.ConfigurationError(
            "JWT_JWKS_URL needs JWT_ISSUER and JWT_AUDIENCE")
    key = jwks.key_set(cfg.jwt_jwks_url).key(jwt.get_unverified_header(token).get("kid"))
    if key is None:
        raise jwt.InvalidKeyError("no such signing key")
    # Only RS256: accepting the JWKS key as an HMAC secret would let anyone sign tokens.
    return jwt.decode(token, key, algorithms=["RS256"], audience=cfg.jwt_audience,
                      issuer=cfg.jwt_issuer, leeway=LEEWAY_SECONDS,
                      options={"require": ["exp", "sub", "iss", "aud"]})


def caller_from_headers(headers) -> Caller | None:
    """The caller named by the Authorization header; None if there is none.

    Expiry is checked against the real time, not the app's movable clock: moving the
    local clock must not invalidate the tokens a developer is using.
    """
    raw = headers.get("authorization")
    if raw is None:
        return None
    scheme, _, token = raw.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 4096:
        raise Unauthenticated("expected 'Authorization: Bearer <token>'")
    cfg = settings_module.get()
    jwt = _jwt()
    try:
        claims = _decode(token.strip(), cfg)
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired")
    except jwt.PyJWTError:
        raise Unauthenticated("the token is invalid")
    if _lives_too_long(claims, cfg.jwt_max_lifetime_seconds):
        raise Unauthenticated("the token lives longer than allowed")
    sub, roles = claims.get("sub"), claims.get(cfg.jwt_roles_claim, [])
    if not isinstance(sub, str) or not 1 <= len(sub) <= 128 or "#" in sub:
        raise Unauthenticated("the token's subject is invalid")
    if sub.casefold() == SYSTEM.user_id:
        # Order events name the scheduler `system`: a user by that name would read, in
        # an order's history, as the platform itself.
        raise Unauthenticated("the token's subject is reserved")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("the token's roles are invalid")
    # "system" is the scheduled jobs' own role (actors.SYSTEM: it may fund and expire any
    # order); a bearer token claiming it must get no more than any other user.
    return Caller(sub, frozenset(roles) - SYSTEM.roles)


def _lives_too_long(claims: dict, max_seconds: int) -> bool:
    """A token good for longer than `max_seconds`: a leaked one would stay useful for
    that long. With `iat`, its own span decides; without, how far its `exp` is from now
    (the real time, as for expiry)."""
    exp, iat = claims["exp"], claims.get("iat")
    if iat is not None:
        return exp - iat > max_seconds
    return exp - time.time() > max_seconds + LEEWAY_SECONDS


def issue_token(sub: str, roles: list[str], ttl_seconds: int = 24 * 3600) -> str:
    now = datetime.now(timezone.utc)
    exp = now + timedelta(seconds=ttl_seconds)
    return _jwt().encode({"sub": sub, "roles": roles, "iat": now, "exp": exp}, _secret(),
                         algorithm="HS256")
