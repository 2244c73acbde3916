// Sending a file the way the API hands it out: ask for a presigned S3 POST (a final
// delivery or a message attachment), post the file there, and keep its file_id.
import type { Answer } from "./api/client";

export interface Ticket { upload: { url: string; fields: Record<string, string> }; file_id: string }

const failed = (code: string, message: string, status = 0) =>
  ({ ok: false as const, error: { status, code, message, details: {} } });

/** The file's id once it is in the bucket, or the refusal (the API's or the bucket's). */
export async function upload(file: File | null,
  ask: (meta: { filename: string; content_type: string; size: number }) => Promise<Answer<Ticket>>,
): Promise<Answer<string>> {
  if (!file) return failed("NO_FILE", "no file chosen");
  const ticket = await ask({ filename: file.name, content_type: file.type || "application/octet-stream", size: file.size });
  if (!ticket.ok) return ticket;
  const form = new FormData();
  Object.entries(ticket.data.upload.fields).forEach(([k, v]) => form.append(k, v));
  form.append("file", file);
  try {
    const sent = await fetch(ticket.data.upload.url, { method: "POST", body: form });
    if (!sent.ok) return failed("UPLOAD_FAILED", "the bucket refused the file", sent.status);
  } catch (e) {
    return failed("NETWORK", String(e));
  }
  return { ok: true, data: ticket.data.file_id, status: 201 };
}
