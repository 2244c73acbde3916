// A dispute as its parties and operators see it (issue 24): why and by whom it was
// opened, until when evidence (举证) is taken, both sides' evidence with its files, the
// form to add one while the API allows it (`allowed_actions` has `evidence`), and the
// opener's withdrawal (`withdraw-dispute`). Settling is a cancel proposal (OrderDeals).
import { useState } from "preact/hooks";
import { client, settle } from "../api/client";
import { Action, ErrorBox, Loaded, useAnswer, useFreshError } from "../ui";
import { upload } from "../upload";
import { ACTOR, when } from "../words";
import type { Schema } from "../api/client";

type Order = Schema<"Order">;
const text = (data: object | null | undefined, name: string): string => {
  const value: unknown = data ? (data as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" ? value : "";
};

function EvidenceForm({ id, done }: { id: string; done: () => void }) {
  const [statement, setStatement] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [picker, setPicker] = useState(0);  // a new key empties the file input
  const send = async (key: string) => {
    const file_ids: string[] = [];
    if (file) {
      const sent = await upload(file, (meta) => settle(client.POST("/orders/{order_id}/attachments", {
        params: { path: { order_id: id }, header: { "Idempotency-Key": `${key}:attachment` } }, body: meta })));
      if (!sent.ok) return sent;
      file_ids.push(sent.data);
    }
    return settle(client.POST("/orders/{order_id}/evidence", {
      params: { path: { order_id: id }, header: { "Idempotency-Key": key } },
      body: { statement, ...(file_ids.length ? { file_ids } : {}) } }));
  };
  return (
    <div class="evidence-form">
      <textarea rows={3} value={statement} placeholder="陈述事实，可附截图或文件" data-testid="evidence-statement"
        onInput={(e) => setStatement(e.currentTarget.value)} />
      <div class="actions">
        <input type="file" key={picker} data-testid="evidence-file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        <Action label="提交证据" kind="primary" testid="submit-evidence" run={send}
          onDone={() => { setStatement(""); setFile(null); setPicker((k) => k + 1); done(); }} />
      </div>
    </div>
  );
}

export function Dispute({ order, canGive, canWithdraw, done }: {
  order: Order; canGive: boolean; canWithdraw: boolean; done: () => void;
}) {
  const [given, setGiven] = useState(0);  // evidence leaves the order's version as it was
  const { answer } = useAnswer(() => settle(client.GET("/orders/{order_id}/evidence", {
    params: { path: { order_id: order.id }, query: { limit: 100 } } })), [order.id, order.version, given]);
  const [error, setError] = useFreshError();
  const open = order.status === "disputed";
  const until = order.deadlines?.evidence_until;
  const download = async (fileId: string) => {
    setError(null);
    const a = await settle(client.GET("/orders/{order_id}/attachments/{file_id}", {
      params: { path: { order_id: order.id, file_id: fileId } } }));
    if (a.ok) window.open(a.data.url, "_blank"); else setError(a.error);
  };
  return (
    <div class="panel" data-testid="dispute"><h3>{open ? "纠纷处理中" : "纠纷记录"}</h3>
      <p>{ACTOR[order.dispute?.by === order.buyer_id ? "buyer" : "provider"]}发起：{text(order.dispute, "reason")}
        <span class="muted"> · {when(text(order.dispute, "at").replace("Z", "+00:00"))}</span></p>
      {text(order.dispute, "withdrawn_at") && <p class="muted" data-testid="dispute-withdrawn">
        已由发起方撤销（{when(text(order.dispute, "withdrawn_at").replace("Z", "+00:00"))}），订单恢复进行</p>}
      {open && typeof until === "string" && <p data-testid="evidence-until">举证截止：{when(until)}
        {!canGive && <span class="muted">（已截止，等待平台小二裁决）</span>}</p>}
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <p class="muted">双方尚未举证</p> : (
        <ul class="evidence" data-testid="evidence-list">{page.items.map((e: Schema<"Evidence">) => (
          <li key={e.id} data-testid={`evidence-${e.role}`}>
            <div class="muted">{ACTOR[e.role]} · {when(e.at)}</div>
            <div class="message-body">{e.statement}</div>
            {e.files.map((f) => (
              <div key={f.file_id}>证据文件：<a href="#" onClick={(ev) => { ev.preventDefault(); download(f.file_id); }}>{f.filename}</a>
                <span class="muted"> {f.size} 字节</span></div>))}
          </li>))}</ul>)}</Loaded>
      <ErrorBox error={error} />
      {canGive && <EvidenceForm id={order.id} done={() => setGiven((n) => n + 1)} />}
      {canWithdraw && <div class="actions">
        <Action label="撤销纠纷" testid="withdraw-dispute" onDone={done}
          run={(key) => settle(client.POST("/orders/{order_id}/dispute/withdraw", {
            params: { path: { order_id: order.id }, header: { "Idempotency-Key": key } }, body: {} }))} />
        <span class="muted">订单将回到纠纷前的状态，各项期限从现在起重新计时</span></div>}
    </div>
  );
}
