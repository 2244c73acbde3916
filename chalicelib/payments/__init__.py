"""Payments: the gateway port (types, statuses, errors) and the registry that picks the
stage's gateway. Callers write `payments.gateway().charge(...)`, `payments.SUCCEEDED`."""
from chalicelib.payments.port import (CLOSED, MISSING, PENDING, SUCCEEDED, GatewayError,
                                      NotificationRefused, NotifyingGateway, PaymentGateway,
                                      PaymentResult, TradeStatus, TransferRefused)
from chalicelib.payments.registry import forget, gateway, gateway_name, use

__all__ = ["CLOSED", "MISSING", "PENDING", "SUCCEEDED", "GatewayError", "NotificationRefused",
           "NotifyingGateway", "PaymentGateway", "PaymentResult", "TradeStatus",
           "TransferRefused", "forget", "gateway", "gateway_name", "use"]
