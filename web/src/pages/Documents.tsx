// Qualification documents (资质材料): the applicant uploads them with its application;
// operators open them while reviewing. Nobody else sees them.
import { useState } from "preact/hooks";
import { client, settle, type Answer, type Schema } from "../api/client";
import type { paths } from "../api/schema";
import { Action, ErrorBox, useFreshError } from "../ui";
import { upload, type Ticket } from "../upload";
import { DOCUMENT_KIND, when } from "../words";

type Kind = Schema<"QualificationDocument">["kind"];
type ContentType = NonNullable<paths["/providers/me/documents"]["post"]["requestBody"]>["content"]["application/json"]["content_type"];
const CONTENT_TYPES: readonly ContentType[] = ["image/jpeg", "image/png", "application/pdf"];
const isContentType = (t: string): t is ContentType => (CONTENT_TYPES as readonly string[]).includes(t);

function DocumentList({ documents }: { documents: Schema<"QualificationDocument">[] }) {
  if (documents.length === 0) return <p class="muted">还没有资质材料</p>;
  return (
    <ul data-testid="documents">{documents.map((d) => (
      <li key={d.id}>{DOCUMENT_KIND[d.kind]}：{d.filename}
        <span class="muted"> · {Math.ceil(d.size / 1024)}KB · {when(d.uploaded_at)}</span></li>))}</ul>
  );
}

/** The applicant's documents and an upload (jpg/png/pdf up to 5 MB). */
export function MyDocuments({ documents, done }: { documents: Schema<"QualificationDocument">[]; done: () => void }) {
  const [kind, setKind] = useState<Kind>("business_license");
  const [file, setFile] = useState<File | null>(null);
  const send = async (key: string): Promise<Answer<string>> => upload(file, async (meta) => {
    const contentType = meta.content_type;
    if (!isContentType(contentType)) {
      return { ok: false, error: { status: 0, code: "UNSUPPORTED_MEDIA_TYPE", message: contentType, details: {} } };
    }
    const ticket = await settle(client.POST("/providers/me/documents", {
      params: { header: { "Idempotency-Key": key } },
      body: { kind, filename: meta.filename, content_type: contentType, size: meta.size } }));
    return ticket.ok
      ? { ok: true, status: ticket.status, data: { upload: ticket.data.upload, file_id: ticket.data.document_id } satisfies Ticket }
      : ticket;
  });
  return (
    <div class="panel" data-testid="my-documents"><h3>资质材料</h3>
      <DocumentList documents={documents} />
      <select value={kind} data-testid="document-kind"
        onChange={(e) => setKind((Object.keys(DOCUMENT_KIND) as Kind[]).find((k) => k === e.currentTarget.value) ?? "other")}>
        {(Object.keys(DOCUMENT_KIND) as Kind[]).map((k) => <option key={k} value={k}>{DOCUMENT_KIND[k]}</option>)}
      </select>
      <input type="file" accept=".jpg,.jpeg,.png,.pdf" data-testid="document-file"
        onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      <Action label="上传" testid="document-upload" run={send} onDone={done} />
    </div>
  );
}

/** In the operators' review: each document, opened by a short download link. */
export function ReviewDocuments({ providerId, documents }: {
  providerId: string; documents: Schema<"QualificationDocument">[] | undefined;
}) {
  const [error, setError] = useFreshError();
  if (!documents || documents.length === 0) return <div class="muted">无资质材料</div>;
  const open = async (documentId: string) => {
    setError(null);
    const link = await settle(client.GET("/admin/providers/{provider_id}/documents/{document_id}", {
      params: { path: { provider_id: providerId, document_id: documentId } } }));
    if (link.ok) window.open(link.data.url, "_blank"); else setError(link.error);
  };
  return (
    <div data-testid={`review-documents-${providerId}`}>
      {documents.map((d) => (
        <div key={d.id}><a href="#" data-testid="open-document" onClick={(e) => { e.preventDefault(); void open(d.id); }}>
          {DOCUMENT_KIND[d.kind]}：{d.filename}</a></div>))}
      <ErrorBox error={error} />
    </div>
  );
}
