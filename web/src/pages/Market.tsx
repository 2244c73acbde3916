// The market (服务市场): search, categories, tags, 小二推荐, sort; cards with the
// 20-character headline and the logo.
import { useState } from "preact/hooks";
import { client, settle, type Schema } from "../api/client";
import type { paths } from "../api/schema";
import { href } from "../router";
import { Empty, Field, Loaded, useAnswer } from "../ui";
import { yuan } from "../words";

type Item = { id: string; name: string };
type Query = NonNullable<paths["/services"]["get"]["parameters"]["query"]>;

export function useTaxonomy() {
  const categories = useAnswer<{ items: Item[] }>(() => settle(client.GET("/categories")), []);
  const tags = useAnswer<{ items: Item[] }>(() => settle(client.GET("/tags")), []);
  const names = (a: typeof categories.answer) =>
    Object.fromEntries(a?.ok ? a.data.items.map((i) => [i.id, i.name]) : []);
  return {
    categories: categories.answer?.ok ? categories.answer.data.items : [],
    tags: tags.answer?.ok ? tags.answer.data.items : [],
    categoryName: names(categories.answer) as Record<string, string>,
    tagName: names(tags.answer) as Record<string, string>,
  };
}

export function ServiceCard({ s, tagName }: { s: Schema<"ServiceCard"> & { featured?: boolean }; tagName: Record<string, string> }) {
  return (
    <a class="card" href={href("services", s.id)} data-testid="service-card">
      {s.logo_url ? <img class="logo" src={s.logo_url} width={80} height={80} alt="" />
        : <div class="logo placeholder">无图</div>}
      <div class="card-body">
        <div class="card-title">
          {s.featured && <span class="badge hot">小二推荐</span>}
          {s.trial_campaign_id && <span class="badge">试用</span>}
          {s.title}
        </div>
        <div class="headline">{s.headline}</div>
        <div class="card-meta">
          <b class="price">{yuan(s.price)}</b>
          {s.pricing === "negotiable" && <span class="muted">可议价</span>}
          {(s.tags || []).map((t) => <span class="tag" key={t}>{tagName[t] ?? t}</span>)}
        </div>
      </div>
    </a>
  );
}

export function Market() {
  const { categories, tags, tagName } = useTaxonomy();
  const [form, setForm] = useState({ q: "", category: "", tag: "", sort: "best", featured: false });
  const [query, setQuery] = useState(form);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const { answer } = useAnswer(() => settle(
    client.GET("/services", { params: { query: {
      // The choices come from the API's own /categories and /tags and the sorts below.
      q: query.q || undefined, category: (query.category || undefined) as Query["category"],
      tag: (query.tag || undefined) as Query["tag"], sort: query.sort as Query["sort"], cursor,
      // 小二推荐: the API lists featured services with featured=true.
      ...(query.featured ? { featured: "true" as const } : {}),
    } } })), [query, cursor]);
  const set = (k: keyof typeof form) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) =>
    setForm({ ...form, [k]: e.currentTarget instanceof HTMLInputElement && e.currentTarget.type === "checkbox"
      ? e.currentTarget.checked : e.currentTarget.value });
  return (
    <section>
      <form class="search" onSubmit={(e) => { e.preventDefault(); setCursor(undefined); setQuery(form); }}>
        <input placeholder="搜索服务，如 装修、logo" value={form.q} onInput={set("q")} data-testid="search-q" />
        <select value={form.category} onChange={set("category")} aria-label="类目">
          <option value="">全部类目</option>
          {categories.map((c) => <option value={c.id} key={c.id}>{c.name}</option>)}
        </select>
        <select value={form.tag} onChange={set("tag")} aria-label="标签">
          <option value="">全部标签</option>
          {tags.map((t) => <option value={t.id} key={t.id}>{t.name}</option>)}
        </select>
        <select value={form.sort} onChange={set("sort")} aria-label="排序">
          <option value="best">综合排序</option>
          <option value="newest">最新</option>
          <option value="rating">好评</option>
          <option value="price_asc">价格从低到高</option>
          <option value="price_desc">价格从高到低</option>
        </select>
        <Field label="小二推荐"><input type="checkbox" checked={form.featured} onChange={set("featured")} /></Field>
        <button type="submit">搜索</button>
      </form>
      <Loaded answer={answer}>{(page) => (
        <>
          {page.items.length === 0 && <Empty>没有找到服务</Empty>}
          <div class="cards">{page.items.map((s) => <ServiceCard s={s} tagName={tagName} key={s.id} />)}</div>
          {page.next_cursor && <button onClick={() => setCursor(page.next_cursor!)}>下一页</button>}
        </>
      )}</Loaded>
    </section>
  );
}
