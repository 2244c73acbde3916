// Day charts (uPlot, one small library): one point per day of the range the API answered,
// and the same numbers beside it in a table, so what the picture says can be read too.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { appNow } from "./api/client";

export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
  /** How a value reads in the table and the legend (yuan, a share …). */
  show: (value: number | null) => string;
}

/** The last `days` Beijing days up to the app's clock, oldest first, as YYYY-MM-DD
 * (the market's days are Beijing's: the API counts them so). */
export function lastDays(days: number): { from: string; to: string } {
  const beijing = (ms: number) => new Date(ms + 8 * 3600e3).toISOString().slice(0, 10);
  const now = appNow().getTime();
  return { from: beijing(now - (days - 1) * 86400e3), to: beijing(now) };
}

/** How the value axis reads: money (fen, shown in yuan), whole counts, or shares. */
export type Unit = "yuan" | "count" | "share";

const AXIS: Record<Unit, (v: number) => string> = {
  yuan: (v) => `¥${(v / 100).toLocaleString("zh-CN", { maximumFractionDigits: 2 })}`,
  count: (v) => String(v),
  share: (v) => `${Math.round(v * 100)}%`,
};
// Counts step by whole numbers; uPlot's default steps would draw 0.25 of an order.
const WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000];

export function DayChart({ title, days, lines, unit, testid }: {
  title: string; days: string[]; lines: Line[]; unit: Unit; testid: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(260, el.clientWidth);
    const plot = new uPlot({
      width: width(), height: 200,
      scales: { x: { time: false }, y: unit === "share" ? { range: [0, 1] } : {} },
      legend: { live: false },
      axes: [
        { values: (_u, ticks) => ticks.map((i) => days[i]?.slice(5) ?? "") },
        { size: 64, values: (_u, ticks) => ticks.map(AXIS[unit]),
          ...(unit === "count" ? { incrs: WHOLE } : {}) },
      ],
      series: [{ label: "日期" }, ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 2 }))],
    }, [days.map((_, i) => i), ...lines.map((l) => l.values)], el);
    el.dataset.points = String(plot.data[0].length);
    const fit = new ResizeObserver(() => plot.setSize({ width: width(), height: 200 }));
    fit.observe(el);
    return () => { fit.disconnect(); plot.destroy(); };
  }, [days, lines, unit]);
  const recent = [...days.keys()].reverse();
  const nothing = lines.every((l) => l.values.every((v) => v == null));
  return (
    <div class="panel chart" data-testid={testid}>
      <h3>{title}</h3>
      {nothing && <p class="muted">这段时间里没有可画的数（没有人询单时没有转化率）</p>}
      <div ref={box} class="chart-box" data-testid={`${testid}-plot`} />
      <details open={days.length <= 7}>
        <summary>逐日数字（{days.length} 天）</summary>
        <table class="figures" data-testid={`${testid}-figures`}>
          <thead><tr><th>日期</th>{lines.map((l) => <th key={l.label}>{l.label}</th>)}</tr></thead>
          <tbody>{recent.map((i) => (
            <tr key={days[i]} data-day={days[i]}><td>{days[i]}</td>
              {lines.map((l) => <td key={l.label} data-value={String(l.values[i])}>{l.show(l.values[i])}</td>)}</tr>))}</tbody>
        </table>
      </details>
    </div>
  );
}
