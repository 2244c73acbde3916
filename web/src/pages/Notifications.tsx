// Notifications (消息通知): what happened to the caller's orders and services, newest
// first, read or not as the API keeps it; and the unread count shown in the header.
import { useEffect, useState } from "preact/hooks";
import { client, newKey, settle } from "../api/client";
import { href } from "../router";
import { Action, Empty, Loaded, useAnswer } from "../ui";
import { when } from "../words";
import { Channels } from "./Channels";

const READ_EVENT = "market-notifications";

/** The header's unread count: asked again on every page change and after marking read. */
export function UnreadBadge({ route }: { route: string }) {
  const [count, setCount] = useState<number | null>(null);
  useEffect(() => {
    let live = true;
    const ask = () => settle(client.GET("/me/notifications/unread-count")).then((a) => {
      if (live) setCount(a.ok ? a.data.count : null);
    });
    ask();
    window.addEventListener(READ_EVENT, ask);
    return () => { live = false; window.removeEventListener(READ_EVENT, ask); };
  }, [route]);
  return (
    <a href={href("notifications")} data-testid="notifications-link">通知
      {count ? <span class="badge hot" data-testid="unread-count">{count}</span> : null}</a>
  );
}

export function Notifications() {
  const [unread, setUnread] = useState(false);
  const { answer, reload } = useAnswer(() => settle(client.GET("/me/notifications", {
    params: { query: { limit: 50, ...(unread ? { unread: "true" as const } : {}) } } })), [unread]);
  const mark = (body: { ids: string[] } | { all: true }, key = newKey()) => settle(client.POST("/me/notifications/read", {
    params: { header: { "Idempotency-Key": key } }, body }));
  const marked = () => { reload(); window.dispatchEvent(new Event(READ_EVENT)); };
  return (
    <section>
      <div class="tabs">
        <button class={unread ? "" : "on"} onClick={() => setUnread(false)}>全部</button>
        <button class={unread ? "on" : ""} onClick={() => setUnread(true)}>未读</button>
        <Action label="全部标为已读" testid="read-all" run={(key) => mark({ all: true }, key)} onDone={marked} />
      </div>
      <Loaded answer={answer}>{(page) => page.items.length === 0 ? <Empty>没有通知</Empty> : (
        <ul class="notices" data-testid="notifications">{page.items.map((n) => (
          <li key={n.id} class={n.read ? "read" : "unread"} data-testid="notification">
            <div>{!n.read && <span class="badge">未读</span>}
              {n.order_id ? <a href={href("orders", n.order_id)} onClick={() => !n.read && mark({ ids: [n.id] })
                .then(() => window.dispatchEvent(new Event(READ_EVENT)))}>{n.text}</a> : n.text}</div>
            <div class="muted">{when(n.created_at)}
              {!n.read && <Action label="标为已读" run={(key) => mark({ ids: [n.id] }, key)} onDone={marked} />}</div>
          </li>))}</ul>)}</Loaded>
      <Channels />
    </section>
  );
}
