"""Order use cases: place, pay, and every transition of the life cycle.

engine (load, role, facts, the change that commits, timers, notices), reading (the
order answer, lists), placing (place, pay, confirm funding) and actions (the verbs).
Callers import from here.
"""
from chalicelib.services.orders.actions import (accept_order, approve_order, cancel_order,
                                                close_unpaid, dispute_order, expire_unaccepted,
                                                mark_late_cancel_eligible, reject_order,
                                                request_revision, resolve_order)
from chalicelib.services.orders.engine import (facts, load, order_deadlines, role_of,
                                               timer_actions, timer_inputs, transition, windows)
from chalicelib.services.orders.placing import confirm_funding, pay_order, place_order
from chalicelib.services.orders.reading import (get_order, list_events, list_orders, present,
                                                present_event)

__all__ = [
    "accept_order", "approve_order", "cancel_order", "close_unpaid", "confirm_funding",
    "dispute_order", "expire_unaccepted", "facts", "get_order", "list_events", "list_orders",
    "load", "mark_late_cancel_eligible", "order_deadlines", "pay_order", "place_order",
    "present", "present_event", "reject_order", "request_revision", "resolve_order",
    "role_of", "timer_actions", "timer_inputs", "transition", "windows",
]
