// An order: its state, money and deadlines; the timeline; deliveries; the price and
// proposals (OrderDeals), messages (OrderTalk) and reviews; and the actions of whoever
// is looking. Which action the state allows is the API's to decide: the order answer's
// `allowed_actions` says which buttons to show, and a refusal is still shown in words.
import { useState } from "preact/hooks";
import { client, newKey, settle, whoAmI } from "../api/client";
import { Action, ErrorBox, Field, Loaded, useAnswer } from "../ui";
import { upload } from "../upload";
import { ACTOR, EVENT, ORDER_STATUS, RATING, when, yuan } from "../words";
import { Price, Proposals } from "./OrderDeals";
import { Messages } from "./OrderTalk";
import { ReviewBody } from "./Trust";
import type { ApiError, Schema } from "../api/client";

const path = (id: string) => ({ params: { path: { order_id: id } } });
const write = (id: string) => ({ params: { path: { order_id: id }, header: { "Idempotency-Key": newKey() } } });

function Timeline({ id, version }: { id: string; version: number }) {
  const { answer } = useAnswer<{ items: any[] }>(() => settle(client.GET("/orders/{order_id}/events", {
    params: { path: { order_id: id }, query: { limit: 100 } } })), [id, version]);
  return (
    <div class="panel"><h3>进度</h3>
      <Loaded answer={answer}>{(page) => (
        <ol class="timeline" data-testid="timeline">
          {page.items.map((e) => (
            <li key={e.seq}><b>{EVENT[e.type] ?? e.type}</b> → {ORDER_STATUS[e.to] ?? e.to}
              <span class="muted"> · {ACTOR[e.actor] ?? e.actor} · {when(e.at)}</span>
              {e.data?.note && <div class="muted">{e.data.note}</div>}
              {e.data?.reason && <div class="muted">{e.data.reason}</div>}</li>))}
        </ol>)}</Loaded>
    </div>
  );
}

function Deliveries({ id, version }: { id: string; version: number }) {
  const { answer } = useAnswer<{ items: any[] }>(() => settle(client.GET("/orders/{order_id}/deliverables", path(id))), [id, version]);
  const [error, setError] = useState<ApiError | null>(null);
  if (answer?.ok && answer.data.items.length === 0) return null;
  return (
    <div class="panel"><h3>交付文件</h3>
      <Loaded answer={answer}>{(page) => (
        <ul data-testid="deliverables">{page.items.map((f) => (
          <li key={f.file_id}>第{f.version ?? f.delivery}次交付：
            <a href="#" onClick={async (e) => {
              e.preventDefault();
              const a = await settle<any>(client.GET("/orders/{order_id}/deliverables/{file_id}", {
                params: { path: { order_id: id, file_id: f.file_id } } }));
              if (a.ok) window.open(a.data.url, "_blank"); else setError(a.error);
            }}>{f.filename}</a> <span class="muted">{f.size} 字节</span></li>))}</ul>)}</Loaded>
      <ErrorBox error={error} />
    </div>
  );
}

/** Upload the final file through the presigned POST the API hands out, then deliver it. */
function Deliver({ id, done }: { id: string; done: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [note, setNote] = useState("");
  const run = async () => {
    const sent = await upload(file, (meta) => settle(client.POST("/orders/{order_id}/deliverables", {
      ...write(id), body: meta })));
    if (!sent.ok) return sent;
    return settle(client.POST("/orders/{order_id}/deliver", {
      ...write(id), body: { file_ids: [sent.data], ...(note ? { note } : {}) } }));
  };
  return (
    <div class="panel"><h3>上传终稿</h3>
      <input type="file" data-testid="deliver-file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      <Field label="说明"><input value={note} onInput={(e) => setNote(e.currentTarget.value)} /></Field>
      <Action label="上传终稿" kind="primary" testid="deliver" run={run} onDone={done} />
    </div>
  );
}

function WithText({ label, field, run, done, testid }: {
  label: string; field: string; testid: string;
  run: (text: string) => Promise<any>; done: () => void;
}) {
  const [text, setText] = useState("");
  return (
    <span class="with-text">
      <input placeholder={field} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <Action label={label} testid={testid} run={() => run(text)} onDone={done} />
    </span>
  );
}

function Pay({ id, done }: { id: string; done: () => void }) {
  return <Action label="付款" kind="primary" testid="pay"
    run={() => settle(client.POST("/orders/{order_id}/pay", { ...write(id), body: {} }))}
    onDone={(order) => {
      // A gateway that confirms later hands back its page: the buyer pays there, comes
      // back, and this page reads the order again.
      const redirect = order?.payment?.redirect_url;
      if (order?.payment?.status === "pending" && redirect) location.href = redirect;
      else done();
    }} />;
}

function Review({ id, done }: { id: string; done: () => void }) {
  const [rating, setRating] = useState<"good" | "neutral" | "bad">("good");
  const [comment, setComment] = useState("");
  return (
    <div class="panel"><h3>评价</h3>
      <select value={rating} onChange={(e) => setRating(e.currentTarget.value as any)}>
        {Object.entries(RATING).map(([k, v]) => <option value={k} key={k}>{v}</option>)}
      </select>
      <input placeholder="评语" value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      <Action label="提交评价" testid="review" run={() => settle(client.POST("/orders/{order_id}/reviews", {
        ...write(id), body: { rating, comment } }))} onDone={done} />
    </div>
  );
}

/** Both sides' reviews as the API shows them (blind until both reviewed or the window
 * closed); each side's one reply to the other's review, the buyer's 追评, and an
 * operator's hiding (the API refuses, in words, whatever is no longer possible). */
function ReviewsShown({ id, version, buyer, provider, operator, done }: {
  id: string; version: number; buyer: boolean; provider: boolean; operator: boolean; done: () => void;
}) {
  const { answer, reload } = useAnswer(() => settle(client.GET("/orders/{order_id}/reviews", path(id))), [id, version]);
  if (!answer?.ok || !answer.data.items.length) return null;
  // An answer, a 追评 or a hiding leaves the order's version as it was: read the reviews again.
  const again = () => { reload(); done(); };
  return (
    <div class="panel" data-testid="reviews"><h3>双方评价</h3>
      {answer.data.items.map((r) => (
        <div key={r.author_role} data-testid={`review-${r.author_role}`}>{ACTOR[r.author_role] ?? r.author_role}：
          <ReviewBody r={r} replyBy={r.author_role === "buyer" ? "服务商" : "买家"} />
          <span class="muted"> {when(r.created_at)}</span>
          {operator && r.hidden && r.hidden_reason && <div class="muted">已隐藏：{r.hidden_reason}</div>}
          {provider && r.author_role === "buyer" && !r.reply &&
            <WithText label="回复评价" field="回复" testid="reply-review" done={again}
              run={(body) => settle(client.POST("/orders/{order_id}/reviews/buyer/reply", { ...write(id), body: { body } }))} />}
          {buyer && r.author_role === "provider" && !r.reply &&
            <WithText label="回复评价" field="回复" testid="reply-provider-review" done={again}
              run={(body) => settle(client.POST("/orders/{order_id}/reviews/provider/reply", { ...write(id), body: { body } }))} />}
          {buyer && r.author_role === "buyer" && !r.follow_up &&
            <WithText label="追评" field="追加评价" testid="follow-up-review" done={again}
              run={(body) => settle(client.POST("/orders/{order_id}/reviews/buyer/follow-up", { ...write(id), body: { body } }))} />}
          {operator && !r.hidden &&
            <WithText label="隐藏评价" field="隐藏原因" testid={`hide-review-${r.author_role}`} done={again}
              run={(reason) => settle(client.POST("/admin/orders/{order_id}/reviews/{side}/hide", {
                params: { path: { order_id: id, side: r.author_role }, header: { "Idempotency-Key": newKey() } },
                body: { reason } }))} />}
        </div>))}
    </div>
  );
}

function Resolve({ order, done }: { order: Schema<"Order">; done: () => void }) {
  const [refund, setRefund] = useState(String(order.escrow.held / 100));
  const release = Math.max(0, order.escrow.held - Math.round(Number(refund) * 100));
  return (
    <div class="panel"><h3>裁决纠纷</h3>
      <p class="muted">托管中 {yuan(order.escrow.held)}：退款给买家，其余放款给服务商。</p>
      <Field label="退款（元）"><input type="number" step="0.01" value={refund} data-testid="refund"
        onInput={(e) => setRefund(e.currentTarget.value)} /></Field>
      <p>放款给服务商：{yuan(release)}</p>
      <Action label="裁决" kind="primary" testid="resolve" run={() => settle(client.POST("/admin/orders/{order_id}/resolve", {
        ...write(order.id), body: { refund: Math.round(Number(refund) * 100), release } }))} onDone={done} />
    </div>
  );
}

export function OrderPage({ id }: { id: string }) {
  const { answer, reload } = useAnswer(() => settle(client.GET("/orders/{order_id}", path(id))), [id]);
  const me = whoAmI();
  return (
    <Loaded answer={answer}>{(o) => {
      const buyer = me?.sub === o.buyer_id, provider = me?.sub === o.provider_id;
      const can = (verb: Schema<"Order">["allowed_actions"][number]) => o.allowed_actions.includes(verb);
      const post = (p: any, body: any = {}) => () => settle(client.POST(p, { ...write(id), body } as any));
      return (
        <section class="order">
          <h2>{o.service.title}</h2>
          <p><span class={`status s-${o.status}`} data-testid="order-status">{o.status_label}</span>
            <b class="price"> {yuan(o.amount)}</b> <span class="muted">订单号 {o.id}</span></p>
          <div class="grid">
            <div class="panel"><h3>需求</h3><pre class="content">{o.requirement}</pre>
              <p>期望完成：<span data-testid="due-at">{when(o.due_at)}</span></p></div>
            <div class="panel"><h3>托管资金</h3>
              <p data-testid="escrow">已付 {yuan(o.escrow.funded)} · 托管中 {yuan(o.escrow.held)} · 已放款 {yuan(o.escrow.released)} · 已退款 {yuan(o.escrow.refunded)}</p>
              {Object.entries(o.deadlines || {}).map(([k, v]) => <div class="muted" key={k}>{DEADLINE[k] ?? k}：{when(v as string)}</div>)}
              {o.dispute && <p class="muted">纠纷：{String((o.dispute as any).reason ?? "")}</p>}
            </div>
          </div>
          <div class="actions" data-testid="order-actions">
            {can("pay") && <Pay id={id} done={reload} />}
            {can("approve") && <Action label="验收通过" kind="primary" testid="approve" run={post("/orders/{order_id}/approve")} onDone={reload} />}
            {can("request-revision") && <WithText label="要求修改" field="修改意见" testid="revise" run={(note) => post("/orders/{order_id}/request-revision", { note })()} done={reload} />}
            {can("accept") && <Action label="接受订单" kind="primary" testid="accept" run={post("/orders/{order_id}/accept")} onDone={reload} />}
            {can("reject") && <WithText label="拒绝订单" field="拒绝原因" testid="reject" run={(reason) => post("/orders/{order_id}/reject", { reason })()} done={reload} />}
            {can("cancel") && <Action label={provider ? "放弃订单（全额退款）" : "取消订单"} testid="cancel" run={post("/orders/{order_id}/cancel")} onDone={reload} />}
            {can("dispute") && <WithText label="发起纠纷" field="纠纷原因" testid="dispute" run={(reason) => post("/orders/{order_id}/dispute", { reason })()} done={reload} />}
          </div>
          {can("deliver") && <Deliver id={id} done={reload} />}
          {can("resolve") && <Resolve order={o} done={reload} />}
          {o.service.pricing === "negotiable" && <Price order={o} canSet={can("price")} done={reload} />}
          <Proposals order={o} canPropose={can("propose")} done={reload} />
          <Deliveries id={id} version={o.version} />
          <Messages id={id} version={o.version} />
          {/* The review window is open while the API lists its deadline (review_until). */}
          {"review_until" in (o.deadlines || {}) && ((buyer && !o.reviewed_by_buyer) || (provider && !o.reviewed_by_provider)) &&
            <Review id={id} done={reload} />}
          <ReviewsShown id={id} version={o.version} buyer={buyer} provider={provider}
            operator={!!me?.operator} done={reload} />
          <Timeline id={id} version={o.version} />
        </section>
      );
    }}</Loaded>
  );
}

const DEADLINE: Record<string, string> = {
  pay_by: "付款截止", accept_by: "服务商确认截止", late_cancel_from: "可逾期取消自",
  auto_approve_at: "自动验收", review_until: "评价截止",
};

