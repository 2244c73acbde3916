// Small building blocks every page uses: loading an answer, showing an error in words,
// a button that runs one API call at a time.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { newKey, retrySameKey } from "./api/client";
import type { Answer, ApiError } from "./api/client";
import { explain } from "./words";

export function ErrorBox({ error }: { error: ApiError | null | undefined }) {
  if (!error) return null;
  return <div class="error" role="alert" title={error.code}>{explain(error)}</div>;
}

/** Load an answer; `reload()` asks again (after an action changed it). */
export function useAnswer<T>(load: () => Promise<Answer<T> | null>, deps: unknown[]) {
  const [answer, setAnswer] = useState<Answer<T> | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then((a) => live && setAnswer(a));
    return () => { live = false; };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { answer, reload };
}

export function Loaded<T>({ answer, children }: {
  answer: Answer<T> | null; children: (data: T) => ComponentChildren;
}) {
  if (!answer) return <p class="muted">加载中…</p>;
  if (!answer.ok) return <ErrorBox error={answer.error} />;
  return <>{children(answer.data)}</>;
}

const CHANGED = "market-changed";

/** An error that goes away once anything on the page succeeds (it is stale then). */
export function useFreshError() {
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    const clear = () => setError(null);
    window.addEventListener(CHANGED, clear);
    return () => window.removeEventListener(CHANGED, clear);
  }, []);
  return [error, setError] as const;
}

/** Say that a write succeeded: every error on the page is stale now. */
export function changed() {
  window.dispatchEvent(new Event(CHANGED));
}

/** One Idempotency-Key per intent: kept while the same intent is retried (a lost answer,
 * a 5xx), a new one once it succeeded or its input was refused. */
export function useIntentKey() {
  const key = useRef(newKey());
  const settled = (answer: Answer<unknown>) => {
    if (answer.ok || !retrySameKey(answer.error)) key.current = newKey();
  };
  return { key: () => key.current, settled };
}

/** A button that runs one call with its intent's Idempotency-Key, shows "…" while it
 * runs, and reports its error. */
export function Action<T>({ label, run, onDone, kind = "", testid }: {
  label: string; run: (key: string) => Promise<Answer<T>>; onDone?: (data: T) => void;
  kind?: string; testid?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useFreshError();
  const intent = useIntentKey();
  return (
    <span class="action">
      <button class={kind} disabled={busy} data-testid={testid} onClick={async () => {
        setBusy(true); setError(null);
        const answer = await run(intent.key());
        intent.settled(answer);
        setBusy(false);
        if (answer.ok) { changed(); onDone?.(answer.data); } else setError(answer.error);
      }}>{busy ? "…" : label}</button>
      <ErrorBox error={error} />
    </span>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return <label class="field"><span>{label}</span>{children}</label>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>;
}
