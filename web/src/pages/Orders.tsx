// The caller's orders, as buyer or as provider, by status (待服务商确认 / 等待上传终稿 / 验收中 …).
import { useState } from "preact/hooks";
import { client, settle, type Schema } from "../api/client";
import { href } from "../router";
import { Empty, Loaded, useAnswer } from "../ui";
import { ORDER_STATUS, when, yuan } from "../words";

type Status = Schema<"Order">["status"];

/** Every status the API has, in the order of the generated enum's label map. */
const STATUSES = Object.keys(ORDER_STATUS) as Status[];

export function Orders({ as }: { as: "buyer" | "provider" }) {
  const [status, setStatus] = useState<Status | "">("");
  const { answer } = useAnswer(() => settle(client.GET("/orders", {
    params: { query: { as, status: status || undefined, limit: 50 } } })), [as, status]);
  return (
    <section>
      <div class="tabs">
        <button class={status === "" ? "on" : ""} onClick={() => setStatus("")}>全部</button>
        {STATUSES.map((s) => (
          <button key={s} class={status === s ? "on" : ""} onClick={() => setStatus(s)}>{ORDER_STATUS[s]}</button>))}
      </div>
      <Loaded answer={answer}>{(page) => (
        page.items.length === 0 ? <Empty>没有订单</Empty> :
          <table class="list" data-testid="orders">
            <thead><tr><th>服务</th><th>状态</th><th>金额</th><th>下单时间</th></tr></thead>
            <tbody>{page.items.map((o) => (
              <tr key={o.id}><td><a href={href("orders", o.id)}>{o.service.title}</a></td>
                <td><span class={`status s-${o.status}`}>{o.status_label}</span></td>
                <td>{yuan(o.amount)}</td><td>{when(o.created_at)}</td></tr>))}</tbody>
          </table>)}</Loaded>
    </section>
  );
}
