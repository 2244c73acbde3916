"""What each order move tells whom: the notices a move writes in its own transaction."""
from datetime import datetime

from chalicelib import clock
from chalicelib.domain import escrow as money
from chalicelib.domain import orders as life
from chalicelib.domain import proposals as deals
from chalicelib.services import notifications
from chalicelib.storage.orders import OrderModel


def _by_buyer(change) -> bool:
    return change.actor.user_id == change.order.buyer_id


# action → (who hears of it: buyer | provider | both | other (the actor's counterpart),
# notice kind, text: a string or a function of (order, change)). Notices to the provider
# name the amount: it is the provider's money being talked about.
_NOTICES = {
    life.PAY: ("provider", "order_paid",
               lambda o, c: f"买家已付款 {money.yuan(int(o.amount))}，等待您确认"),
    life.ACCEPT: ("buyer", "accepted", "服务商已接单"),
    life.REJECT: ("buyer", "rejected", "服务商拒绝了订单，款项将原路退回"),
    life.DELIVER: ("buyer", "delivered", "服务商已上传终稿，请验收"),
    life.APPROVE: ("provider", "approved",
                   lambda o, c: f"买家已验收，{money.yuan(c.data.get('amount', 0))} 已结算"),
    life.AUTO_APPROVE: ("both", "approved",
                        lambda o, c: f"验收期已过，系统已自动验收，"
                                     f"{money.yuan(c.data.get('amount', 0))} 已结算给服务商"),
    life.REQUEST_REVISION: ("provider", "revision_requested", "买家要求修改"),
    life.CANCEL: ("other", "cancelled",
                  lambda o, c: "买家取消了订单" if _by_buyer(c)
                  else "服务商取消了订单，款项将原路退回"),
    # Every price notice states the plan (each step's amount and when it is released):
    # the same amount with other steps is another deal.
    life.SET_PRICE: ("other", "price_changed",
                     lambda o, c: f"买家将价格改为 {money.yuan(int(c.params['amount']))}，"
                     f"{money.describe_plan(c.milestones)}，请确认或改价"
                     if _by_buyer(c) else
                     f"服务商将价格定为 {money.yuan(int(c.params['amount']))}，"
                     f"{money.describe_plan(c.milestones)}，确认后即可付款"),
    # Both: the one who opened it learns it is in the queue, the other that it was opened.
    life.DISPUTE: ("both", "disputed", "订单进入纠纷处理，平台小二将介入"),
    # The operator's note is the decision's reasons: both parties read it.
    life.RESOLVE: ("both", "resolved",
                   lambda o, c: f"平台已裁决：{c.data['note']}" if c.data.get("note")
                   else "平台已裁决"),
    # Both: the order's timers run again, for whichever of them must act next.
    life.WITHDRAW_DISPUTE: ("both", "dispute_withdrawn",
                            lambda o, c: f"{'买家' if _by_buyer(c) else '服务商'}撤销了纠纷，"
                                         f"订单恢复为{life.LABELS[c.outcome.to]}，各项期限重新计时"),
    life.EXPIRE: ("provider", "cancelled", "订单超时未确认，已失效"),
    life.CLOSE_UNPAID: ("buyer", "cancelled", "订单超时未付款，已关闭"),
}


def notices_of(order: OrderModel, action: str, change,
             now: datetime) -> list:
    """The notifications a move sends (unsaved): to whom the table above says, and to the
    buyer for any refund it decides. Built from the order as read and the move itself,
    since they are written in the move's own transaction."""
    out = []

    def notice(user_id: str, kind: str, text: str):
        out.append(notifications.notification_put(
            user_id, kind, order_id=order.id, service_id=order.service_id,
            text=f"{order.service.title}：{text}", now=now))

    entry = _NOTICES.get(action)
    if entry:
        who, kind, text = entry
        if callable(text):
            text = text(order, change)
        if who == "other":
            who = "provider" if _by_buyer(change) else "buyer"
        targets = {"buyer": [order.buyer_id], "provider": [order.provider_id],
                   "both": [order.buyer_id, order.provider_id]}[who]
        for user in targets:
            notice(user, kind, text)
    for user, kind, text in _proposal_notices(order, action, change):
        notice(user, kind, text)
    refunds = [i for i in change.instructions if i.kind == money.REFUND]
    if refunds:
        notice(order.buyer_id, "refunded",
               f"已退款 {money.yuan(sum(int(i.amount) for i in refunds))}")
    return out


# --- proposals (协商) -------------------------------------------------------------
_PARTY = {life.BUYER: "买家", life.PROVIDER: "服务商"}
_ANSWERS = {life.ACCEPT_EXTENSION: deals.ACCEPT, life.ACCEPT_CANCEL: deals.ACCEPT,
            life.ACCEPT_PARTIAL_REFUND: deals.ACCEPT,
            life.DECLINE_PROPOSAL: deals.DECLINE, life.WITHDRAW_PROPOSAL: deals.WITHDRAW}


def _proposal_notices(order: OrderModel, action: str, change) -> list[tuple]:
    """A new proposal is told to the other party; an answer to its author (a withdrawal,
    to the party it was made to). `params["proposal"]` is the proposal made or answered."""
    proposal = change.params.get("proposal")
    if proposal is None:
        return []
    if change.actor.user_id == life.SYSTEM:
        # The sweep: a refund request granted (退款超时) concerns both; a lapse, its author.
        what = describe_proposal(proposal)
        if action == life.EXPIRE_PROPOSAL:
            return [(proposal.by, "proposal_expired", f"协商已过期未获答复（{what}）")]
        return [(user, "refund_granted", f"退款申请超时未处理，已自动同意（{what}）")
                for user in (order.buyer_id, order.provider_id)]
    if action != life.PROPOSE and action not in _ANSWERS:
        return []
    other = order.provider_id if _by_buyer(change) else order.buyer_id
    if action == life.PROPOSE:
        return [(other, "proposal", describe_proposal(proposal))]
    verb = _ANSWERS[action]
    role = life.BUYER if _by_buyer(change) else life.PROVIDER
    said = {deals.ACCEPT: "同意了", deals.DECLINE: "拒绝了", deals.WITHDRAW: "撤回了"}[verb]
    return [(proposal.by if verb != deals.WITHDRAW else other,
             f"proposal_{deals.outcome_of(verb)}",
             f"{_PARTY[role]}{said}协商（{describe_proposal(proposal)}）")]


def describe_proposal(proposal) -> str:
    who = _PARTY.get(proposal.by_role, "对方")
    if proposal.kind == deals.EXTENSION:
        return f"{who}申请延期至 {clock.for_people(proposal.due_at)}"
    if proposal.kind == deals.PARTIAL_REFUND:
        return f"{who}申请部分退款 {money.yuan(int(proposal.refund))}，订单继续：{proposal.reason}"
    return (f"{who}提议取消订单：退款 {money.yuan(int(proposal.refund))} 给买家，"
            f"结算 {money.yuan(int(proposal.release))} 给服务商")
