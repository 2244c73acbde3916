// The provider's money (收入与提现): the balance the ledger owes, the payout account,
// withdrawals (提现) and their status, and the statement of every movement.
import { useEffect, useState } from "preact/hooks";
import { client, settle } from "../api/client";
import { href } from "../router";
import { Action, Empty, Field, Loaded, useAnswer } from "../ui";
import { STATEMENT_KIND, WITHDRAWAL_STATUS, when, yuan } from "../words";

const idem = (key: string) => ({ header: { "Idempotency-Key": key } });

function PayoutAccount() {
  const { answer, reload } = useAnswer(() => settle(client.GET("/providers/me/payout-account")), []);
  const [f, setF] = useState({ account: "", name: "" });
  const [editing, setEditing] = useState(false);
  useEffect(() => {
    if (answer?.ok) setF({ account: answer.data.account, name: answer.data.name });
  }, [answer]);
  const none = answer && !answer.ok && answer.error.code === "NOT_FOUND";
  const form = (
    <div data-testid="payout-form">
      <Field label="支付宝账号（手机号、邮箱或 2088 开头的用户号）"><input value={f.account} data-testid="payout-account"
        onInput={(e) => setF({ ...f, account: e.currentTarget.value })} /></Field>
      <Field label="账户实名"><input value={f.name} data-testid="payout-name"
        onInput={(e) => setF({ ...f, name: e.currentTarget.value })} /></Field>
      <Action label="保存收款账号" kind="primary" testid="save-payout" run={(key) => settle(client.PUT("/providers/me/payout-account", {
        params: idem(key), body: f }))} onDone={() => { setEditing(false); reload(); }} />
    </div>);
  return (
    <div class="panel"><h3>收款账号</h3>
      {none ? <><p class="muted">还没有设置收款账号，提现前请先设置。</p>{form}</> :
        <Loaded answer={answer}>{(a) => editing ? form : (
          <p data-testid="payout-shown">{a.account} · {a.name} <span class="muted">更新于 {when(a.updated_at)}</span>{" "}
            <button onClick={() => setEditing(true)}>修改</button></p>)}</Loaded>}
    </div>
  );
}

export function Payouts() {
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  const balance = useAnswer(() => settle(client.GET("/me/balance")), [version]);
  const withdrawals = useAnswer(() => settle(client.GET("/me/withdrawals", { params: { query: { limit: 50 } } })), [version]);
  const statement = useAnswer(() => settle(client.GET("/me/statement", { params: { query: { limit: 50 } } })), [version]);
  const [amount, setAmount] = useState("");
  return (
    <section>
      <Loaded answer={balance.answer}>{(b) => (
        <div class="panel"><h3>余额</h3>
          <p>可提现 <b class="price" data-testid="available">{yuan(b.available)}</b>
            <span class="muted"> · 提现中 <span data-testid="pending-withdrawal">{yuan(b.pending_withdrawal)}</span></span></p>
          <div class="actions">
            <input type="number" min="0.01" step="0.01" placeholder={`金额（元），最多 ${(b.available / 100).toFixed(2)}`}
              value={amount} data-testid="withdraw-amount" onInput={(e) => setAmount(e.currentTarget.value)} />
            <Action label="提现" kind="primary" testid="withdraw" run={(key) => settle(client.POST("/me/withdrawals", {
              params: idem(key), body: { amount: Math.round(Number(amount) * 100) } }))}
              onDone={() => { setAmount(""); changed(); }} />
          </div>
        </div>)}</Loaded>
      <PayoutAccount />
      <div class="panel"><h3>提现记录 <button onClick={changed} data-testid="refresh-money">刷新</button></h3>
        <Loaded answer={withdrawals.answer}>{(page) => page.items.length === 0 ? <Empty>还没有提现</Empty> : (
          <table class="list" data-testid="withdrawals">
            <thead><tr><th>申请时间</th><th>金额</th><th>收款账号</th><th>状态</th></tr></thead>
            <tbody>{page.items.map((w) => (
              <tr key={w.id} data-testid="withdrawal">
                <td>{when(w.created_at)}</td><td>{yuan(w.amount)}</td><td>{w.account}</td>
                <td><span class={`status w-${w.status}`} data-testid="withdrawal-status">{WITHDRAWAL_STATUS[w.status] ?? w.status}</span>
                  {w.paid_at && <div class="muted">到账 {when(w.paid_at)}</div>}
                  {w.failure_reason && <div class="error">{w.failure_reason}（金额已退回余额）</div>}</td>
              </tr>))}</tbody>
          </table>)}</Loaded>
      </div>
      <div class="panel"><h3>收支明细</h3>
        <Loaded answer={statement.answer}>{(page) => page.items.length === 0 ? <Empty>还没有收支</Empty> : (
          <table class="list" data-testid="statement">
            <thead><tr><th>时间</th><th>类型</th><th>金额</th><th>关联</th></tr></thead>
            <tbody>{page.items.map((l) => (
              <tr key={l.id}>
                <td>{when(l.at)}</td><td>{STATEMENT_KIND[l.kind] ?? l.kind}</td>
                <td class={l.amount < 0 ? "" : "ok"}>{l.amount < 0 ? "-" + yuan(-l.amount) : "+" + yuan(l.amount)}
                  {l.fee ? <div class="muted">平台服务费 {yuan(l.fee)}</div> : null}</td>
                <td>{l.order_id && <a href={href("orders", l.order_id)}>订单 {l.order_id}</a>}
                  {l.withdrawal_id && <span class="muted">提现 {l.withdrawal_id}</span>}</td>
              </tr>))}</tbody>
          </table>)}</Loaded>
      </div>
    </section>
  );
}
