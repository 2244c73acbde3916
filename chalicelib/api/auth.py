"""Bearer tokens: HS256 JWTs signed with JWT_SECRET, claims `sub`, `exp`, `roles`."""
from datetime import datetime, timedelta, timezone

import jwt

from chalicelib import settings as settings_module
from chalicelib.domain.actors import Caller
from chalicelib.domain.errors import Unauthenticated


def _secret() -> str:
    cfg = settings_module.get()
    if cfg.jwt_secret:
        return cfg.jwt_secret
    if cfg.is_local:
        return settings_module.LOCAL_DEFAULT_JWT_SECRET
    raise settings_module.ConfigurationError("JWT_SECRET is not set")


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
    try:
        claims = jwt.decode(token.strip(), _secret(), algorithms=["HS256"],
                            options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired")
    except jwt.PyJWTError:
        raise Unauthenticated("the token is invalid")
    sub, roles = claims.get("sub"), claims.get("roles", [])
    if not isinstance(sub, str) or not 1 <= len(sub) <= 128 or "#" in sub:
        raise Unauthenticated("the token's subject is invalid")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("the token's roles are invalid")
    return Caller(sub, frozenset(roles))


def issue_token(sub: str, roles: list[str], ttl_seconds: int = 24 * 3600) -> str:
    exp = datetime.now(timezone.utc) + timedelta(seconds=ttl_seconds)
    return jwt.encode({"sub": sub, "roles": roles, "exp": exp}, _secret(), algorithm="HS256")
