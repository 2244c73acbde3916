"""Payment routes: the gateways' notifications (public: the gateway's signature is the
authentication) and the operators' reconciliation of gateway records with the ledger."""
from urllib.parse import parse_qsl

from chalice import Blueprint, Response

from chalicelib import lazy
from chalicelib import observability
from chalicelib.api import answers
from chalicelib.api.routing import OPERATOR, PUBLIC, route
from chalicelib.domain.errors import InvalidRequest

settling = lazy.module("chalicelib.payments.settling")
reconciliation = lazy.module("chalicelib.services.reconciliation")

bp = Blueprint(__name__)

FORM = "application/x-www-form-urlencoded"


@route(bp, "/payments/{gateway}/notify", "POST", auth=PUBLIC, content_types=[FORM],
       answers="text/plain", tag="payments")
def gateway_notification(req):
    """A gateway's asynchronous payment notification (Alipay: a signed form post,
    answered with the plain text `success`)."""
    try:
        form = dict(parse_qsl(req.raw_body.decode("utf-8"), keep_blank_values=True,
                              strict_parsing=False))
    except UnicodeDecodeError:
        raise InvalidRequest("the notification is not UTF-8") from None
    ack = settling.receive_notification(req.params["gateway"], form, req.now)
    return Response(body=ack, status_code=200,
                    headers={"Content-Type": "text/plain; charset=utf-8"})


@route(bp, "/admin/reconciliation", "GET", auth=OPERATOR, response=answers.RECONCILIATION,
       tag="admin")
def reconciliation_report(req):
    """Audit: every gateway payment record against the ledger, with every mismatch."""
    report = reconciliation.report(req.now)
    # Charted for operators: a report run on purpose that finds differences is a page.
    observability.metric("ReconciliationDifferences", len(report["mismatches"]))
    return report
