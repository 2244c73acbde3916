"""Shared ground for the attack tests: one moto world per test module (tables, bucket,
approved providers, a few orders of other users), bearer tokens of every kind an
attacker might send, and builders that put an order or a service in the state where
one action is valid, so the right party's call really succeeds.

A module-scoped world keeps a matrix of hundreds of cases fast on moto: each case
builds the fresh resource it needs instead of recreating every table.
"""
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import jwt

from chalicelib import secrets, settings
from tests.api.catalog_support import (APPLICATION, approved_provider, draft, image_bytes, listed,
                                       service_body, with_logo)
from tests.api.orders_support import (BUYER, OPERATOR, PROVIDER, accepted_order, deliver,
                                      listed_service, paid_order, place)
from tests.support import ApiClient

OTHER_BUYER, OTHER_PROVIDER, INTRUDER = "buyer-2", "provider-2", "intruder-9"
UNKNOWN_ID = "ord_0000000000000000000000000"  # shaped like an id, belongs to nothing

# Every kind of caller the matrix tries. The first four never authenticate.
NO_TOKEN, EXPIRED, FORGED, MALFORMED = "no_token", "expired", "forged", "malformed"
BAD_TOKENS = (NO_TOKEN, EXPIRED, FORGED, MALFORMED)
ANOTHER_BUYER, ANOTHER_PROVIDER = "another_buyer", "another_provider"
# A stranger whose token claims the internal "system" role: it must buy them nothing.
SYSTEM_CLAIM = "system_claim"
STRANGERS = (ANOTHER_BUYER, ANOTHER_PROVIDER, SYSTEM_CLAIM)
PARTY, COUNTERPART, OPERATOR_CALLER = "party", "counterpart", "operator"
CALLERS = BAD_TOKENS + STRANGERS + (PARTY, COUNTERPART, OPERATOR_CALLER)


def token(sub: str, roles=(), *, exp_delta=timedelta(hours=1), secret: str | None = None,
          algorithm="HS256", **claims) -> str:
    payload = {"sub": sub, "roles": list(roles),
               "exp": datetime.now(timezone.utc) + exp_delta, **claims}
    return jwt.encode(payload, secret or secrets.jwt_secret(settings.get()),
                      algorithm=algorithm)


def auth_header(kind: str, party: str, party_is_operator: bool = False) -> dict:
    """The Authorization header of one bad-token kind, aimed at the right party."""
    roles = ["operator"] if party_is_operator else []
    if kind == NO_TOKEN:
        return {}
    if kind == EXPIRED:
        return {"Authorization": "Bearer " + token(party, roles, exp_delta=timedelta(minutes=-5))}
    if kind == FORGED:
        forged = token(party, ["operator"], secret="a-different-secret-of-32-bytes-or-more!")
        return {"Authorization": "Bearer " + forged}
    if kind == MALFORMED:
        return {"Authorization": "Bearer not.a.jwt"}
    raise ValueError(kind)


@dataclass
class Target:
    """One resource in the state an action needs: the path to call, who the right party
    and the other party are, and how to read back its state (for 'nothing changed')."""

    params: dict  # the route's path parameters
    party: str
    counterpart: str | None = None
    body: object = None
    raw: bytes | None = None
    content_type: str = "application/json"
    probe: Callable[[], object] | None = None
    query: str = ""  # appended to the path (e.g. "?token=…")


class World:
    """The shared scene: provider-1 and provider-2 approved, each with a listed service;
    buyer-2 has an order of their own with provider-2."""

    def __init__(self, api: ApiClient):
        self.api = api
        self.numbers = itertools.count(100)
        approved_provider(api, PROVIDER)
        approved_provider(api, OTHER_PROVIDER)
        theirs = listed_service(provider=OTHER_PROVIDER, title="别人的客服外包")
        self.their_order = place(api, theirs, buyer=OTHER_BUYER).json["id"]
        assert api.post(f"/orders/{self.their_order}/pay", user=OTHER_BUYER).status == 200

    def n(self) -> int:
        return next(self.numbers)

    # --- orders between buyer-1 and provider-1 --------------------------------------
    def order(self, state: str) -> str:
        api = self.api
        if state == "awaiting_payment":
            return place(api, listed_service()).json["id"]
        if state == "negotiable":  # awaiting payment, at a price the buyer offered
            service = listed_service(pricing="negotiable", price=80000, title="logo设计")
            return place(api, service, price=60000).json["id"]
        if state == "awaiting_provider":
            return paid_order(api)
        oid = accepted_order(api)
        if state == "in_progress":
            return oid
        assert deliver(api, oid).status == 200
        if state == "in_review":
            return oid
        if state == "completed":
            assert api.post(f"/orders/{oid}/approve", user=BUYER).status == 200
            return oid
        raise ValueError(state)

    def disputed_order(self) -> str:
        oid = accepted_order(self.api)
        reply = self.api.post(f"/orders/{oid}/dispute", {"reason": "交付物与需求不符"}, user=BUYER)
        assert reply.status == 200, reply
        return oid

    def order_probe(self, oid: str):
        def probe():
            api = self.api
            order = api.get(f"/orders/{oid}", user=OPERATOR, operator=True).json
            events = api.get(f"/orders/{oid}/events?limit=100", user=OPERATOR, operator=True)
            files = api.get(f"/orders/{oid}/deliverables", user=OPERATOR, operator=True)
            reviews = api.get(f"/orders/{oid}/reviews", user=OPERATOR, operator=True)
            deals = api.get(f"/orders/{oid}/proposals?limit=100", user=OPERATOR, operator=True)
            return (order["status"], order["amount"], order["escrow"], order["revision_count"],
                    len(events.json["items"]), len(files.json["items"]),
                    len(reviews.json["items"]), order["due_at"],
                    [p["status"] for p in deals.json["items"]])
        return probe

    # --- services of provider-1 -----------------------------------------------------
    def draft(self, logo: bool = False) -> str:
        service = draft(self.api, PROVIDER, n=self.n())
        if logo:
            with_logo(self.api, service["id"], PROVIDER)
        return service["id"]

    def listed(self) -> str:
        return listed(self.api, PROVIDER, n=self.n())["id"]

    def service_probe(self, sid: str):
        return lambda: self.api.get(f"/services/{sid}", user=OPERATOR, operator=True).json

    # --- providers --------------------------------------------------------------------
    def applicant(self) -> str:
        user = f"applicant-{self.n()}"
        assert self.api.post("/providers/me/application", APPLICATION, user=user).status == 201
        return user

    def provider_probe(self, user: str):
        return lambda: self.api.get("/providers/me", user=user).json


def new_service_body(world: World) -> dict:
    return service_body(world.n())


def logo_bytes() -> bytes:
    return image_bytes()
