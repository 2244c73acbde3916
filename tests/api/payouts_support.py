"""Shared steps for the payout tests: a provider who has earned money and set where it
is paid, and the figures to read back."""
from tests.api.catalog_support import approved_provider
from tests.api.orders_support import BUYER, PROVIDER, accepted_order, deliver

ALIPAY = {"account": "13800138000", "name": "张小美"}


def earned(api, price=50000, *, provider=PROVIDER, approve_provider=True) -> str:
    """An approved provider with `price` released to them (no fee unless set)."""
    if approve_provider:
        approved_provider(api, user=provider)
    order_id = accepted_order(api, price=price)
    deliver(api, order_id)
    assert api.post(f"/orders/{order_id}/approve", user=BUYER).json["status"] == "completed"
    return order_id


def with_payout_account(api, user=PROVIDER, **changes):
    reply = api.put("/providers/me/payout-account", {**ALIPAY, **changes}, user=user)
    assert reply.status == 200, reply
    return reply.json


def balance(api, user=PROVIDER) -> dict:
    return api.get("/me/balance", user=user).json


def withdraw(api, amount, user=PROVIDER, **kw):
    return api.post("/me/withdrawals", {"amount": amount}, user=user, **kw)


def withdrawal(api, withdrawal_id, user=PROVIDER) -> dict:
    items = api.get("/me/withdrawals?limit=100", user=user).json["items"]
    return next(w for w in items if w["id"] == withdrawal_id)


def pay_out(api) -> dict:
    """Run the instruction driver the way the scheduler does."""
    return api.invoke("release_escrow").payload
