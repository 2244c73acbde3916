// The operator's desk (平台小二): applications (approve, reject, suspend, reinstate),
// campaigns, the dispute queue, payment reconciliation, what the jobs gave up on, and
// the ledger check.
import { useState } from "preact/hooks";
import type { ComponentType } from "preact";
import { isoWithOffset } from "../clock";
import { client, settle } from "../api/client";
import { go, href } from "../router";
import { Action, Empty, Field, Loaded, useAnswer } from "../ui";
import { CAMPAIGN_PHASE, MISMATCH, ORDER_STATUS, PAYMENT_STATUS, PROVIDER_STATUS, label, when, yuan } from "../words";
import type { Schema } from "../api/client";
import { ReviewDocuments } from "./Documents";
import { Overview } from "./Analytics";

const idem = (key: string) => ({ "Idempotency-Key": key });
type Input = { currentTarget: { value: string } };
type ProviderStatus = Schema<"Provider">["status"];

/** A text field of a free-form object the API answers (a dispute, a mismatch). */
function text(data: object | null | undefined, name: string): string {
  const value: unknown = data ? (data as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

function Applications() {
  const [status, setStatus] = useState<Exclude<ProviderStatus, "none">>("pending");
  const { answer, reload } = useAnswer(() => settle(client.GET("/admin/providers", {
    params: { query: { status, limit: 50 } } })), [status]);
  const [reason, setReason] = useState("");
  return (
    <div>
      <div class="tabs">{(["pending", "approved", "rejected", "suspended"] as const).map((s) => (
        <button key={s} class={status === s ? "on" : ""} onClick={() => setStatus(s)}>{PROVIDER_STATUS[s]}</button>))}</div>
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <Empty>没有申请</Empty> : (
        <table class="list" data-testid="applications">
          <thead><tr><th>服务商</th><th>公司 / 联系方式</th><th>介绍</th><th></th></tr></thead>
          <tbody>{page.items.map((p) => {
            const at = (key: string) => ({ params: { path: { provider_id: p.id }, header: idem(key) } });
            return (
              <tr key={p.id} data-testid={`application-${p.id}`}>
                <td><b>{p.display_name}</b><div class="muted">{p.id} · {when(p.applied_at)}</div></td>
                <td>{p.company_name}<div class="muted">{p.contact}</div></td><td>{p.intro}
                  <ReviewDocuments providerId={p.id} documents={p.documents} /></td>
                <td>{status === "pending" && <>
                  <Action label="通过" kind="primary" testid="approve-provider"
                    run={(key) => settle(client.POST("/admin/providers/{provider_id}/approve", { ...at(key), body: {} }))} onDone={reload} />
                  <input placeholder="驳回原因" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
                  <Action label="驳回" run={(key) => settle(client.POST("/admin/providers/{provider_id}/reject", { ...at(key), body: { reason } }))} onDone={reload} />
                </>}
                {status === "approved" && <>
                  <input placeholder="暂停原因" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
                  <Action label="暂停" testid="suspend-provider" run={(key) => settle(client.POST("/admin/providers/{provider_id}/suspend", { ...at(key), body: { reason } }))} onDone={reload} />
                </>}
                {status === "suspended" &&
                  <Action label="恢复" testid="reinstate-provider" run={(key) => settle(client.POST("/admin/providers/{provider_id}/reinstate", { ...at(key), body: {} }))} onDone={reload} />}</td>
              </tr>);
          })}</tbody>
        </table>)}</Loaded>
    </div>
  );
}

function Campaigns() {
  // The operators' list: running and upcoming ones, so a campaign created to start later
  // is listed the moment it exists.
  const { answer, reload } = useAnswer(() => settle(client.GET("/admin/campaigns", { params: { query: { limit: 100 } } })), []);
  const [f, setF] = useState({ name: "", starts_at: "", ends_at: "", max_price: "1" });
  const [created, setCreated] = useState<Schema<"CampaignView"> | null>(null);
  const set = (k: keyof typeof f) => (e: Input) => setF({ ...f, [k]: e.currentTarget.value });
  return (
    <div>
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <Empty>没有进行中或未开始的活动</Empty> : (
        <table class="list" data-testid="campaigns"><thead><tr><th>活动</th><th>状态</th><th>时间</th><th>试用最高价</th></tr></thead>
          <tbody>{page.items.map((c) => (
            <tr key={c.id} data-testid="campaign-row"><td>{c.name}<div class="muted">{c.id}</div></td>
              <td>{CAMPAIGN_PHASE[c.phase]}</td>
              <td>{when(c.starts_at)} – {when(c.ends_at)}</td><td>{yuan(c.max_price)}</td></tr>))}</tbody></table>)}</Loaded>
      <div class="panel"><h3>新建活动</h3>
        <Field label="名称"><input value={f.name} onInput={set("name")} /></Field>
        <Field label="开始"><input type="datetime-local" value={f.starts_at} onInput={set("starts_at")} /></Field>
        <Field label="结束"><input type="datetime-local" value={f.ends_at} onInput={set("ends_at")} /></Field>
        <Field label="试用最高价（元）"><input type="number" step="0.01" value={f.max_price} onInput={set("max_price")} /></Field>
        <Action label="创建" kind="primary" testid="create-campaign" run={(key) => settle(client.POST("/admin/campaigns", { params: { header: idem(key) }, body: {
          name: f.name, starts_at: f.starts_at && isoWithOffset(f.starts_at), ends_at: f.ends_at && isoWithOffset(f.ends_at),
          max_price: Math.round(Number(f.max_price) * 100) } }))} onDone={(c) => { setCreated(c); reload(); }} />
        {created && <p class="ok" data-testid="campaign-created">已创建「{created.name}」（{created.id}）：{when(created.starts_at)} 开始，{when(created.ends_at)} 结束，试用最高价 {yuan(created.max_price)}</p>}
      </div>
    </div>
  );
}

/** The dispute queue (oldest first, as the API answers it), or every order in another
 * status; each opens on the order page, where the operator resolves it. */
function Disputes() {
  const [status, setStatus] = useState<Schema<"Order">["status"]>("disputed");
  const { answer, reload } = useAnswer(() => settle(client.GET("/admin/orders", {
    params: { query: { status, limit: 100 } } })), [status]);
  const [id, setId] = useState("");
  return (
    <div>
      <div class="tabs">{(["disputed", "resolved", "awaiting_provider", "in_progress", "in_review"] as const).map((s) => (
        <button key={s} class={status === s ? "on" : ""} data-testid={`queue-${s}`} onClick={() => setStatus(s)}>{ORDER_STATUS[s]}</button>))}
        <button onClick={reload}>刷新</button></div>
      <Loaded answer={answer}>{(page) => page.items.length === 0
        ? <Empty>{status === "disputed" ? "没有待处理的纠纷" : "没有订单"}</Empty> : (
        <table class="list" data-testid="disputes"><thead><tr><th>订单</th><th>状态</th><th>纠纷</th><th>托管中</th></tr></thead>
          <tbody>{page.items.map((o) => {
            const d = o.dispute;
            return (
              <tr key={o.id} data-testid={`queued-${o.id}`} class={o.overdue ? "overdue" : ""}>
                <td><a href={href("orders", o.id)}>{o.service.title}</a><div class="muted">{o.id} · {yuan(o.amount)}</div></td>
                <td><span class={`status s-${o.status}`}>{o.status_label}</span></td>
                <td>{text(d, "reason")}{text(d, "at") && <div class="muted">{when(text(d, "at"))}发起</div>}
                  {o.evidence_until && <div class="muted">举证截止 {when(o.evidence_until)}</div>}
                  {o.overdue && <span class="badge overdue" data-testid="overdue">已超时</span>}</td>
                <td>{yuan(o.escrow.held)}</td>
              </tr>);
          })}</tbody></table>)}</Loaded>
      <form class="search" onSubmit={(e) => { e.preventDefault(); if (id) go("orders", id.trim()); }}>
        <input placeholder="订单号 ord_…" value={id} onInput={(e) => setId(e.currentTarget.value)} data-testid="order-id" />
        <button type="submit">打开订单</button>
      </form>
    </div>
  );
}

/** The gateway's payment records against the ledger (GET /admin/reconciliation). */
function Reconciliation() {
  const { answer, reload } = useAnswer(() => settle(client.GET("/admin/reconciliation")), []);
  return (
    <div><button onClick={reload}>重新对账</button>
      <Loaded answer={answer}>{(r) => {
        const totals = r.totals as Record<string, number>;
        return (
          <div class="panel" data-testid="reconciliation">
            <p class="muted">对账时间 {when(r.checked_at)}</p>
            <p>支付渠道记录：{Object.entries(r.payments as Record<string, number>).map(([k, n]) => `${label(PAYMENT_STATUS, k)} ${n} 笔`).join("，") || "无"}</p>
            <p>渠道已收 {yuan(totals.gateway_paid)} · 账本托管入账 {yuan(totals.ledger_funded)} · 账本已退款 {yuan(totals.ledger_refunded)}</p>
            {r.mismatches.length === 0 ? <p class="ok">渠道与账本一致，没有差异</p> : (
              <table class="list"><thead><tr><th>差异</th><th>付款 / 订单</th><th>详情</th></tr></thead>
                <tbody>{r.mismatches.map((m: object, i: number) => {
                  const detail: unknown = (m as Record<string, unknown>).detail;
                  return (
                  <tr key={i}><td class="error">{label(MISMATCH, text(m, "kind"))}</td>
                    <td>{text(m, "payment")}{text(m, "order") && <div><a href={href("orders", text(m, "order"))}>{text(m, "order")}</a></div>}</td>
                    <td class="muted">{text(m, "status")} {detail ? JSON.stringify(detail) : ""}{text(m, "at") ? ` · ${when(text(m, "at"))}` : ""}</td></tr>);
                })}</tbody></table>)}
          </div>);
      }}</Loaded>
    </div>
  );
}

function Stuck() {
  const { answer, reload } = useAnswer(() => settle(client.GET("/admin/stuck", { params: { query: { limit: 100 } } })), []);
  return (
    <div><button onClick={reload}>刷新</button>
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <Empty>没有卡住的任务</Empty> : (
        <table class="list"><thead><tr><th>任务</th><th>对象</th><th>状态</th><th>最近错误</th></tr></thead>
          <tbody>{page.items.map((s) => (
            <tr key={s.job + s.id}><td>{s.job}</td><td>{s.id}</td><td>{text(s, "status")}</td>
              <td class="muted">{s.last_error ?? text(s, "reason")}</td></tr>))}</tbody></table>)}</Loaded>
    </div>
  );
}

function Ledger() {
  const { answer, reload } = useAnswer(() => settle(client.GET("/admin/ledger/check")), []);
  return (
    <div><button onClick={reload}>重新核对</button>
      <Loaded answer={answer}>{(r) => (
        <div class="panel" data-testid="ledger">
          <p>账户数 {r.accounts} · 合计 <b>{r.sum}</b> · 平台服务费收入 {yuan(r.revenue)} · 待执行指令 {r.pending_instructions?.length ?? 0}</p>
          {r.violations.length === 0 ? <p class="ok">账本平衡，没有异常</p> :
            <ul class="error">{r.violations.map((v: object, i: number) => <li key={i}>{JSON.stringify(v)}</li>)}</ul>}
        </div>)}</Loaded>
    </div>
  );
}

const TABS: Record<string, [string, ComponentType]> = {
  applications: ["资质审核", Applications], campaigns: ["活动", Campaigns], disputes: ["纠纷", Disputes],
  reconciliation: ["支付对账", Reconciliation], stuck: ["卡住的任务", Stuck], ledger: ["账本核对", Ledger],
  overview: ["概览", Overview],
};

export function Admin({ tab }: { tab: string }) {
  const [, Page] = TABS[tab] ?? TABS.applications;
  return (
    <section>
      <div class="tabs">{Object.entries(TABS).map(([k, [label]]) => (
        <a key={k} class={`button ${(TABS[tab] ? tab : "applications") === k ? "on" : ""}`} href={href("admin", k)}>{label}</a>))}</div>
      <Page />
    </section>
  );
}
