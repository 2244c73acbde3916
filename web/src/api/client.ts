// The console's one door to the API: the client generated from /openapi.json
// (openapi-fetch over src/api/schema.d.ts), the signed-in token, and errors as values.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

/** The API's named answers (GET /openapi.json components), e.g. Schema<"Order">. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

const TOKEN_KEY = "market.token";
const API_KEY = "market.api";

/** Where the API is: a build-time VITE_API_BASE (a console on its own origin), a
 * setting saved in this browser, or the origin that served the console. */
export function apiBase(): string {
  const configured = import.meta.env?.VITE_API_BASE;
  return (localStorage.getItem(API_KEY) || configured || location.origin).replace(/\/$/, "");
}

export function setApiBase(url: string) {
  if (url) localStorage.setItem(API_KEY, url);
  else localStorage.removeItem(API_KEY);
}

export const client = createClient<paths>({ baseUrl: apiBase() });

client.use({
  onRequest({ request }) {
    const token = getToken();
    if (token && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${token}`);
    }
    return request;
  },
});

export interface ApiError {
  status: number;
  code: string;
  message: string;
  details: Record<string, unknown>;
}

type ErrorBody = Schema<"ErrorBody">;

function errorBody(error: unknown): ErrorBody | undefined {
  if (typeof error !== "object" || error === null || !("error" in error)) return undefined;
  const body = (error as { error: unknown }).error;
  return typeof body === "object" && body !== null && "code" in body ? body as ErrorBody : undefined;
}

/** What a call answered: the body on success, else the API's error (or the network's). */
export type Answer<T> = { ok: true; data: T; status: number } | { ok: false; error: ApiError };

/** The answer of one call, typed by the generated client (`Answer<components["schemas"]["Order"]>` …). */
export async function settle<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<Answer<T>> {
  try {
    const { data, error, response } = await call;
    if (response.ok) return { ok: true, data: data as T, status: response.status };
    const body = errorBody(error);
    return {
      ok: false,
      error: {
        status: response.status,
        code: body?.code ?? `HTTP_${response.status}`,
        message: body?.message ?? response.statusText,
        details: body?.details ?? {},
      },
    };
  } catch (e) {
    return { ok: false, error: { status: 0, code: "NETWORK", message: String(e), details: {} } };
  }
}

/** A fresh Idempotency-Key for one intent (see `Action` in ui.tsx, which keeps it across
 * retries of the same intent). */
export function newKey(): string {
  return crypto.randomUUID();
}

/** Whether the same intent may be sent again with the same key: the answer was lost or
 * the server could not finish (network, 5xx, the first try still running). A refusal of
 * the input (4xx) ends the intent: a corrected input is a new one, with a new key. */
export function retrySameKey(error: ApiError): boolean {
  return error.status === 0 || error.status >= 500 || error.code === "IDEMPOTENCY_IN_PROGRESS";
}

/** The app's clock (GET /health): the local stage can move it, so default dates are based
 * on it rather than on the browser's. `offsetMs` is app time minus browser time. */
export const appClock = { offsetMs: 0, moved: false };

export function appNow(): Date {
  return new Date(Date.now() + appClock.offsetMs);
}

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event("market-token"));
}

export interface Me {
  sub: string;
  roles: string[];
  operator: boolean;
}

/** Who the token says we are: only for showing the right menus, never for deciding. */
export function whoAmI(): Me | null {
  const token = getToken();
  if (!token) return null;
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json);
    const roles: string[] = Array.isArray(claims.roles) ? claims.roles : [];
    return { sub: String(claims.sub), roles, operator: roles.includes("operator") };
  } catch {
    return null;
  }
}
