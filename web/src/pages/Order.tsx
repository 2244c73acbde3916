// An order: its state, money and deadlines; the timeline; deliveries; messages and
// reviews; and the actions of whoever is looking. Which action the state allows is the
// API's to decide: every button asks, and a refusal is shown in words.
import { useState } from "preact/hooks";
import { client, newKey, settle, whoAmI } from "../api/client";
import { Action, ErrorBox, Field, Loaded, useAnswer } from "../ui";
import { ACTOR, EVENT, ORDER_STATUS, RATING, when, yuan } from "../words";
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

/** Upload one file with the presigned POST the API hands out, then deliver it. */
function Deliver({ id, done }: { id: string; done: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [note, setNote] = useState("");
  const run = async () => {
    if (!file) return { ok: false as const, error: { status: 0, code: "NO_FILE", message: "请先选择终稿文件", details: {} } };
    const asked = await settle<any>(client.POST("/orders/{order_id}/deliverables", {
      ...write(id), body: { filename: file.name, content_type: file.type || "application/octet-stream", size: file.size } }));
    if (!asked.ok) return asked;
    const form = new FormData();
    Object.entries(asked.data.upload.fields as Record<string, string>).forEach(([k, v]) => form.append(k, v));
    form.append("file", file);
    const put = await fetch(asked.data.upload.url, { method: "POST", body: form });
    if (!put.ok) return { ok: false as const, error: { status: put.status, code: "UPLOAD_FAILED", message: "文件上传失败", details: {} } };
    return settle(client.POST("/orders/{order_id}/deliver", {
      ...write(id), body: { file_ids: [asked.data.file_id], ...(note ? { note } : {}) } }));
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
  const [rating, setRating] = useState("good");
  const [comment, setComment] = useState("");
  return (
    <div class="panel"><h3>评价</h3>
      <select value={rating} onChange={(e) => setRating(e.currentTarget.value)}>
        {Object.entries(RATING).map(([k, v]) => <option value={k} key={k}>{v}</option>)}
      </select>
      <input placeholder="评语" value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      <Action label="提交评价" testid="review" run={() => settle((client as any).POST("/orders/{order_id}/reviews", {
        ...write(id), body: { rating, comment } }))} onDone={done} />
    </div>
  );
}

function ReviewsShown({ id, version }: { id: string; version: number }) {
  const { answer } = useAnswer<{ items: any[] }>(() => settle(
    (client as any).GET("/orders/{order_id}/reviews", path(id))), [id, version]);
  if (!answer?.ok || !answer.data.items?.length) return null;
  return (
    <div class="panel"><h3>双方评价</h3>
      {answer.data.items.map((r: any, i: number) => (
        <div key={i}>{ACTOR[r.author_role] ?? r.author_role}：<b>{RATING[r.rating] ?? r.rating}</b> {r.comment}</div>))}
    </div>
  );
}

function Messages({ id, version }: { id: string; version: number }) {
  // Messages (留言) arrive with the "talking and trust" routes; a stack without them
  // answers 404/405 and the section is left out.
  const { answer, reload } = useAnswer<{ items: any[] }>(() => settle(
    (client as any).GET("/orders/{order_id}/messages", path(id))), [id, version]);
  const [body, setBody] = useState("");
  if (!answer?.ok) return null;
  return (
    <div class="panel"><h3>留言</h3>
      {answer.data.items.map((m: any) => (
        <div key={m.id}><b>{ACTOR[m.role] ?? m.author}</b>：{m.body} <span class="muted">{when(m.at)}</span></div>))}
      <input value={body} placeholder="写留言" onInput={(e) => setBody(e.currentTarget.value)} />
      <Action label="发送" run={() => settle((client as any).POST("/orders/{order_id}/messages", {
        ...write(id), body: { body } }))} onDone={() => { setBody(""); reload(); }} />
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
      const post = (p: any, body: any = {}) => () => settle(client.POST(p, { ...write(id), body } as any));
      return (
        <section class="order">
          <h2>{o.service.title}</h2>
          <p><span class={`status s-${o.status}`} data-testid="order-status">{o.status_label}</span>
            <b class="price"> {yuan(o.amount)}</b> <span class="muted">订单号 {o.id}</span></p>
          <div class="grid">
            <div class="panel"><h3>需求</h3><pre class="content">{o.requirement}</pre>
              <p>期望完成：{when(o.due_at)}</p></div>
            <div class="panel"><h3>托管资金</h3>
              <p data-testid="escrow">已付 {yuan(o.escrow.funded)} · 托管中 {yuan(o.escrow.held)} · 已放款 {yuan(o.escrow.released)} · 已退款 {yuan(o.escrow.refunded)}</p>
              {Object.entries(o.deadlines || {}).map(([k, v]) => <div class="muted" key={k}>{DEADLINE[k] ?? k}：{when(v as string)}</div>)}
              {o.dispute && <p class="muted">纠纷：{String((o.dispute as any).reason ?? "")}</p>}
            </div>
          </div>
          <div class="actions">
            {buyer && <>
              <Pay id={id} done={reload} />
              <Action label="验收通过" kind="primary" testid="approve" run={post("/orders/{order_id}/approve")} onDone={reload} />
              <WithText label="要求修改" field="修改意见" testid="revise" run={(note) => post("/orders/{order_id}/request-revision", { note })()} done={reload} />
              <Action label="取消订单" testid="cancel" run={post("/orders/{order_id}/cancel")} onDone={reload} />
            </>}
            {provider && <>
              <Action label="接受订单" kind="primary" testid="accept" run={post("/orders/{order_id}/accept")} onDone={reload} />
              <WithText label="拒绝订单" field="拒绝原因" testid="reject" run={(reason) => post("/orders/{order_id}/reject", { reason })()} done={reload} />
            </>}
            {(buyer || provider) &&
              <WithText label="发起纠纷" field="纠纷原因" testid="dispute" run={(reason) => post("/orders/{order_id}/dispute", { reason })()} done={reload} />}
          </div>
          {provider && <Deliver id={id} done={reload} />}
          {me?.operator && !buyer && !provider && <Resolve order={o} done={reload} />}
          <Deliveries id={id} version={o.version} />
          <Messages id={id} version={o.version} />
          {(buyer || provider) && <Review id={id} done={reload} />}
          <ReviewsShown id={id} version={o.version} />
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

