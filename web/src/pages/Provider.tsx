// The provider's desk: apply (发服务资质), own services (edit, logo, 上架/下架), balance.
import { useState } from "preact/hooks";
import { client, settle } from "../api/client";
import { go, href } from "../router";
import { Action, Empty, ErrorBox, Field, Loaded, changed, useAnswer, useFreshError, useIntentKey } from "../ui";
import { PROVIDER_STATUS, SERVICE_STATUS, yuan } from "../words";
import { MyDocuments } from "./Documents";
import { ServiceMenu, ServicePictures } from "./ServiceMenu";
import { useTaxonomy } from "./Market";
import type { ApiError, Schema } from "../api/client";
import type { paths } from "../api/schema";

type Service = Schema<"Service">;
const idem = (key: string) => ({ header: { "Idempotency-Key": key } });
type Input = { currentTarget: { value: string } };

function Apply({ done }: { done: () => void }) {
  const [f, setF] = useState({ display_name: "", company_name: "", contact: "", intro: "" });
  const set = (k: keyof typeof f) => (e: Input) => setF({ ...f, [k]: e.currentTarget.value });
  return (
    <div class="panel" data-testid="apply-form"><h3>申请成为服务商</h3>
      <Field label="服务商名称"><input value={f.display_name} onInput={set("display_name")} data-testid="display_name" /></Field>
      <Field label="公司名称"><input value={f.company_name} onInput={set("company_name")} data-testid="company_name" /></Field>
      <Field label="联系方式"><input value={f.contact} onInput={set("contact")} data-testid="contact" /></Field>
      <Field label="介绍"><textarea value={f.intro} onInput={set("intro")} data-testid="intro" /></Field>
      <Action label="提交申请" kind="primary" testid="apply" run={(key) => settle(client.POST("/providers/me/application", {
        params: idem(key), body: f }))} onDone={done} />
    </div>
  );
}

export function ProviderHome() {
  const me = useAnswer(() => settle(client.GET("/providers/me")), []);
  const balance = useAnswer(() => settle(client.GET("/me/balance")), []);
  const services = useAnswer(() => settle(client.GET("/providers/me/services", {
    params: { query: { limit: 100 } } })), []);
  return (
    <section>
      <Loaded answer={me.answer}>{(p) => (
        <div class="panel"><h3>{p.display_name ?? "服务商资质"}</h3>
          <p>资质状态：<b data-testid="provider-status">{PROVIDER_STATUS[p.status]}</b>
            {p.status === "approved" && <> · 已上架 {p.listed_count} 个 · 信用 {p.credit}</>}</p>
          {p.reason && <p class="muted">原因：{p.reason}</p>}
          {(p.status === "none" || p.status === "rejected") && <Apply done={me.reload} />}
          {p.status !== "none" && <MyDocuments documents={p.documents ?? []} done={me.reload} />}
        </div>)}</Loaded>
      <Loaded answer={balance.answer}>{(b) => (
        <div class="panel"><h3>余额</h3><p class="price" data-testid="balance">{yuan(b.available)}</p>
          {b.pending_withdrawal != null && <p class="muted">提现中 {yuan(b.pending_withdrawal)}</p>}
          <a class="button" href={href("provider", "money")} data-testid="to-money">收入与提现</a></div>)}</Loaded>
      <div class="panel"><h3>我的服务 <a class="button" href={href("provider", "services", "new")}>新建服务</a></h3>
        <Loaded answer={services.answer}>{(page) => page.items.length === 0 ? <Empty>还没有服务</Empty> : (
          <table class="list" data-testid="my-services">
            <thead><tr><th>服务</th><th>状态</th><th>价格</th><th></th></tr></thead>
            <tbody>{page.items.map((s) => (
              <tr key={s.id}>
                <td>{s.logo_url && <img class="logo small" src={s.logo_url} alt="" />}
                  <a href={href("provider", "services", s.id)}>{s.title}</a></td>
                <td>{SERVICE_STATUS[s.status]}</td><td>{yuan(s.price)}</td>
                <td><ListButtons s={s} done={() => { services.reload(); me.reload(); }} /></td>
              </tr>))}</tbody>
          </table>)}</Loaded>
      </div>
    </section>
  );
}

/** 上架 for a draft or delisted service, 下架 for a listed one; 删除 when not listed (the
 * API still decides: a refusal is shown in words). */
function ListButtons({ s, done, removed }: { s: Service; done: () => void; removed?: () => void }) {
  const p = (key: string) => ({ params: { path: { service_id: s.id }, ...idem(key) } });
  return <>
    {s.status !== "listed" && <Action label="上架" testid="list" run={(key) => settle(client.POST("/services/{service_id}/list", { ...p(key), body: {} }))} onDone={done} />}
    {s.status === "listed" && <Action label="下架" testid="delist" run={(key) => settle(client.POST("/services/{service_id}/delist", { ...p(key), body: {} }))} onDone={done} />}
    {s.status !== "listed" && <Action label="删除" testid="delete-service" run={(key) => {
      if (!window.confirm(`删除「${s.title}」？删除后不能恢复。`)) return Promise.resolve({ ok: false as const, error: CANCELLED });
      return settle(client.DELETE("/services/{service_id}", p(key)));
    }} onDone={removed ?? done} />}
  </>;
}

/** 试用上架: list the service as the trial of a running campaign (the API checks the
 * campaign's price ceiling and one trial per provider). */
function TrialListing({ s, done }: { s: Service; done: () => void }) {
  const { answer } = useAnswer(() => settle(client.GET("/campaigns", { params: { query: { limit: 100 } } })), []);
  const [campaign, setCampaign] = useState("");
  if (s.status === "listed" || !answer?.ok || answer.data.items.length === 0) return null;
  const chosen = campaign || answer.data.items[0].id;
  return (
    <div class="field" data-testid="trial-listing"><span>活动试用上架</span><div>
      <select value={chosen} data-testid="trial-campaign" onChange={(e) => setCampaign(e.currentTarget.value)}>
        {answer.data.items.map((c) => <option value={c.id} key={c.id}>{c.name}（试用最高价 {yuan(c.max_price)}）</option>)}
      </select>
      <Action label="试用上架" testid="list-trial" run={(key) => settle(client.POST("/services/{service_id}/list", {
        params: { path: { service_id: s.id }, ...idem(key) }, body: { campaign_id: chosen } }))} onDone={done} />
    </div></div>
  );
}

/** The person said no to a confirmation: nothing was sent, nothing to say. */
const CANCELLED: ApiError = { status: 499, code: "CANCELLED_BY_USER", message: "", details: {} };

const EMPTY = { title: "", summary: "", content: "", category: "", pricing: "fixed", price: "", tags: [] as string[], capacity: "" };

/** Create or edit a service; the logo is uploaded as the raw image the API checks. */
export function ServiceEditor({ id }: { id: string }) {
  const isNew = id === "new";
  const { categories, tags } = useTaxonomy();
  const [f, setF] = useState<typeof EMPTY | null>(isNew ? EMPTY : null);
  const [service, setService] = useState<Service | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [logoError, setLogoError] = useFreshError();
  const logoIntent = useIntentKey();
  const [saved, setSaved] = useState("");
  useAnswer(async () => {
    if (isNew) return null;
    const a = await settle(client.GET("/services/{service_id}", { params: { path: { service_id: id } } }));
    if (a.ok) {
      setService(a.data);
      const s = a.data;
      setF({ title: s.title ?? "", summary: s.summary ?? "", content: s.content ?? "", category: s.category ?? "", pricing: s.pricing ?? "fixed",
        price: s.price == null ? "" : String(s.price / 100), tags: s.tags || [], capacity: s.capacity ? String(s.capacity) : "" });
    } else setLoadError(a.error);
    return a;
  }, [id]);
  const refresh = async () => {
    const a = await settle(client.GET("/services/{service_id}", { params: { path: { service_id: id } } }));
    if (a.ok) setService(a.data);
  };
  if (loadError) return <ErrorBox error={loadError} />;
  if (!f) return <p class="muted">加载中…</p>;
  const set = (k: keyof typeof EMPTY) => (e: Input) => setF({ ...f, [k]: e.currentTarget.value });
  // The generated request types name the categories and tags the API knows; the choices
  // here come from the API's own /categories and /tags.
  type Body = NonNullable<paths["/services"]["post"]["requestBody"]>["content"]["application/json"];
  const body = (): Body => ({
    title: f.title, summary: f.summary, content: f.content, category: f.category as Body["category"],
    pricing: f.pricing === "negotiable" ? "negotiable" : "fixed",
    price: Math.round(Number(f.price) * 100), tags: f.tags as Body["tags"],
    ...(f.capacity ? { capacity: Number(f.capacity) } : { capacity: null }),
  });
  const save = (key: string) => isNew
    ? settle(client.POST("/services", { params: idem(key), body: body() }))
    : settle(client.PATCH("/services/{service_id}", { params: { path: { service_id: id }, ...idem(key) }, body: body() }));
  return (
    <section class="panel" data-testid="service-editor">
      <h3>{isNew ? "新建服务" : "编辑服务"}{service && <span class="badge" data-testid="service-status">{SERVICE_STATUS[service.status]}</span>}</h3>
      <Field label="服务名称"><input value={f.title} onInput={set("title")} data-testid="title" /></Field>
      <Field label="类目"><select value={f.category} onChange={set("category")} data-testid="category">
        <option value="">请选择</option>
        {categories.map((c) => <option value={c.id} key={c.id}>{c.name}</option>)}</select></Field>
      <Field label="简介（前20字是标题行）"><input value={f.summary} onInput={set("summary")} data-testid="summary" /></Field>
      <Field label="服务详情（Markdown）"><textarea rows={6} value={f.content} onInput={set("content")} data-testid="content" /></Field>
      <Field label="计价方式"><select value={f.pricing} onChange={set("pricing")}>
        <option value="fixed">一口价</option><option value="negotiable">可议价</option></select></Field>
      <Field label="价格（元）"><input type="number" step="0.01" value={f.price} onInput={set("price")} data-testid="price" /></Field>
      <Field label="同时接单上限（可空）"><input type="number" value={f.capacity} onInput={set("capacity")} /></Field>
      <div class="field"><span>标签</span><div>{tags.map((t) => (
        <label class="check" key={t.id}><input type="checkbox" checked={f.tags.includes(t.id)} onChange={(e) => setF({
          ...f, tags: e.currentTarget.checked ? [...f.tags, t.id] : f.tags.filter((x) => x !== t.id) })} />{t.name}</label>))}</div></div>
      <Action label="保存" kind="primary" testid="save" run={save} onDone={(s) => {
        setSaved("已保存"); setService(s); if (isNew) go("provider", "services", s.id); }} />
      <span class="muted">{saved}</span>
      {!isNew && (
        <div class="field"><span>Logo（尺寸、格式与大小不符时，会说明要求）</span>
          <div>{service?.logo_url && <img class="logo" src={service.logo_url} alt="logo" />}
            <input type="file" accept="image/png,image/jpeg,image/bmp" data-testid="logo" onChange={async (e) => {
              const file = e.currentTarget.files?.[0];
              if (!file) return;
              setLogoError(null);
              // The raw image (the document names it application/octet-stream; the file's
              // own type is sent, which the API checks against the bytes).
              const a = await settle(client.PUT("/services/{service_id}/logo", {
                params: { path: { service_id: id }, ...idem(logoIntent.key()) },
                // openapi-typescript types a binary body as a string; fetch sends the File as is.
                body: file as Blob as unknown as string, bodySerializer: (b: string) => b, headers: { "Content-Type": file.type || "application/octet-stream" } }));
              logoIntent.settled(a);
              if (a.ok) { changed(); setService(a.data); } else setLogoError(a.error);
            }} /></div>
          <ErrorBox error={logoError} />
        </div>)}
      {!isNew && service && <ListButtons s={service} removed={() => go("provider")} done={refresh} />}
      {!isNew && service && <TrialListing s={service} done={refresh} />}
      {!isNew && service && <ServiceMenu service={service} done={setService} />}
      {!isNew && service && <ServicePictures service={service} done={refresh} />}
    </section>
  );
}
