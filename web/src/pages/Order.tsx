// An order: its state, money and deadlines; the timeline; deliveries; the price and
// proposals (OrderDeals), messages (OrderTalk) and reviews; and the actions of whoever
// is looking. Which action the state allows is the API's to decide: the order answer's
// `allowed_actions` says which buttons to show, and a refusal is still shown in words.
import { useState } from "preact/hooks";
import { client, settle, whoAmI } from "../api/client";
import { Action, ErrorBox, Field, Loaded, useAnswer, useFreshError } from "../ui";
import { upload } from "../upload";
import { ACTOR, EVENT, MILESTONE_RELEASE, MILESTONE_STATUS, ORDER_STATUS, RATING, label, revisionsText, when, yuan } from "../words";
import { href } from "../router";
import { Price, Proposals } from "./OrderDeals";
import { Dispute } from "./OrderDispute";
import { Messages } from "./OrderTalk";
import { ReviewBody } from "./Trust";
import type { Answer, Schema } from "../api/client";

const path = (id: string) => ({ params: { path: { order_id: id } } });
const write = (id: string, key: string) => ({ params: { path: { order_id: id }, header: { "Idempotency-Key": key } } });
type Order = Schema<"Order">;

/** A text field of a free-form object the API answers (an event's data, a dispute). */
function field(data: object | null | undefined, name: string): string {
  const value: unknown = data ? (data as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" ? value : "";
}
type Verb = Order["allowed_actions"][number];

function Timeline({ id, version }: { id: string; version: number }) {
  const { answer } = useAnswer(() => settle(client.GET("/orders/{order_id}/events", {
    params: { path: { order_id: id }, query: { limit: 100 } } })), [id, version]);
  return (
    <div class="panel"><h3>进度</h3>
      <Loaded answer={answer}>{(page) => (
        <ol class="timeline" data-testid="timeline">
          {page.items.map((e) => (
            <li key={e.seq}><b>{EVENT[e.type] ?? e.type}</b> → {label(ORDER_STATUS, e.to)}
              <span class="muted"> · {label(ACTOR, e.actor)} · {when(e.at)}</span>
              {field(e.data, "note") && <div class="muted">{field(e.data, "note")}</div>}
              {field(e.data, "reason") && <div class="muted">{field(e.data, "reason")}</div>}</li>))}
        </ol>)}</Loaded>
    </div>
  );
}

function Deliveries({ id, version }: { id: string; version: number }) {
  const { answer } = useAnswer(() => settle(client.GET("/orders/{order_id}/deliverables", path(id))), [id, version]);
  const [error, setError] = useFreshError();
  if (answer?.ok && answer.data.items.length === 0) return null;
  return (
    <div class="panel"><h3>交付文件</h3>
      <Loaded answer={answer}>{(page) => (
        <ul data-testid="deliverables">{page.items.map((f) => (
          <li key={f.file_id}>第{f.version ?? 1}次交付：
            <a href="#" onClick={async (e) => {
              e.preventDefault();
              const a = await settle(client.GET("/orders/{order_id}/deliverables/{file_id}", {
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
  const run = async (key: string) => {
    const sent = await upload(file, (meta) => settle(client.POST("/orders/{order_id}/deliverables", {
      ...write(id, `${key}:upload`), body: meta })));
    if (!sent.ok) return sent;
    return settle(client.POST("/orders/{order_id}/deliver", {
      ...write(id, key), body: { file_ids: [sent.data], ...(note ? { note } : {}) } }));
  };
  return (
    <div class="panel"><h3>上传终稿</h3>
      <input type="file" data-testid="deliver-file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      <Field label="说明"><input value={note} onInput={(e) => setNote(e.currentTarget.value)} /></Field>
      <Action label="上传终稿" kind="primary" testid="deliver" run={run} onDone={done} />
    </div>
  );
}

function WithText<T>({ label, field, run, done, testid }: {
  label: string; field: string; testid: string;
  run: (text: string, key: string) => Promise<Answer<T>>; done: () => void;
}) {
  const [text, setText] = useState("");
  return (
    <span class="with-text">
      <input placeholder={field} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <Action label={label} testid={testid} run={(key) => run(text, key)} onDone={done} />
    </span>
  );
}

function Pay({ id, done }: { id: string; done: () => void }) {
  return <Action label="付款" kind="primary" testid="pay"
    run={(key) => settle(client.POST("/orders/{order_id}/pay", { ...write(id, key), body: {} }))}
    onDone={(order) => {
      // A gateway that confirms later hands back its page: the buyer pays there, comes
      // back, and this page reads the order again.
      const redirect = order.payment?.redirect_url;
      if (order.payment?.status === "pending" && redirect) location.href = redirect;
      else done();
    }} />;
}

function Review({ id, done }: { id: string; done: () => void }) {
  const [rating, setRating] = useState<"good" | "neutral" | "bad">("good");
  const [comment, setComment] = useState("");
  return (
    <div class="panel"><h3>评价</h3>
      <select value={rating} onChange={(e) => {
        const picked = (Object.keys(RATING) as (keyof typeof RATING)[]).find((k) => k === e.currentTarget.value);
        if (picked) setRating(picked);
      }}>
        {(Object.keys(RATING) as (keyof typeof RATING)[]).map((k) => <option value={k} key={k}>{RATING[k]}</option>)}
      </select>
      <input placeholder="评语" value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      <Action label="提交评价" testid="review" run={(key) => settle(client.POST("/orders/{order_id}/reviews", {
        ...write(id, key), body: { rating, comment } }))} onDone={done} />
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
        <div key={r.author_role} data-testid={`review-${r.author_role}`}>{ACTOR[r.author_role]}：
          <ReviewBody r={r} replyBy={r.author_role === "buyer" ? "服务商" : "买家"} />
          <span class="muted"> {when(r.created_at)}</span>
          {operator && r.hidden && r.hidden_reason && <div class="muted">已隐藏：{r.hidden_reason}</div>}
          {provider && r.author_role === "buyer" && !r.reply &&
            <WithText label="回复评价" field="回复" testid="reply-review" done={again}
              run={(body, key) => settle(client.POST("/orders/{order_id}/reviews/buyer/reply", { ...write(id, key), body: { body } }))} />}
          {buyer && r.author_role === "provider" && !r.reply &&
            <WithText label="回复评价" field="回复" testid="reply-provider-review" done={again}
              run={(body, key) => settle(client.POST("/orders/{order_id}/reviews/provider/reply", { ...write(id, key), body: { body } }))} />}
          {buyer && r.author_role === "buyer" && !r.follow_up &&
            <WithText label="追评" field="追加评价" testid="follow-up-review" done={again}
              run={(body, key) => settle(client.POST("/orders/{order_id}/reviews/buyer/follow-up", { ...write(id, key), body: { body } }))} />}
          {operator && !r.hidden &&
            <WithText label="隐藏评价" field="隐藏原因" testid={`hide-review-${r.author_role}`} done={again}
              run={(reason, key) => settle(client.POST("/admin/orders/{order_id}/reviews/{side}/hide", {
                params: { path: { order_id: id, side: r.author_role }, header: { "Idempotency-Key": key } },
                body: { reason } }))} />}
        </div>))}
    </div>
  );
}

type Fault = "buyer" | "provider" | "none";
/** Whose fault the dispute was: the operator says it with every resolution. */
const FAULTS: [Fault, string][] = [["none", "双方均无过错"], ["provider", "服务商责任"], ["buyer", "买家责任"]];

function Resolve({ order, done }: { order: Order; done: () => void }) {
  const [refund, setRefund] = useState(String(order.escrow.held / 100));
  const [note, setNote] = useState("");
  const [fault, setFault] = useState<Fault>("none");
  const release = Math.max(0, order.escrow.held - Math.round(Number(refund) * 100));
  return (
    <div class="panel"><h3>裁决纠纷</h3>
      <p class="muted">托管中 {yuan(order.escrow.held)}：退款给买家，其余放款给服务商。</p>
      <Field label="退款（元）"><input type="number" step="0.01" value={refund} data-testid="refund"
        onInput={(e) => setRefund(e.currentTarget.value)} /></Field>
      <p>放款给服务商：{yuan(release)}</p>
      <Field label="责任方"><select value={fault} data-testid="resolve-fault"
        onChange={(e) => setFault(e.currentTarget.value as Fault)}>
        {FAULTS.map(([value, label]) => <option value={value}>{label}</option>)}
      </select></Field>
      <Field label="给双方的说明"><textarea rows={2} value={note} data-testid="resolve-note"
        onInput={(e) => setNote(e.currentTarget.value)} /></Field>
      <Action label="裁决" kind="primary" testid="resolve" run={(key) => settle(client.POST("/admin/orders/{order_id}/resolve", {
        ...write(order.id, key), body: { refund: Math.round(Number(refund) * 100), release, fault, ...(note ? { note } : {}) } }))} onDone={done} />
    </div>
  );
}

/** The order's steps (milestones; a deposit is a step released on accept): each step's
 * amount, when it is released and where its money is now. */
function Steps({ order }: { order: Order }) {
  if (order.milestones.length === 0) return null;
  return (
    <div class="panel" data-testid="milestones"><h3>分阶段与定金</h3>
      <table class="list"><thead><tr><th>阶段</th><th>金额</th><th>何时放款</th><th>状态</th></tr></thead>
        <tbody>{order.milestones.map((m, i) => (
          <tr key={i} class={i === order.current_step ? "current" : ""}>
            <td>{m.title}</td><td>{yuan(m.amount)}</td><td>{MILESTONE_RELEASE[m.release]}</td>
            <td>{label(MILESTONE_STATUS, m.status)}</td></tr>))}</tbody></table>
    </div>
  );
}

export function OrderPage({ id }: { id: string }) {
  const { answer, reload } = useAnswer(() => settle(client.GET("/orders/{order_id}", path(id))), [id]);
  const [reviewed, setReviewed] = useState(0);
  const me = whoAmI();
  return (
    <Loaded answer={answer}>{(o) => {
      const buyer = me?.sub === o.buyer_id, provider = me?.sub === o.provider_id;
      const can = (verb: Verb) => o.allowed_actions.includes(verb);
      return (
        <section class="order">
          <h2>{o.service.title}</h2>
          <p><span class={`status s-${o.status}`} data-testid="order-status">{o.status_label}</span>
            <b class="price" data-testid="order-amount"> {yuan(o.amount)}</b> <span class="muted">订单号 {o.id}</span></p>
          <Chosen order={o} />
          <div class="grid">
            <div class="panel"><h3>需求</h3><pre class="content">{o.requirement}</pre>
              <p>期望完成：<span data-testid="due-at">{when(o.due_at)}</span></p></div>
            <div class="panel"><h3>托管资金</h3>
              <p data-testid="escrow">已付 {yuan(o.escrow.funded)} · 托管中 {yuan(o.escrow.held)} · 已放款 {yuan(o.escrow.released)} · 已退款 {yuan(o.escrow.refunded)}</p>
              {Object.entries(o.deadlines || {}).map(([k, v]) => <div class="muted" key={k}>{DEADLINE[k] ?? k}：{when(typeof v === "string" ? v : null)}</div>)}
            </div>
          </div>
          <div class="actions" data-testid="order-actions">
            {can("pay") && <Pay id={id} done={reload} />}
            {can("approve") && <Action label="验收通过" kind="primary" testid="approve" run={(key) => settle(client.POST("/orders/{order_id}/approve", { ...write(id, key), body: {} }))} onDone={reload} />}
            {can("request-revision") && <WithText label="要求修改" field="修改意见" testid="revise" run={(note, key) => settle(client.POST("/orders/{order_id}/request-revision", { ...write(id, key), body: { note } }))} done={reload} />}
            {can("accept") && <Action label="接受订单" kind="primary" testid="accept" run={(key) => settle(client.POST("/orders/{order_id}/accept", { ...write(id, key), body: {} }))} onDone={reload} />}
            {can("reject") && <WithText label="拒绝订单" field="拒绝原因" testid="reject" run={(reason, key) => settle(client.POST("/orders/{order_id}/reject", { ...write(id, key), body: { reason } }))} done={reload} />}
            {can("cancel") && <Action label={provider ? "放弃订单（全额退款）" : "取消订单"} testid="cancel" run={(key) => settle(client.POST("/orders/{order_id}/cancel", { ...write(id, key), body: {} }))} onDone={reload} />}
            {can("dispute") && <WithText label="发起纠纷" field="纠纷原因" testid="dispute" run={(reason, key) => settle(client.POST("/orders/{order_id}/dispute", { ...write(id, key), body: { reason } }))} done={reload} />}
          </div>
          {o.dispute && <Dispute order={o} canGive={can("evidence")} canWithdraw={can("withdraw-dispute")} done={reload} />}
          <Steps order={o} />
          {can("deliver") && <Deliver id={id} done={reload} />}
          {can("resolve") && <Resolve order={o} done={reload} />}
          {o.service.pricing === "negotiable" && <Price order={o} canSet={can("price")} done={reload} />}
          <Proposals order={o} canPropose={can("propose")} done={reload} />
          <Deliveries id={id} version={o.version} />
          <Messages id={id} version={o.version} />
          {/* The review window is open while the API lists its deadline (review_until). */}
          {"review_until" in (o.deadlines || {}) && ((buyer && !o.reviewed_by_buyer) || (provider && !o.reviewed_by_provider)) &&
            <Review id={id} done={() => { setReviewed((n) => n + 1); reload(); }} />}
          {/* A review does not change the order's version: counted here so the panel reads again. */}
          <ReviewsShown id={id} version={o.version * 1000 + reviewed} buyer={buyer} provider={provider}
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
  refund_answer_by: "退款申请答复截止", proposal_expires_at: "协商过期", evidence_until: "举证截止",
};

/** What the buyer chose before ordering: the package, extras, form answers, the inquiry. */
function Chosen({ order }: { order: Schema<"Order"> }) {
  const answers = Object.entries(order.answers ?? {});
  if (!order.package && order.extras.length === 0 && answers.length === 0 && !order.inquiry_id) return null;
  return (
    <div class="panel" data-testid="order-choice">
      {order.inquiry_id && <p>来自询单：<a href={href("inquiries", order.inquiry_id)}>查看沟通记录</a>（定制报价）</p>}
      {order.package && <p data-testid="order-package">套餐：{order.package.name}（{yuan(order.package.price)}，
        {order.package.delivery_days} 天交付，{revisionsText(order.package.revisions)}，已修改 {order.revision_count} 次）</p>}
      {order.extras.length > 0 && <p data-testid="order-extras">加购：{order.extras.map((x) => `${x.name}（+${yuan(x.price)}）`).join("、")}</p>}
      {answers.length > 0 && <dl data-testid="order-answers">{answers.map(([id, text]) => (
        <div key={id}><dt>{id}</dt><dd>{String(text)}</dd></div>))}</dl>}
    </div>
  );
}
