// Contracts (包月合同): proposing one on a service page (签约), the caller's contracts, and
// one contract — its terms side by side for both parties, signing, the deposit, going
// live, terminating, and each period's statement. Which move the contract allows is the
// API's to say (`allowed_actions`); a statement's refusal is shown in words.
import { useState } from "preact/hooks";
import { client, settle, whoAmI } from "../api/client";
import type { Schema } from "../api/client";
import { go, href } from "../router";
import { Action, Empty, Field, Loaded, useAnswer } from "../ui";
import { when, yuan } from "../words";

type Terms = Schema<"ContractTerms">;
type Contract = Schema<"Contract">;
type Statement = Schema<"Statement">;

const path = (id: string) => ({ params: { path: { contract_id: id } } });
// One Idempotency-Key per intent: the Action that runs a write hands it its key.
const write = (id: string, key: string) => ({ params: { path: { contract_id: id }, header: { "Idempotency-Key": key } } });

const STATEMENT_STATUS: Record<Schema<"Statement">["status"], string> = {
  open: "待服务商提交", submitted: "待买家确认", payable: "待支付", paid: "已支付",
  released: "已结算", disputed: "有异议",
};

function blankTerms(base: number): Terms {
  return { period: "month", billing: "postpaid", base, commission_bps: 0, deposit: 0,
    trial_days: 0, trial_fee: 0, notice_days: 0,
    schedule: { agents: 1, hours: "09:00-18:00", shifts: 1, holidays: "" },
    kpis: [], confidential: false, breach: "" };
}

/** The terms, edited field by field (money in 元, commission in %). */
function TermsForm({ terms, onChange }: { terms: Terms; onChange: (t: Terms) => void }) {
  const num = (v: string) => Number(v || 0);
  const fen = (v: string) => Math.round(num(v) * 100);
  const set = (patch: Partial<Terms>) => onChange({ ...terms, ...patch });
  const sched = (patch: Partial<Terms["schedule"]>) => set({ schedule: { ...terms.schedule, ...patch } });
  return (
    <div class="terms" data-testid="terms-form">
      <Field label="结算周期"><select value={terms.period} data-testid="t-period"
        onChange={(e) => set({ period: e.currentTarget.value as Terms["period"] })}>
        <option value="month">按月</option><option value="quarter">按季度</option></select></Field>
      <Field label="结算方式"><select value={terms.billing} data-testid="t-billing"
        onChange={(e) => set({ billing: e.currentTarget.value as Terms["billing"] })}>
        <option value="postpaid">后结算（次月结算上月）</option><option value="prepaid">预付</option></select></Field>
      <Field label="底薪/期（元）"><input type="number" value={terms.base / 100} data-testid="t-base"
        onInput={(e) => set({ base: fen(e.currentTarget.value) })} /></Field>
      <Field label="提成（%）"><input type="number" step="0.01" value={terms.commission_bps / 100} data-testid="t-commission"
        onInput={(e) => set({ commission_bps: Math.round(num(e.currentTarget.value) * 100) })} /></Field>
      <Field label="定金（元）"><input type="number" value={terms.deposit / 100} data-testid="t-deposit"
        onInput={(e) => set({ deposit: fen(e.currentTarget.value) })} /></Field>
      <Field label="试用期（天）"><input type="number" value={terms.trial_days} data-testid="t-trial-days"
        onInput={(e) => set({ trial_days: num(e.currentTarget.value) })} /></Field>
      <Field label="试用费（元）"><input type="number" value={terms.trial_fee / 100} data-testid="t-trial-fee"
        onInput={(e) => set({ trial_fee: fen(e.currentTarget.value) })} /></Field>
      <Field label="解约提前（天）"><input type="number" value={terms.notice_days} data-testid="t-notice"
        onInput={(e) => set({ notice_days: num(e.currentTarget.value) })} /></Field>
      <Field label="坐席人数"><input type="number" value={terms.schedule.agents}
        onInput={(e) => sched({ agents: num(e.currentTarget.value) })} /></Field>
      <Field label="服务时间"><input value={terms.schedule.hours}
        onInput={(e) => sched({ hours: e.currentTarget.value })} /></Field>
      <Field label="班次"><input type="number" value={terms.schedule.shifts}
        onInput={(e) => sched({ shifts: num(e.currentTarget.value) })} /></Field>
      <Field label="节假日安排"><input value={terms.schedule.holidays}
        onInput={(e) => sched({ holidays: e.currentTarget.value })} /></Field>
      <Field label="考核标准（每行一条）"><textarea rows={3} value={terms.kpis.join("\n")}
        onInput={(e) => set({ kpis: e.currentTarget.value.split("\n").filter((k) => k.trim()) })} /></Field>
      <Field label="保密协议"><input type="checkbox" checked={terms.confidential}
        onChange={(e) => set({ confidential: e.currentTarget.checked })} /></Field>
      <Field label="违约处理"><textarea rows={2} value={terms.breach}
        onInput={(e) => set({ breach: e.currentTarget.value })} /></Field>
    </div>
  );
}

/** The provider's answer to an inquiry as a contract (定制报价 → 合同): a draft for the
 * inquiry's buyer, signed by the provider; the buyer signs it on the contract page. */
export function ContractOfferForm({ inquiryId, price }: { inquiryId: string; price: number }) {
  const [requirement, setRequirement] = useState("");
  const [terms, setTerms] = useState<Terms>(blankTerms(price));
  return (
    <details class="panel" data-testid="contract-offer-form"><summary>以合同报价（按月服务）</summary>
      <Field label="需求"><textarea rows={3} value={requirement} data-testid="contract-offer-requirement"
        onInput={(e) => setRequirement(e.currentTarget.value)} /></Field>
      <TermsForm terms={terms} onChange={setTerms} />
      <Action label="发出合同（已签署）" kind="primary" testid="contract-offer-send"
        run={(key) => settle(client.POST("/inquiries/{inquiry_id}/offer", {
          params: { path: { inquiry_id: inquiryId }, header: { "Idempotency-Key": key } },
          body: { contract: { requirement, terms } } }))}
        onDone={(offer) => { if (offer.contract) go("contracts", offer.contract.id); }} />
    </details>
  );
}

/** 签约: propose a contract on this service. */
export function ContractForm({ serviceId, price }: { serviceId: string; price: number }) {
  const [requirement, setRequirement] = useState("");
  const [terms, setTerms] = useState<Terms>(blankTerms(price));
  if (!whoAmI()) return null;
  return (
    <details class="panel" data-testid="contract-form"><summary>签约（按月服务）</summary>
      <Field label="需求"><textarea rows={3} value={requirement} data-testid="contract-requirement"
        onInput={(e) => setRequirement(e.currentTarget.value)} /></Field>
      <TermsForm terms={terms} onChange={setTerms} />
      <Action label="提交合同" kind="primary" testid="create-contract"
        run={(key) => settle(client.POST("/contracts", { params: { header: { "Idempotency-Key": key } },
          body: { service_id: serviceId, requirement, terms } }))}
        onDone={(c: Contract) => go("contracts", c.id)} />
    </details>
  );
}

export function Contracts({ as }: { as: "buyer" | "provider" }) {
  const { answer } = useAnswer(() => settle(client.GET("/contracts", {
    params: { query: { as, limit: 50 } } })), [as]);
  return (
    <section>
      <h2>{as === "buyer" ? "我签的合同" : "合同台"}</h2>
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <Empty>没有合同</Empty> :
        <table class="list" data-testid="contracts">
          <thead><tr><th>服务</th><th>状态</th><th>底薪/期</th><th>起始</th></tr></thead>
          <tbody>{page.items.map((c) => (
            <tr key={c.id}><td><a href={href("contracts", c.id)}>{c.service.title}</a></td>
              <td><span class={`status s-${c.status}`}>{c.status_label}</span></td>
              <td>{yuan(c.terms.base)}</td><td>{c.live_on ?? "—"}</td></tr>))}</tbody>
        </table>}</Loaded>
    </section>
  );
}

function StatementRow({ contract, s, done }: { contract: Contract; s: Statement; done: () => void }) {
  const me = whoAmI();
  const [sales, setSales] = useState("");
  const [reason, setReason] = useState("");
  const at = (key: string) => ({ params: { path: { contract_id: contract.id, statement_id: s.id },
    header: { "Idempotency-Key": key } } });
  const post = (verb: "submit" | "confirm" | "dispute", body: object) => (key: string) =>
    settle(client.POST(`/contracts/{contract_id}/statements/{statement_id}/${verb}`, { ...at(key), body }));
  const pay = (key: string) =>
    settle(client.POST("/contracts/{contract_id}/statements/{statement_id}/pay", { ...at(key), body: {} }));
  const provider = me?.sub === contract.provider_id, buyer = me?.sub === contract.buyer_id;
  // The buyer's say on a bill: a postpaid one once submitted, a prepaid one once paid.
  const reviewable = s.status === "submitted" || (s.status === "paid" && s.billing === "prepaid");
  return (
    <tr data-testid={`statement-${s.period_start}`}>
      <td>{s.period_start} ~ {s.period_end}{s.kind === "trial" ? "（试用期）" : ""}</td>
      <td>{STATEMENT_STATUS[s.status] ?? s.status}</td>
      <td>{s.amount === null ? `底薪 ${yuan(s.base)}` : yuan(s.amount)}
        {s.paid_from_deposit > 0 && <div class="muted">定金抵扣 {yuan(s.paid_from_deposit)}</div>}
        {s.repriced && <div class="muted" data-testid="statement-repriced">解约提前结束：按服务天数（{s.days}/{s.length} 天）重算</div>}</td>
      <td>{Object.entries(s.kpis).map(([k, v]) => <div key={k} class="muted">{k}：{String(v)}</div>)}
        {s.files.length > 0 && <div class="muted">质检报告 {s.files.length} 份</div>}</td>
      <td>
        {provider && s.status === "open" && <span class="with-text">
          <input placeholder="本期销售额（元）" value={sales} data-testid="sales" onInput={(e) => setSales(e.currentTarget.value)} />
          <Action label="提交账单" testid="submit-statement" onDone={done}
            run={post("submit", { sales: Math.round(Number(sales || 0) * 100) })} /></span>}
        {buyer && reviewable &&
          <Action label="确认" testid="confirm-statement" run={post("confirm", {})} onDone={done} />}
        {buyer && reviewable && <span class="with-text">
          <input placeholder="异议原因" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          <Action label="提出异议" testid="dispute-statement" run={post("dispute", { reason })} onDone={done} /></span>}
        {buyer && s.status === "payable" && <Action label="支付" kind="primary" testid="pay-statement"
          run={pay} onDone={(paid: Schema<"PaidStatement">) => {
            if (paid.payment.status === "pending" && paid.payment.redirect_url) location.href = paid.payment.redirect_url;
            else done();
          }} />}
      </td>
    </tr>
  );
}

function Statements({ contract, done }: { contract: Contract; done: () => void }) {
  const { answer, reload } = useAnswer(() => settle(client.GET("/contracts/{contract_id}/statements", path(contract.id))),
    [contract.id, contract.updated_at]);
  const again = () => { reload(); done(); };
  return (
    <div class="panel"><h3>账单</h3>
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <Empty>还没有账单</Empty> :
        <table class="list" data-testid="statements"><thead><tr><th>周期</th><th>状态</th><th>金额</th><th>考核</th><th></th></tr></thead>
          <tbody>{page.items.map((s) => <StatementRow key={s.id} contract={contract} s={s} done={again} />)}</tbody>
        </table>}</Loaded>
    </div>
  );
}

export function ContractPage({ id }: { id: string }) {
  const { answer, reload } = useAnswer(() => settle(client.GET("/contracts/{contract_id}", path(id))), [id]);
  const [terms, setTerms] = useState<Terms | null>(null);
  const [reason, setReason] = useState("");
  return (
    <Loaded answer={answer}>{(c) => {
      const can = (verb: Contract["allowed_actions"][number]) => c.allowed_actions.includes(verb);
      return (
        <section class="contract">
          <h2>{c.service.title}</h2>
          <p><span class={`status s-${c.status}`} data-testid="contract-status">{c.status_label}</span>
            <span class="muted"> 合同号 {c.id} · 已签：{c.signed_by.map((r) => r === "buyer" ? "买家" : "服务商").join("、") || "无"}</span></p>
          <div class="grid">
            <div class="panel"><h3>条款</h3>
              {can("terms") && terms ? <>
                <TermsForm terms={terms} onChange={setTerms} />
                <Action label="保存条款（双方需重新签署）" testid="save-terms" onDone={() => { setTerms(null); reload(); }}
                  run={(key) => settle(client.PUT("/contracts/{contract_id}/terms", { ...write(id, key), body: { terms } }))} />
              </> : <>
                <p data-testid="terms">{c.terms.period === "month" ? "按月" : "按季度"} · {c.terms.billing === "postpaid" ? "后结算" : "预付"} ·
                  底薪 {yuan(c.terms.base)} · 提成 {c.terms.commission_bps / 100}% · 定金 {yuan(c.terms.deposit)} ·
                  试用 {c.terms.trial_days} 天（{yuan(c.terms.trial_fee)}）· 解约提前 {c.terms.notice_days} 天</p>
                <p class="muted">{c.terms.schedule.agents} 人 · {c.terms.schedule.hours} · {c.terms.schedule.shifts} 班 · {c.terms.schedule.holidays}</p>
                {c.terms.kpis.length > 0 && <ul>{c.terms.kpis.map((k) => <li key={k}>{k}</li>)}</ul>}
                {can("terms") && <button data-testid="edit-terms" onClick={() => setTerms(c.terms)}>修改条款</button>}
              </>}
            </div>
            <div class="panel"><h3>定金与日期</h3>
              <p data-testid="deposit">已付 {yuan(c.deposit.paid)} · 托管中 {yuan(c.deposit.held)} · 已抵扣 {yuan(c.deposit.used)} · 已退还 {yuan(c.deposit.returned)}</p>
              <p>上线：{c.live_on ?? "—"} · 结束：{c.ends_on ?? "—"}</p>
              {c.deadlines.trial_ends_on && <p class="muted">试用期至 {c.deadlines.trial_ends_on}</p>}
              {c.deadlines.next_statement_on && <p class="muted">下期账单 {c.deadlines.next_statement_on}</p>}
              {c.owed > 0 && <p class="error">逾期欠款 {yuan(c.owed)}</p>}
              <p class="muted">更新于 {when(c.updated_at)}</p>
            </div>
          </div>
          <div class="actions" data-testid="contract-actions">
            {can("sign") && <Action label="签署" kind="primary" testid="sign" onDone={reload}
              run={(key) => settle(client.POST("/contracts/{contract_id}/sign", { ...write(id, key), body: {} }))} />}
            {can("pay") && <Action label="支付定金" kind="primary" testid="pay-deposit"
              run={(key) => settle(client.POST("/contracts/{contract_id}/pay", { ...write(id, key), body: {} }))}
              onDone={(paid: Schema<"PaidContract">) => {
                if (paid.payment.status === "pending" && paid.payment.redirect_url) location.href = paid.payment.redirect_url;
                else reload();
              }} />}
            {can("go-live") && <Action label="培训考核通过，上线" kind="primary" testid="go-live" onDone={reload}
              run={(key) => settle(client.POST("/contracts/{contract_id}/go-live", { ...write(id, key), body: {} }))} />}
            {can("terminate") && <span class="with-text">
              <input placeholder="解约原因" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
              <Action label="解约" testid="terminate" onDone={reload}
                run={(key) => settle(client.POST("/contracts/{contract_id}/terminate", { ...write(id, key), body: { reason } }))} /></span>}
          </div>
          {c.live_on && <Statements contract={c} done={reload} />}
        </section>
      );
    }}</Loaded>
  );
}
