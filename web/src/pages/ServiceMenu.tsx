// The provider's menu on a service (套餐, 加购, 需求表) and the pictures of its content.
// Only editing: which menus are valid is the API's to say, and its refusals are shown.
import { useState } from "preact/hooks";
import { client, settle, type Answer, type Schema } from "../api/client";
import { Action, ErrorBox, Field, useFreshError, useIntentKey } from "../ui";
import { revisionsText, yuan } from "../words";

type Service = Schema<"Service">;
type PackageRow = { name: string; price: string; delivery_days: string; revisions: string; description: string };
type ExtraRow = { name: string; price: string };
type QuestionRow = Schema<"Question">;
const fen = (yuanText: string) => Math.round(Number(yuanText) * 100);

export function ServiceMenu({ service, done }: { service: Service; done: (s: Service) => void }) {
  const [packages, setPackages] = useState<PackageRow[]>(() => service.packages.map((p) => ({
    name: p.name, price: String(p.price / 100), delivery_days: String(p.delivery_days),
    revisions: p.revisions == null ? "" : String(p.revisions), description: p.description })));
  const [extras, setExtras] = useState<ExtraRow[]>(() => service.extras.map((x) => ({ name: x.name, price: String(x.price / 100) })));
  const [questions, setQuestions] = useState<QuestionRow[]>(() => service.questions);
  const row = <T,>(list: T[], set: (l: T[]) => void, i: number, patch: Partial<T>) =>
    set(list.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  const save = (key: string) => settle(client.PATCH("/services/{service_id}", {
    params: { path: { service_id: service.id }, header: { "Idempotency-Key": key } },
    body: {
      packages: packages.map((p) => ({ name: p.name, price: fen(p.price), delivery_days: Number(p.delivery_days),
        revisions: p.revisions === "" ? null : Number(p.revisions), description: p.description })),
      extras: extras.map((x) => ({ name: x.name, price: fen(x.price) })),
      questions,
    } }));
  return (
    <div class="panel" data-testid="service-menu"><h3>套餐、加购与需求表</h3>
      {packages.map((p, i) => (
        <div class="step" key={i} data-testid={`edit-package-${i}`}>
          <input placeholder="套餐名" value={p.name} onInput={(e) => row(packages, setPackages, i, { name: e.currentTarget.value })} />
          <input type="number" placeholder="价格（元）" value={p.price} onInput={(e) => row(packages, setPackages, i, { price: e.currentTarget.value })} />
          <input type="number" placeholder="交付天数" value={p.delivery_days} onInput={(e) => row(packages, setPackages, i, { delivery_days: e.currentTarget.value })} />
          <input type="number" placeholder="修改次数（空为不限）" value={p.revisions} onInput={(e) => row(packages, setPackages, i, { revisions: e.currentTarget.value })} />
          <input placeholder="说明" value={p.description} onInput={(e) => row(packages, setPackages, i, { description: e.currentTarget.value })} />
          <button type="button" onClick={() => setPackages(packages.filter((_, j) => j !== i))}>删除</button>
        </div>))}
      <button type="button" data-testid="add-package" onClick={() => setPackages([...packages,
        { name: "", price: "", delivery_days: "3", revisions: "", description: "" }])}>加一个套餐</button>
      {extras.map((x, i) => (
        <div class="step" key={i}>
          <input placeholder="加购项" value={x.name} onInput={(e) => row(extras, setExtras, i, { name: e.currentTarget.value })} />
          <input type="number" placeholder="加价（元）" value={x.price} onInput={(e) => row(extras, setExtras, i, { price: e.currentTarget.value })} />
          <button type="button" onClick={() => setExtras(extras.filter((_, j) => j !== i))}>删除</button>
        </div>))}
      <button type="button" data-testid="add-extra" onClick={() => setExtras([...extras, { name: "", price: "" }])}>加一个加购项</button>
      {questions.map((q, i) => (
        <div class="step" key={i}>
          <input placeholder="编号（英文）" value={q.id} onInput={(e) => row(questions, setQuestions, i, { id: e.currentTarget.value })} />
          <input placeholder="问题" value={q.label} onInput={(e) => row(questions, setQuestions, i, { label: e.currentTarget.value })} />
          <label><input type="checkbox" checked={q.required} onChange={(e) => row(questions, setQuestions, i, { required: e.currentTarget.checked })} />必填</label>
          <button type="button" onClick={() => setQuestions(questions.filter((_, j) => j !== i))}>删除</button>
        </div>))}
      <button type="button" data-testid="add-question" onClick={() => setQuestions([...questions,
        { id: "", label: "", required: false, kind: "text" }])}>加一个问题</button>
      <Action label="保存套餐与需求表" kind="primary" testid="save-menu" run={save} onDone={done} />
      {service.packages.length > 0 && <p class="muted">当前：{service.packages.map((p) =>
        `${p.name} ${yuan(p.price)} · ${p.delivery_days}天 · ${revisionsText(p.revisions)}`).join("；")}</p>}
    </div>
  );
}

/** A picture for the content: ask for a ticket, post the file, let the API check it;
 * then the content may show it as ![说明](image:<id>). */
export function ServicePictures({ service, done }: { service: Service; done: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useFreshError();
  const intent = useIntentKey();
  const send = async () => {
    setError(null);
    const contentType = file?.type;
    if (!file || (contentType !== "image/jpeg" && contentType !== "image/png" && contentType !== "image/webp")) {
      setError({ status: 0, code: "INVALID_IMAGE", message: "choose a jpg, png or webp", details: {} });
      return;
    }
    const key = intent.key();
    const ticket = await settle(client.POST("/services/{service_id}/images", {
      params: { path: { service_id: service.id }, header: { "Idempotency-Key": key } },
      body: { content_type: contentType, size: file.size } }));
    intent.settled(ticket);
    if (!ticket.ok) { setError(ticket.error); return; }
    const form = new FormData();
    Object.entries(ticket.data.upload.fields).forEach(([k, v]) => form.append(k, String(v)));
    form.append("file", file);
    const sent = await fetch(ticket.data.upload.url, { method: "POST", body: form }).catch(() => null);
    if (!sent?.ok) { setError({ status: 0, code: "UPLOAD_FAILED", message: "upload failed", details: {} }); return; }
    const checked: Answer<Schema<"ServiceImage">> = await settle(client.POST("/services/{service_id}/images/{image_id}/check", {
      params: { path: { service_id: service.id, image_id: ticket.data.image_id }, header: { "Idempotency-Key": `${key}:check` } },
      body: {} }));
    if (checked.ok) done(); else setError(checked.error);
  };
  return (
    <div class="panel" data-testid="service-pictures"><h3>详情图片</h3>
      {service.images.map((p) => <Field key={p.image_id} label={`![说明](image:${p.image_id})`}>
        <img class="content-image" src={p.url} alt="" /></Field>)}
      <input type="file" accept="image/png,image/jpeg,image/webp" data-testid="picture"
        onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      <button type="button" data-testid="upload-picture" onClick={() => void send()}>上传图片</button>
      <ErrorBox error={error} />
    </div>
  );
}
