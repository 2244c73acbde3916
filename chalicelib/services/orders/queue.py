"""The operators' view of orders: every order in one status, and the dispute queue."""
from chalicelib.domain import orders as life
from chalicelib.services.orders.reading import present
from chalicelib.storage.orders import OrderModel

# A queue is worked first in, first out; any other status is browsed newest first, as
# every other order list is.
OLDEST_FIRST = frozenset({life.DISPUTED})


def list_in_status(operator, status: str, *, limit: int,
                   start_key) -> tuple[list[dict], dict | None]:
    """Every order in `status` (operators): disputed ones oldest dispute first."""
    result = OrderModel.by_status.query(status, scan_index_forward=status in OLDEST_FIRST,
                                        limit=limit, last_evaluated_key=start_key)
    return [present(o, operator) for o in result], result.last_evaluated_key
