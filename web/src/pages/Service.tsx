// A service page: what it is, who provides it, its reviews, and ordering it with a
// requirement and a desired completion date.
import { useState } from "preact/hooks";
import { client, newKey, settle, whoAmI } from "../api/client";
import { go, href } from "../router";
import { ContractForm } from "./Contracts";
import { Action, Field, Loaded, useAnswer } from "../ui";
import { RATING, SERVICE_STATUS, when, yuan } from "../words";
import { useTaxonomy } from "./Market";

/** A datetime-local value as ISO 8601 with the browser's offset, as the API wants. */
export function isoWithOffset(local: string): string {
  const d = new Date(local);
  const off = -d.getTimezoneOffset();
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  const sign = off >= 0 ? "+" : "-";
  return `${local.length === 16 ? local + ":00" : local}${sign}${pad(off / 60)}:${pad(off % 60)}`;
}

function OrderForm({ service }: { service: any }) {
  const inTenDays = new Date(Date.now() + 10 * 86400e3 - new Date().getTimezoneOffset() * 60e3)
    .toISOString().slice(0, 16);
  const [requirement, setRequirement] = useState("");
  const [due, setDue] = useState(inTenDays);
  const [price, setPrice] = useState("");
  const [key] = useState(newKey());
  if (!whoAmI()) return <p><a href={href("login")}>登录</a>后下单</p>;
  return (
    <div class="panel" data-testid="order-form">
      <h3>下单</h3>
      <Field label="需求"><textarea rows={4} value={requirement} data-testid="requirement"
        placeholder="例如：双十一首页，红色主题，突出满减活动"
        onInput={(e) => setRequirement(e.currentTarget.value)} /></Field>
      <Field label="期望完成时间"><input type="datetime-local" value={due} data-testid="due"
        onInput={(e) => setDue(e.currentTarget.value)} /></Field>
      {service.pricing === "negotiable" &&
        <Field label="出价（元）"><input type="number" min="0.01" step="0.01" value={price} data-testid="offer"
          onInput={(e) => setPrice(e.currentTarget.value)} /></Field>}
      <Action label="提交订单" kind="primary" testid="place-order"
        run={() => settle(client.POST("/orders", {
          params: { header: { "Idempotency-Key": key } },
          body: { service_id: service.id, requirement, due_at: isoWithOffset(due),
                  ...(price ? { price: Math.round(Number(price) * 100) } : {}) },
        }))}
        onDone={(order) => go("orders", order.id)} />
    </div>
  );
}

function Reviews({ serviceId }: { serviceId: string }) {
  // Public reviews arrive with the "talking and trust" routes; until a stack has them
  // this section stays empty rather than showing an error.
  const { answer } = useAnswer<{ items: any[] }>(() => settle(
    (client as any).GET("/services/{service_id}/reviews", { params: { path: { service_id: serviceId } } })),
  [serviceId]);
  if (!answer?.ok || answer.data.items.length === 0) return null;
  return (
    <div class="panel"><h3>评价</h3>
      {answer.data.items.map((r: any, i: number) => (
        <div class="review" key={i}><b>{RATING[r.rating] ?? r.rating}</b> {r.comment}
          <span class="muted"> {when(r.at)}</span>
          {r.reply && <div class="muted">服务商回复：{r.reply.body ?? r.reply}</div>}</div>))}
    </div>
  );
}

export function ServicePage({ id }: { id: string }) {
  const { categoryName, tagName } = useTaxonomy();
  const { answer } = useAnswer<any>(() => settle(
    client.GET("/services/{service_id}", { params: { path: { service_id: id } } })), [id]);
  const provider = useAnswer<any>(() => answer?.ok ? settle(client.GET("/providers/{provider_id}", {
    params: { path: { provider_id: answer.data.provider_id } } })) : Promise.resolve(null as any), [answer]);
  return (
    <Loaded answer={answer}>{(s) => (
      <section class="service">
        <div class="service-head">
          {s.logo_url && <img class="logo" src={s.logo_url} width={80} height={80} alt="logo" />}
          <div>
            <h2 data-testid="service-title">{s.title}</h2>
            <div class="headline">{s.headline}</div>
            <div><b class="price">{yuan(s.price)}</b> {s.pricing === "negotiable" ? "可议价" : "一口价"}
              <span class="tag">{categoryName[s.category] ?? s.category}</span>
              {(s.tags || []).map((t: string) => <span class="tag" key={t}>{tagName[t] ?? t}</span>)}
              {s.status !== "listed" && <span class="badge">{SERVICE_STATUS[s.status] ?? s.status}</span>}
            </div>
            {provider.answer?.ok && <div class="muted">服务商：{provider.answer.data.display_name ?? s.provider_id}
              · 信用 {provider.answer.data.credit}</div>}
          </div>
        </div>
        <p>{s.summary}</p>
        <pre class="content">{s.content}</pre>
        <OrderForm service={s} />
        <ContractForm serviceId={s.id} price={s.price} />
        <Reviews serviceId={s.id} />
      </section>
    )}</Loaded>
  );
}


