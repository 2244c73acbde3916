// What the two parties agree on after ordering: the price of a negotiable order (改价,
// price_agreed) and proposals (协商: 延期, or closing with a partial refund). The API
// decides who may do what when; these panels show its answers and refusals.
import { useState } from "preact/hooks";
import { isoWithOffset } from "../clock";
import { client, settle, whoAmI } from "../api/client";
import { Action, Field, Loaded, useAnswer } from "../ui";
import { ACTOR, PROPOSAL_KIND, PROPOSAL_STATUS, when, yuan } from "../words";
import type { Schema } from "../api/client";

const write = (id: string, key: string) => ({ path: { order_id: id }, header: { "Idempotency-Key": key } });
const fen = (yuanText: string) => Math.round(Number(yuanText) * 100);

export function Price({ order, canSet, done }: { order: Schema<"Order">; canSet: boolean; done: () => void }) {
  const [amount, setAmount] = useState(String(order.amount / 100));
  const provider = whoAmI()?.sub === order.provider_id;
  const set = (value: number) => (key: string) => settle(client.POST("/orders/{order_id}/price", {
    params: write(order.id, key), body: { amount: value } }));
  return (
    <div class="panel" data-testid="price"><h3>议价</h3>
      <p>当前价格 <b class="price">{yuan(order.amount)}</b> ·{" "}
        <span data-testid="price-agreed">{order.price_agreed ? "服务商已确认" : "等待服务商确认"}</span></p>
      {canSet && <div class="actions">
        <input type="number" min="0.01" step="0.01" value={amount} data-testid="new-price"
          onInput={(e) => setAmount(e.currentTarget.value)} />
        <Action label="改价" testid="set-price" run={(key) => set(fen(amount))(key)} onDone={done} />
        {provider && !order.price_agreed &&
          <Action label="确认当前价格" kind="primary" testid="confirm-price" run={set(order.amount)} onDone={done} />}
      </div>}
    </div>
  );
}

const VERBS = {
  accept: "/orders/{order_id}/proposals/{proposal_id}/accept",
  decline: "/orders/{order_id}/proposals/{proposal_id}/decline",
  withdraw: "/orders/{order_id}/proposals/{proposal_id}/withdraw",
} as const;

function ProposalLine({ p, open, mine, party, orderId, done }: {
  p: Schema<"Proposal">; open: boolean; mine: boolean; party: boolean; orderId: string; done: () => void;
}) {
  const act = (verb: keyof typeof VERBS) => (key: string) => settle(
    client.POST(VERBS[verb], {
      params: { path: { order_id: orderId, proposal_id: p.id }, header: { "Idempotency-Key": key } },
      body: {} }));
  return (
    <li data-testid={open ? "open-proposal" : "proposal"}>
      <b>{PROPOSAL_KIND[p.kind]}</b>{" "}
      {p.kind === "extension" && <>期望完成改为 {when(p.due_at)}</>}
      {p.kind === "cancel" && <>退款给买家 {yuan(p.refund)}，放款给服务商 {yuan(p.release)}</>}
      {p.kind === "partial_refund" && <>退款给买家 {yuan(p.refund)}，订单继续</>}
      <span class="muted"> · {ACTOR[p.by_role]}发起 · {when(p.created_at)} · </span>
      <span class={`badge p-${p.status}`} data-testid="proposal-status">{PROPOSAL_STATUS[p.status]}</span>
      {p.reason && <div class="muted">理由：{p.reason}</div>}
      {p.note && <div class="muted">{p.note}</div>}
      {open && p.expires_at && p.on_expiry && <div class="countdown" data-testid="proposal-countdown">
        {hoursLeft(p.expires_at)} 后{p.on_expiry === "accept" ? "未处理将自动同意退款" : "未答复将过期"}（{when(p.expires_at)}）</div>}
      {open && party && <div class="actions">
        {mine ? <Action label="撤回" testid="withdraw-proposal" run={act("withdraw")} onDone={done} /> : <>
          <Action label="同意" kind="primary" testid="accept-proposal" run={act("accept")} onDone={done} />
          <Action label="拒绝" testid="decline-proposal" run={act("decline")} onDone={done} />
        </>}
      </div>}
    </li>
  );
}

/** The time left until `at`, in hours (a countdown the API's expires_at drives). */
function hoursLeft(at: string): string {
  const hours = Math.max(0, Math.ceil((new Date(at).getTime() - Date.now()) / 3600e3));
  return `${hours} 小时`;
}

function Propose({ order, done }: { order: Schema<"Order">; done: () => void }) {
  // The kinds the API says the caller may propose now (only a cancel settles a dispute).
  const kinds = order.proposal_kinds;
  const [kind, setKind] = useState<"extension" | "cancel" | "partial_refund">(kinds[0] ?? "extension");
  const [reason, setReason] = useState("");
  const base = order.due_at ? new Date(order.due_at) : new Date();
  const weekLater = new Date(base.getTime() + 7 * 86400e3 - base.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  const [due, setDue] = useState(weekLater);
  const [refund, setRefund] = useState(String(order.escrow.held / 100));
  const [note, setNote] = useState("");
  const body = kind === "extension"
    ? { kind, due_at: isoWithOffset(due), ...(note ? { note } : {}) }
    : kind === "partial_refund"
      ? { kind, refund: fen(refund), reason, ...(note ? { note } : {}) }
      : { kind, refund: fen(refund), ...(note ? { note } : {}) };
  return (
    <div class="propose">
      {order.status === "disputed" && <p class="muted">双方协商一致即可结束纠纷：提议取消订单并分配托管资金，对方同意后订单关闭。</p>}
      <div class="tabs">{kinds.map((k) => (
        <button key={k} class={kind === k ? "on" : ""} data-testid={`propose-${k}`} onClick={() => setKind(k)}>{PROPOSAL_KIND[k]}</button>))}</div>
      {kind === "extension"
        ? <Field label="新的期望完成时间"><input type="datetime-local" value={due} data-testid="proposal-due"
            onInput={(e) => setDue(e.currentTarget.value)} /></Field>
        : <Field label={kind === "cancel" ? `退款给买家（元，托管中 ${yuan(order.escrow.held)}，其余放款给服务商）`
            : `申请退款（元，托管中 ${yuan(order.escrow.held)}，订单继续）`}>
            <input type="number" min="0" step="0.01" value={refund} data-testid="proposal-refund"
              onInput={(e) => setRefund(e.currentTarget.value)} /></Field>}
      {kind === "partial_refund" && <Field label="退款理由"><input value={reason} data-testid="proposal-reason"
        onInput={(e) => setReason(e.currentTarget.value)} /></Field>}
      <Field label="说明（可空）"><input value={note} data-testid="proposal-note" onInput={(e) => setNote(e.currentTarget.value)} /></Field>
      <Action label="发起协商" kind="primary" testid="propose" run={(key) => settle(client.POST("/orders/{order_id}/proposals", {
        params: write(order.id, key), body }))} onDone={done} />
    </div>
  );
}

export function Proposals({ order, canPropose, done }: { order: Schema<"Order">; canPropose: boolean; done: () => void }) {
  const { answer } = useAnswer(() => settle(client.GET("/orders/{order_id}/proposals", {
    params: { path: { order_id: order.id }, query: { limit: 100 } } })), [order.id, order.version]);
  const me = whoAmI();
  const party = me?.sub === order.buyer_id || me?.sub === order.provider_id;
  if (!party && answer?.ok && answer.data.items.length === 0) return null;  // an operator: nothing to show
  return (
    <div class="panel" data-testid="proposals"><h3>协商</h3>
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <p class="muted">没有协商</p> : (
        <ul class="proposals">{[...page.items].reverse().map((p) => (
          <ProposalLine key={p.id} p={p} open={p.id === order.open_proposal} mine={p.by === me?.sub}
            party={party} orderId={order.id} done={done} />))}</ul>)}</Loaded>
      {canPropose && <Propose order={order} done={done} />}
    </div>
  );
}
