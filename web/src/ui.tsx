// Small building blocks every page uses: loading an answer, showing an error in words,
// a button that runs one API call at a time.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import type { Answer, ApiError } from "./api/client";
import { explain } from "./words";

export function ErrorBox({ error }: { error: ApiError | null | undefined }) {
  if (!error) return null;
  return <div class="error" role="alert">{explain(error)}</div>;
}

/** Load an answer; `reload()` asks again (after an action changed it). */
export function useAnswer<T>(load: () => Promise<Answer<T>>, deps: unknown[]) {
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

/** A button that runs one call, shows "…" while it runs, and reports its error. */
export function Action({ label, run, onDone, kind = "", testid }: {
  label: string; run: () => Promise<Answer<any>>; onDone?: (data: any) => void;
  kind?: string; testid?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <span class="action">
      <button class={kind} disabled={busy} data-testid={testid} onClick={async () => {
        setBusy(true); setError(null);
        const answer = await run();
        setBusy(false);
        if (answer.ok) onDone?.(answer.data); else setError(answer.error);
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
