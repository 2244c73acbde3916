// Messages (留言) on an order: what the parties (and, in a dispute, the operator) wrote,
// oldest first, with their attached files; and writing one, a file attached if wanted.
import { useState } from "preact/hooks";
import { client, settle, whoAmI } from "../api/client";
import { Action, ErrorBox, Loaded, useAnswer, useFreshError } from "../ui";
import { upload } from "../upload";
import { ACTOR, when } from "../words";
import type { Schema } from "../api/client";

export function Messages({ id, version }: { id: string; version: number }) {
  const { answer, reload } = useAnswer(() => settle(client.GET("/orders/{order_id}/messages", {
    params: { path: { order_id: id }, query: { limit: 100 } } })), [id, version]);
  const [body, setBody] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [picker, setPicker] = useState(0);  // a new key empties the file input
  const [error, setError] = useFreshError();
  const me = whoAmI();
  const send = async (key: string) => {
    const file_ids: string[] = [];
    if (file) {
      const sent = await upload(file, (meta) => settle(client.POST("/orders/{order_id}/attachments", {
        params: { path: { order_id: id }, header: { "Idempotency-Key": `${key}:attachment` } }, body: meta })));
      if (!sent.ok) return sent;
      file_ids.push(sent.data);
    }
    return settle(client.POST("/orders/{order_id}/messages", {
      params: { path: { order_id: id }, header: { "Idempotency-Key": key } },
      body: { body, ...(file_ids.length ? { file_ids } : {}) } }));
  };
  const download = async (fileId: string) => {
    setError(null);
    const a = await settle(client.GET("/orders/{order_id}/attachments/{file_id}", {
      params: { path: { order_id: id, file_id: fileId } } }));
    if (a.ok) window.open(a.data.url, "_blank"); else setError(a.error);
  };
  return (
    <div class="panel" data-testid="messages"><h3>留言</h3>
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <p class="muted">还没有留言</p> : (
        <ul class="messages">{page.items.map((m: Schema<"Message">) => (
          <li key={m.id} class={m.author === me?.sub ? "mine" : ""} data-testid="message">
            <div class="muted">{ACTOR[m.role] ?? m.role} · {when(m.at)}</div>
            <div class="message-body">{m.body}</div>
            {m.files.map((f) => (
              <div key={f.file_id}>附件：<a href="#" onClick={(e) => { e.preventDefault(); download(f.file_id); }}>{f.filename}</a>
                <span class="muted"> {f.size} 字节</span></div>))}
          </li>))}</ul>)}</Loaded>
      <ErrorBox error={error} />
      <textarea rows={2} value={body} placeholder="写留言" data-testid="message-body"
        onInput={(e) => setBody(e.currentTarget.value)} />
      <div class="actions">
        <input type="file" key={picker} data-testid="message-file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        <Action label="发送" kind="primary" testid="send-message" run={send}
          onDone={() => { setBody(""); setFile(null); setPicker((k) => k + 1); reload(); }} />
      </div>
    </div>
  );
}
