// Inquiries (询单): asking a provider from a service page, the conversation, each side's
// inbox, and the provider's custom offer (定制报价) that gives the buyer an order to pay.
import { useState } from "preact/hooks";
import { client, settle, whoAmI, type Schema } from "../api/client";
import { isoWithOffset, localInputValue } from "../clock";
import { go, href } from "../router";
import { Action, Empty, Field, Loaded, useAnswer } from "../ui";
import { INQUIRY_ROLE, when } from "../words";
import { ContractOfferForm } from "./Contracts";

/** On a service page: ask its provider before ordering (no slot taken, no money). */
export function AskProvider({ service }: { service: Schema<"Service"> }) {
  const [body, setBody] = useState("");
  const me = whoAmI();
  if (!me || me.sub === service.provider_id) return null;
  return (
    <div class="panel" data-testid="ask-provider"><h3>咨询服务商</h3>
      <textarea rows={3} value={body} data-testid="ask-body" placeholder="例如：三天内能交付吗？能做红色主题吗？"
        onInput={(e) => setBody(e.currentTarget.value)} />
      <Action label="发送咨询" testid="ask-send"
        run={(key) => settle(client.POST("/services/{service_id}/inquiries", {
          params: { path: { service_id: service.id }, header: { "Idempotency-Key": key } }, body: { body } }))}
        onDone={(inquiry) => go("inquiries", inquiry.id)} />
    </div>
  );
}

/** The caller's inquiries, as buyer or as provider, latest activity first. */
export function InquiryInbox() {
  const [as, setAs] = useState<Schema<"Inquiry">["role"]>("buyer");
  const { answer } = useAnswer(() => settle(client.GET("/inquiries", {
    params: { query: { as, limit: 50 } } })), [as]);
  return (
    <section data-testid="inquiry-inbox"><h2>询单</h2>
      <div class="tabs">{(Object.keys(INQUIRY_ROLE) as Schema<"Inquiry">["role"][]).map((r) => (
        <button key={r} class={r === as ? "active" : ""} data-testid={`inquiries-as-${r}`}
          onClick={() => setAs(r)}>我是{INQUIRY_ROLE[r]}</button>))}</div>
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <Empty>还没有询单</Empty> : (
        <ul class="list">{page.items.map((i) => (
          <li key={i.id} data-testid="inquiry-row"><a href={href("inquiries", i.id)}>{i.service_title}</a>
            <span class="muted"> · {i.message_count} 条 · {when(i.updated_at)}</span>
            {i.order_id && <span class="badge">已报价</span>}
            {i.contract_id && <span class="badge">已发合同</span>}</li>))}</ul>)}
      </Loaded>
    </section>
  );
}

/** The provider's custom offer: an agreed amount, the requirement and a due date. */
function OfferForm({ inquiry, done }: { inquiry: Schema<"Inquiry">; done: () => void }) {
  const [amount, setAmount] = useState("");
  const [requirement, setRequirement] = useState("");
  const [due, setDue] = useState(() => localInputValue(10));
  return (
    <div class="panel" data-testid="offer-form"><h3>定制报价</h3>
      <Field label="报价（元）"><input type="number" min="0.01" step="0.01" value={amount} data-testid="offer-amount"
        onInput={(e) => setAmount(e.currentTarget.value)} /></Field>
      <Field label="需求"><textarea rows={3} value={requirement} data-testid="offer-requirement"
        onInput={(e) => setRequirement(e.currentTarget.value)} /></Field>
      <Field label="完成时间"><input type="datetime-local" value={due} data-testid="offer-due"
        onInput={(e) => setDue(e.currentTarget.value)} /></Field>
      <Action label="发出报价" kind="primary" testid="offer-send"
        run={(key) => settle(client.POST("/inquiries/{inquiry_id}/offer", {
          params: { path: { inquiry_id: inquiry.id }, header: { "Idempotency-Key": key } },
          body: { amount: Math.round(Number(amount) * 100), requirement, due_at: isoWithOffset(due) } }))}
        onDone={done} />
    </div>
  );
}

export function InquiryPage({ id }: { id: string }) {
  const { answer, reload } = useAnswer(() => settle(client.GET("/inquiries/{inquiry_id}", {
    params: { path: { inquiry_id: id } } })), [id]);
  const [body, setBody] = useState("");
  const me = whoAmI();
  return (
    <Loaded answer={answer}>{(inquiry) => (
      <section data-testid="inquiry">
        <h2>询单：<a href={href("services", inquiry.service_id)}>{inquiry.service_title}</a></h2>
        {inquiry.first_reply_at && <p class="muted">服务商首次回复：{when(inquiry.first_reply_at)}</p>}
        {inquiry.order_id && <p data-testid="offer-order">服务商已报价：
          <a href={href("orders", inquiry.order_id)} data-testid="to-offer-order">查看订单并付款</a></p>}
        {inquiry.contract_id && <p data-testid="offer-contract">服务商发来合同：
          <a href={href("contracts", inquiry.contract_id)} data-testid="to-offer-contract">查看条款并签约</a></p>}
        <ul class="messages">{inquiry.messages.map((m) => (
          <li key={m.id} class={m.author === me?.sub ? "mine" : ""} data-testid="inquiry-message">
            <b>{INQUIRY_ROLE[m.role]}</b> <span class="muted">{when(m.at)}</span><div>{m.body}</div></li>))}</ul>
        <textarea rows={3} value={body} data-testid="inquiry-reply" onInput={(e) => setBody(e.currentTarget.value)} />
        <Action label="发送" testid="inquiry-send"
          run={(key) => settle(client.POST("/inquiries/{inquiry_id}/messages", {
            params: { path: { inquiry_id: id }, header: { "Idempotency-Key": key } }, body: { body } }))}
          onDone={() => { setBody(""); reload(); }} />
        {inquiry.role === "provider" && <OfferForm inquiry={inquiry} done={reload} />}
        {inquiry.role === "provider" && <ContractOfferForm inquiryId={inquiry.id} price={0} />}
      </section>)}
    </Loaded>
  );
}
