// A service page: what it is, who provides it, its reviews, and ordering it with a
// requirement and a desired completion date.
import { useState } from "preact/hooks";
import { client, settle, whoAmI, type Schema } from "../api/client";
import { isoWithOffset, localInputValue } from "../clock";
import { Markdown } from "../markdown";
import { go, href } from "../router";
import { ContractForm } from "./Contracts";
import { Action, Field, Loaded, useAnswer } from "../ui";
import { MILESTONE_RELEASE, SERVICE_STATUS, revisionsText, when, yuan } from "../words";
import { AskProvider } from "./Inquiries";
import { upload } from "../upload";
import { useTaxonomy } from "./Market";
import { LevelBadge, ReviewBody, StatsInWords } from "./Trust";

type Release = Schema<"MilestoneView">["release"];
type Step = { title: string; amount: string; release: Release };

/** Milestones when ordering (分阶段付款): each step's amount and when it is released. */
function Milestones({ steps, set }: { steps: Step[]; set: (steps: Step[]) => void }) {
  const change = (i: number, patch: Partial<Step>) => set(steps.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  return (
    <div class="field" data-testid="milestones"><span>分阶段（可选）</span><div>
      {steps.map((s, i) => (
        <div class="step" key={i}>
          <input placeholder="阶段名称" value={s.title} data-testid={`step-title-${i}`}
            onInput={(e) => change(i, { title: e.currentTarget.value })} />
          <input type="number" min="0.01" step="0.01" placeholder="金额（元）" value={s.amount} data-testid={`step-amount-${i}`}
            onInput={(e) => change(i, { amount: e.currentTarget.value })} />
          <select value={s.release} data-testid={`step-release-${i}`}
            onChange={(e) => change(i, { release: e.currentTarget.value === "on_accept" ? "on_accept" : "on_approval" })}>
            {(Object.keys(MILESTONE_RELEASE) as Release[]).map((r) => <option value={r} key={r}>{MILESTONE_RELEASE[r]}</option>)}
          </select>
          <button type="button" onClick={() => set(steps.filter((_, j) => j !== i))}>删除</button>
        </div>))}
      <button type="button" data-testid="add-step" onClick={() => set([...steps, { title: "", amount: "", release: "on_approval" }])}>加一个阶段</button>
    </div></div>
  );
}

/** 套餐 side by side: the buyer picks one (its delivery days propose the due date). */
function Packages({ service, chosen, choose }: {
  service: Schema<"Service">; chosen: string; choose: (p: Schema<"Package">) => void;
}) {
  if (service.packages.length === 0) return null;
  return (
    <table class="packages" data-testid="packages"><thead><tr><th></th>
      {service.packages.map((p) => <th key={p.name}>{p.name}</th>)}</tr></thead>
      <tbody>
        <tr><td>价格</td>{service.packages.map((p) => <td key={p.name}>{yuan(p.price)}</td>)}</tr>
        <tr><td>交付</td>{service.packages.map((p) => <td key={p.name}>{p.delivery_days} 天</td>)}</tr>
        <tr><td>修改</td>{service.packages.map((p) => <td key={p.name}>{revisionsText(p.revisions)}</td>)}</tr>
        <tr><td>说明</td>{service.packages.map((p) => <td key={p.name}>{p.description}</td>)}</tr>
        <tr><td></td>{service.packages.map((p) => <td key={p.name}>
          <label><input type="radio" name="package" checked={chosen === p.name} data-testid={`package-${p.name}`}
            onChange={() => choose(p)} /> 选这个</label></td>)}</tr>
      </tbody></table>
  );
}

function OrderForm({ service }: { service: Schema<"Service"> }) {
  const [requirement, setRequirement] = useState("");
  // Ten days after the app's clock (which the local stage can move), not the browser's.
  const [due, setDue] = useState(() => localInputValue(10));
  const [pkg, setPkg] = useState("");
  const [extras, setExtras] = useState<string[]>([]);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  // A `kind: file` question is answered with a file the buyer picks: uploaded for this
  // service when the order is sent, and its file id sent as the answer.
  const [files, setFiles] = useState<Record<string, File | null>>({});
  const [price, setPrice] = useState("");
  const [steps, setSteps] = useState<Step[]>([]);
  if (!whoAmI()) return <p><a href={href("login")}>登录</a>后下单</p>;
  const fen = (yuanText: string) => Math.round(Number(yuanText) * 100);
  return (
    <div class="panel" data-testid="order-form">
      <h3>下单</h3>
      <Field label="需求"><textarea rows={4} value={requirement} data-testid="requirement"
        placeholder="例如：双十一首页，红色主题，突出满减活动"
        onInput={(e) => setRequirement(e.currentTarget.value)} /></Field>
      <Packages service={service} chosen={pkg} choose={(p) => { setPkg(p.name); setDue(localInputValue(p.delivery_days)); }} />
      {service.extras.length > 0 && <div class="field" data-testid="extras"><span>加购</span><div>
        {service.extras.map((x) => <label key={x.name}><input type="checkbox" data-testid={`extra-${x.name}`}
          checked={extras.includes(x.name)}
          onChange={(e) => setExtras(e.currentTarget.checked ? [...extras, x.name] : extras.filter((n) => n !== x.name))} />
          {x.name}（+{yuan(x.price)}）</label>)}</div></div>}
      {service.questions.map((q) => (
        <Field key={q.id} label={q.label + (q.required ? "（必填）" : "")}>
          {q.kind === "file"
            ? <input type="file" data-testid={`answer-${q.id}`}
                onChange={(e) => setFiles({ ...files, [q.id]: e.currentTarget.files?.[0] ?? null })} />
            : <input value={answers[q.id] ?? ""} data-testid={`answer-${q.id}`}
                onInput={(e) => setAnswers({ ...answers, [q.id]: e.currentTarget.value })} />}</Field>))}
      <Field label="期望完成时间"><input type="datetime-local" value={due} data-testid="due"
        onInput={(e) => setDue(e.currentTarget.value)} /></Field>
      {service.pricing === "negotiable" &&
        <Field label="出价（元）"><input type="number" min="0.01" step="0.01" value={price} data-testid="offer"
          onInput={(e) => setPrice(e.currentTarget.value)} /></Field>}
      <Milestones steps={steps} set={setSteps} />
      <Action label="提交订单" kind="primary" testid="place-order"
        run={async (key) => {
          const given: Record<string, string> = { ...answers };
          for (const [id, file] of Object.entries(files)) {
            if (!file) continue;
            const sent = await upload(file, (meta) => settle(client.POST("/services/{service_id}/answer-files", {
              params: { path: { service_id: service.id }, header: { "Idempotency-Key": `${key}:answer-${id}` } }, body: meta })));
            if (!sent.ok) return sent;
            given[id] = sent.data;
          }
          return settle(client.POST("/orders", {
          params: { header: { "Idempotency-Key": key } },
          body: { service_id: service.id, requirement, due_at: isoWithOffset(due),
                  ...(pkg ? { package: pkg } : {}), ...(extras.length ? { extras } : {}),
                  ...(Object.keys(given).length ? { answers: given } : {}),
                  ...(price ? { price: fen(price) } : {}),
                  ...(steps.length ? { milestones: steps.map((s) => ({ title: s.title, amount: fen(s.amount), release: s.release })) } : {}) },
          }));
        }}
        onDone={(order) => go("orders", order.id)} />
    </div>
  );
}

function Reviews({ serviceId }: { serviceId: string }) {
  const { answer } = useAnswer(() => settle(
    client.GET("/services/{service_id}/reviews", { params: { path: { service_id: serviceId } } })),
  [serviceId]);
  if (!answer?.ok || answer.data.items.length === 0) return null;
  return (
    <div class="panel" data-testid="service-reviews"><h3>评价</h3>
      {answer.data.items.map((r, i) => (
        <div class="review" key={i}><ReviewBody r={r} replyBy="服务商" />
          <span class="muted"> {when(r.at)}</span></div>))}
    </div>
  );
}

/** 小二推荐: the operator features a listed service in the market, or stops featuring it. */
function Feature({ service, done }: { service: Schema<"Service">; done: () => void }) {
  const at = (key: string) => ({ params: { path: { service_id: service.id }, header: { "Idempotency-Key": key } }, body: {} });
  return (
    <div class="panel" data-testid="feature"><h3>小二推荐</h3>
      <p>{service.featured ? "已推荐：在市场的「小二推荐」中展示" : "未推荐"}</p>
      {service.featured
        ? <Action label="取消推荐" testid="unfeature" run={(key) => settle(client.POST("/admin/services/{service_id}/unfeature", at(key)))} onDone={done} />
        : <Action label="推荐" kind="primary" testid="feature-service" run={(key) => settle(client.POST("/admin/services/{service_id}/feature", at(key)))} onDone={done} />}
    </div>
  );
}

/** What buyers said of the provider across all its services (public). */
function ProviderReviews({ providerId }: { providerId: string }) {
  const { answer } = useAnswer(() => settle(client.GET("/providers/{provider_id}/reviews", {
    params: { path: { provider_id: providerId }, query: { limit: 20 } } })), [providerId]);
  if (!answer?.ok || answer.data.items.length === 0) return null;
  return (
    <div class="panel" data-testid="provider-reviews"><h3>服务商的全部评价</h3>
      {answer.data.items.map((r, i) => (
        <div class="review" key={i}><ReviewBody r={r} replyBy="服务商" />
          <span class="muted"> {when(r.at)}</span></div>))}
    </div>
  );
}

export function ServicePage({ id }: { id: string }) {
  const { categoryName, tagName } = useTaxonomy();
  const { answer, reload } = useAnswer(() => settle(
    client.GET("/services/{service_id}", { params: { path: { service_id: id } } })), [id]);
  const providerId = answer?.ok ? answer.data.provider_id : null;
  const provider = useAnswer(() => providerId ? settle(client.GET("/providers/{provider_id}", {
    params: { path: { provider_id: providerId } } })) : Promise.resolve(null), [providerId]);
  return (
    <Loaded answer={answer}>{(s) => (
      <section class="service">
        <div class="service-head">
          {s.logo_url && <img class="logo" src={s.logo_url} width={80} height={80} alt="logo" />}
          <div>
            <h2 data-testid="service-title">{s.title}</h2>
            <div class="headline">{s.headline}</div>
            <div><b class="price">{yuan(s.price)}</b> {s.pricing === "negotiable" ? "可议价" : "一口价"}
              <span class="tag">{s.category ? categoryName[s.category] ?? s.category : ""}</span>
              {(s.tags || []).map((t) => <span class="tag" key={t}>{tagName[t] ?? t}</span>)}
              {s.status !== "listed" && <span class="badge">{SERVICE_STATUS[s.status]}</span>}
            </div>
            {provider.answer?.ok && <div class="muted">服务商：<a href={href("providers", s.provider_id)} data-testid="provider-link">
              {provider.answer.data.display_name ?? s.provider_id}</a>
              <LevelBadge level={provider.answer.data.credit_level} /> · 信用 {provider.answer.data.credit}
              <StatsInWords stats={provider.answer.data.stats} /></div>}
          </div>
        </div>
        <p>{s.summary}</p>
        <Markdown source={s.content} testid="service-content"
          images={Object.fromEntries(s.images.map((p) => [p.image_id, p.url]))} />
        {whoAmI()?.operator && <Feature service={s} done={reload} />}
        <AskProvider service={s} />
        <OrderForm service={s} />
        <ContractForm serviceId={s.id} price={s.price ?? 0} />
        <Reviews serviceId={s.id} />
        <ProviderReviews providerId={s.provider_id} />
      </section>
    )}</Loaded>
  );
}


