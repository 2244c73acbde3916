// The app's clock in the header: the API's `now` (GET /health). The local stage can move
// it (POST /_local/clock), and then the console says so and bases its default dates on
// it, not on the browser's clock.
import { useEffect, useState } from "preact/hooks";
import { appClock, appNow, client, settle } from "./api/client";
import { when } from "./words";

/** Read the app's clock again (on load, after the page comes back into view). */
export async function syncClock(): Promise<void> {
  const sentAt = Date.now();
  const answer = await settle(client.GET("/health"));
  if (!answer.ok) return;
  const halfTrip = (Date.now() - sentAt) / 2;
  appClock.offsetMs = Date.parse(answer.data.now) - (sentAt + halfTrip);
  // Under a few seconds is the machines' drift, not a moved clock.
  appClock.moved = answer.data.clock_moved && Math.abs(appClock.offsetMs) > 5000;
}

export function AppClock() {
  const [shown, setShown] = useState<{ now: Date; moved: boolean } | null>(null);
  useEffect(() => {
    let live = true;
    const refresh = () => syncClock().then(() => live && setShown({ now: appNow(), moved: appClock.moved }));
    refresh();
    const timer = window.setInterval(refresh, 60_000);
    window.addEventListener("focus", refresh);
    return () => { live = false; window.clearInterval(timer); window.removeEventListener("focus", refresh); };
  }, []);
  if (!shown?.moved) return null;
  return (
    <span class="clock" data-testid="app-clock" title="本地环境的应用时钟已被拨动（POST /_local/clock），默认日期以它为准">
      应用时钟 {when(shown.now.toISOString())}（已拨动）
    </span>
  );
}

/** A datetime-local input's value `days` after the app's clock, in the browser's zone. */
export function localInputValue(days: number): string {
  const at = new Date(appNow().getTime() + days * 86400e3);
  return new Date(at.getTime() - at.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
}

/** A datetime-local value as ISO 8601 with the browser's offset, as the API wants. */
export function isoWithOffset(local: string): string {
  const d = new Date(local);
  const off = -d.getTimezoneOffset();
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  const sign = off >= 0 ? "+" : "-";
  return `${local.length === 16 ? local + ":00" : local}${sign}${pad(off / 60)}:${pad(off % 60)}`;
}
