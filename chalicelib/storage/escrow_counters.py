"""The one place an escrow's counters change, an order's or a contract's: every write of
`escrow_funded/held/released/refunded` is built here, and every one is checked first
(domain.escrow.checked_escrow) to keep `funded = held + released + refunded` and
`held ≥ 0` — raising, so a wrong change is never written.

A change is a dict of counter deltas (domain.escrow.fund/release/refund/reverse). Where
the item was read, its counters after the change are checked too; where it was not (a
refund the driver completes from its instruction alone), the change must balance and
DynamoDB refuses it unless `held` covers what leaves.
"""
from chalicelib.domain import escrow as money
from chalicelib.storage.contracts import ContractModel
from chalicelib.storage.orders import OrderModel

_ATTRIBUTE = {name: f"escrow_{name}" for name in money.COUNTERS}


def counters_of(item) -> dict:
    """An order's or a contract's escrow counters as read."""
    return {name: int(getattr(item, attr) or 0) for name, attr in _ATTRIBUTE.items()}


def update(model, deltas: dict, *, before=None, instructed: int = 0
           ) -> tuple[list, object | None]:
    """The ADD actions of a checked change of `model`'s (OrderModel or ContractModel)
    escrow, and the condition its item must meet (held covers what leaves; None when
    nothing leaves). `before`: the item as read, to check the counters after it.
    `instructed`: an order's refunds recorded (+) or paid out (−), part of what is held."""
    if model not in (OrderModel, ContractModel):
        raise TypeError(f"{model.__name__} holds no escrow")
    if any(int(delta) for delta in deltas.values()):
        # A change that leaves the escrow alone writes none of its counters.
        money.checked_escrow(deltas, counters_of(before) if before is not None else None)
    attributes = model.get_attributes()
    actions = [attributes[_ATTRIBUTE[name]].add(int(delta))
               for name, delta in deltas.items() if delta]
    if instructed:
        if model is not OrderModel:
            raise TypeError("a contract counts its refunds by deposit and bills")
        actions.append(OrderModel.escrow_instructed.add(instructed))
    held = int(deltas.get("held", 0))
    # Escrow never goes below zero, whatever ran before this change.
    condition = (attributes["escrow_held"] >= -held) if held < 0 else None
    return actions, condition


def mirror(item, deltas: dict) -> None:
    """Apply a checked change to `item` in memory (the answer a change gives from what it
    commits, without reading again)."""
    after = money.checked_escrow(deltas, counters_of(item))
    for name, value in after.items():
        setattr(item, _ATTRIBUTE[name], value)


def merged(*changes: dict) -> dict:
    """Several movements of one change, as one set of deltas."""
    out: dict = {}
    for change in changes:
        for name, delta in change.items():
            out[name] = out.get(name, 0) + int(delta)
    return out
