// Pictures of the market's days: the operator's overview (money, the order funnel,
// disputes) and a provider's 数据 page (inquiries, 询单转化率, earnings), over 7, 30 or
// 365 days. Every figure is the API's (GET /admin/analytics/daily, /me/analytics/daily).
import { useState } from "preact/hooks";
import { client, settle } from "../api/client";
import type { Schema } from "../api/client";
import { DayChart, lastDays } from "../charts";
import type { Line } from "../charts";
import { Loaded, useAnswer } from "../ui";
import { yuan } from "../words";

const SPANS = [7, 30, 365] as const;
type Span = (typeof SPANS)[number];

const count = (v: number | null) => (v == null ? "—" : String(v));
const share = (v: number | null) => (v == null ? "—" : `${(v * 100).toFixed(1)}%`);

function line<D>(days: D[], label: string, color: string, pick: (d: D) => number | null,
  show: (v: number | null) => string = count): Line {
  return { label, color, show, values: days.map(pick) };
}

function SpanPicker({ span, set }: { span: Span; set: (s: Span) => void }) {
  return (
    <div class="tabs">{SPANS.map((s) => (
      <button key={s} class={span === s ? "on" : ""} data-testid={`span-${s}`}
        onClick={() => set(s)}>近 {s} 天</button>))}</div>
  );
}

export function Overview() {
  const [span, setSpan] = useState<Span>(7);
  const { answer } = useAnswer(() => settle(client.GET("/admin/analytics/daily", {
    params: { query: lastDays(span) } })), [span]);
  return (
    <div data-testid="overview">
      <SpanPicker span={span} set={setSpan} />
      <Loaded answer={answer}>{({ days }) => {
        const names = days.map((d) => d.day);
        return <>
          <DayChart title="资金" unit="yuan" testid="chart-money" days={names} lines={[
            line(days, "托管入账", "#2563eb", (d) => d.funded, yuan),
            line(days, "放款", "#16a34a", (d) => d.released, yuan),
            line(days, "退款", "#dc2626", (d) => d.refunded, yuan),
            line(days, "平台收入", "#9333ea", (d) => d.platform_revenue, yuan)]} />
          <DayChart title="订单漏斗" unit="count" testid="chart-funnel" days={names} lines={[
            line(days, "下单", "#64748b", (d) => d.orders_placed),
            line(days, "付款", "#2563eb", (d) => d.orders_paid),
            line(days, "完成", "#16a34a", (d) => d.orders_completed)]} />
          <DayChart title="纠纷与询单" unit="count" testid="chart-disputes" days={names} lines={[
            line(days, "新纠纷", "#dc2626", (d) => d.disputes_opened),
            line(days, "询单", "#f59e0b", (d) => d.inquiries),
            line(days, "合同上线", "#0891b2", (d) => d.contracts_started)]} />
        </>;
      }}</Loaded>
    </div>
  );
}

type ProviderDay = Schema<"ProviderDay">;

interface Month {
  month: string; inquiries: number; inquiring: number; converted: number; paid: number;
  released: number;
}

/** The days summed by calendar month; a month's 询单转化率 weighs each day's by that
 * day's inquiring buyers (the API's own share, day by day). */
function byMonth(days: ProviderDay[]): Month[] {
  const months = new Map<string, Month>();
  for (const d of days) {
    const key = d.day.slice(0, 7);
    const m = months.get(key) ?? { month: key, inquiries: 0, inquiring: 0, converted: 0, paid: 0, released: 0 };
    m.inquiries += d.inquiries;
    m.inquiring += d.inquiring_buyers;
    m.converted += (d.conversion ?? 0) * d.inquiring_buyers;
    m.paid += d.orders_paid;
    m.released += d.released;
    months.set(key, m);
  }
  return [...months.values()].reverse();
}

export function ProviderData() {
  const [span, setSpan] = useState<Span>(30);
  const { answer } = useAnswer(() => settle(client.GET("/me/analytics/daily", {
    params: { query: lastDays(span) } })), [span]);
  return (
    <section data-testid="provider-data">
      <h2>数据</h2>
      <SpanPicker span={span} set={setSpan} />
      <Loaded answer={answer}>{({ days }) => {
        const names = days.map((d) => d.day);
        return <>
          <DayChart title="询单" unit="count" testid="chart-inquiries" days={names} lines={[
            line(days, "询单数", "#f59e0b", (d) => d.inquiries),
            line(days, "询单买家", "#64748b", (d) => d.inquiring_buyers),
            line(days, "付款买家", "#2563eb", (d) => d.paying_buyers)]} />
          <DayChart title="询单转化率" unit="share" testid="chart-conversion" days={names} lines={[
            line(days, "询单转化率", "#16a34a", (d) => d.conversion, share)]} />
          <DayChart title="收入" unit="yuan" testid="chart-earnings" days={names} lines={[
            line(days, "当日收入", "#9333ea", (d) => d.released, yuan)]} />
          <div class="panel"><h3>按月</h3>
            <table class="figures" data-testid="by-month">
              <thead><tr><th>月份</th><th>询单</th><th>询单转化率</th><th>付款订单</th><th>收入</th></tr></thead>
              <tbody>{byMonth(days).map((m) => (
                <tr key={m.month}><td>{m.month}</td><td>{m.inquiries}</td>
                  <td>{share(m.inquiring ? m.converted / m.inquiring : null)}</td>
                  <td>{m.paid}</td><td>{yuan(m.released)}</td></tr>))}</tbody>
            </table>
          </div>
        </>;
      }}</Loaded>
    </section>
  );
}
