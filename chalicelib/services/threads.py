"""The conversation a message or a file belongs to: an order, or a contract (包月合同).
Messages and attachments ask it who the caller is there and whether they may write, so
both aggregates share one implementation of talk and files."""
from dataclasses import dataclass

from chalicelib.domain import contracts as contract_life
from chalicelib.domain import messages as message_rules
from chalicelib.domain import orders as order_life
from chalicelib.domain.actors import Caller
from chalicelib.services import orders
from chalicelib.services.contracts import state as contracts
from chalicelib.services.contracts.reading import statements_of


@dataclass(frozen=True)
class Thread:
    id: str
    role: str  # the caller's: buyer, provider, operator (or system)
    status: str
    buyer_id: str
    provider_id: str
    service_id: str
    title: str
    operator_may_write: bool  # operators join a conversation only over a dispute
    closed: bool  # over: its conversation is a record, and no new files are asked for


ORDER, CONTRACT = "order", "contract"


def open_thread(caller: Caller, thread_id: str, kind: str = ORDER) -> Thread:
    """The order or contract `thread_id` (as the route names it) as `caller` sees it: a
    stranger, or an id of the other kind, is 404 like an unknown one."""
    if kind == CONTRACT:
        contract = contracts.load(thread_id)
        role = contracts.role_of(caller, contract)
        disputed = role == message_rules.OPERATOR and any(
            s.status == "disputed" for s in statements_of(contract.id))
        return Thread(contract.id, role, contract.status, contract.buyer_id,
                      contract.provider_id, contract.service_id, contract.service.title,
                      disputed, contract.status in contract_life.CLOSED)
    order = orders.load(thread_id)
    role = orders.role_of(caller, order)
    return Thread(order.id, role, order.status, order.buyer_id, order.provider_id,
                  order.service_id, order.service.title,
                  order.status in message_rules.OPERATOR_STATUSES, order.status in order_life.CLOSED)
