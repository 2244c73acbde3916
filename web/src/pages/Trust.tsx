// Trust in words and badges: a party's credit level (心 / 钻 / 蓝冠 / 金冠 with stars),
// a provider's record as sentences, and how a review stands (its follow-up, whether it
// counted, whether an operator hid it). Everything shown is what the API answered.
import { client, settle, type Schema } from "../api/client";
import { Empty, Loaded, useAnswer } from "../ui";
import { RATING, when } from "../words";

const TIER: Record<Schema<"CreditLevel">["tier"], string> = {
  heart: "心", diamond: "钻", blue_crown: "蓝冠", gold_crown: "金冠",
};

export function LevelBadge({ level }: { level: Schema<"CreditLevel"> | null | undefined }) {
  if (!level) return null;
  return (
    <span class={`badge level ${level.tier}`} title={`信用等级 ${level.label}`} data-testid="credit-level">
      {TIER[level.tier]}{"★".repeat(level.stars)}
    </span>
  );
}

const percent = (share: number | null) => (share === null ? "—" : `${Math.round(share * 1000) / 10}%`);

function duration(seconds: number): string {
  if (seconds < 3600) return `${Math.round(seconds / 60)} 分钟`;
  if (seconds < 86400) return `${Math.round(seconds / 360) / 10} 小时`;
  return `${Math.round(seconds / 8640) / 10} 天`;
}

/** The provider's record (the profile's `stats`) as a few sentences. */
export function StatsInWords({ stats }: { stats: Schema<"ProviderStats"> | undefined }) {
  if (!stats) return null;
  return (
    <ul class="stats" data-testid="provider-stats">
      <li>已完成 {stats.completed_orders} 单，准时交付率 {percent(stats.on_time_rate)}</li>
      {stats.closed_paid_orders > 0 &&
        <li>已结束的 {stats.closed_paid_orders} 单中：退款率 {percent(stats.refund_rate)}，纠纷率
          {" "}{percent(stats.dispute_rate)}，取消率 {percent(stats.cancel_rate)}；纠纷判服务商责任 {stats.disputes_lost} 次</li>}
      {stats.median_accept_seconds !== null &&
        <li>付款后通常 {duration(stats.median_accept_seconds)}内接单</li>}
      {stats.median_reply_seconds !== null &&
        <li>询单通常 {duration(stats.median_reply_seconds)}内回复</li>}
      <li>回头客 {stats.repeat_buyers} 位</li>
    </ul>
  );
}

type Shown = Pick<Schema<"Review">, "rating" | "comment" | "reply" | "follow_up" | "counted" | "hidden">;

/** One review's text and what came after it, as a list shows it. */
export function ReviewBody({ r, replyBy }: { r: Shown; replyBy: string }) {
  return (
    <>
      <b>{RATING[r.rating] ?? r.rating}</b>{" "}
      {r.hidden ? <span class="muted" data-testid="review-hidden">该评价内容已被平台隐藏</span> : r.comment}
      {!r.counted && <span class="muted"> （不计信用）</span>}
      {r.reply && <div class="reply">{replyBy}回复：{r.reply.body} <span class="muted">{when(r.reply.at)}</span></div>}
      {r.follow_up && <div class="reply" data-testid="follow-up">追评：{r.follow_up.body} <span class="muted">{when(r.follow_up.at)}</span></div>}
    </>
  );
}

/** A provider's public page: name, level, record in words, and buyers' reviews. */
export function ProviderPage({ id }: { id: string }) {
  const path = { params: { path: { provider_id: id } } };
  const profile = useAnswer(() => settle(client.GET("/providers/{provider_id}", path)), [id]);
  const reviews = useAnswer(() => settle(client.GET("/providers/{provider_id}/reviews", path)), [id]);
  return (
    <Loaded answer={profile.answer}>{(p) => (
      <section class="provider-page">
        <h2 data-testid="provider-name">{p.display_name}<LevelBadge level={p.credit_level} /></h2>
        <p class="muted">{p.company_name} · 信用 {p.credit}</p>
        <p>{p.intro}</p>
        <StatsInWords stats={p.stats} />
        <div class="panel"><h3>评价</h3>
          <Loaded answer={reviews.answer}>{(page) => (
            <>{page.items.length === 0 && <Empty>暂无评价</Empty>}
              {page.items.map((r, i) => (
                <div class="review" key={i}><ReviewBody r={r} replyBy="服务商" />
                  <span class="muted"> {when(r.at)}</span></div>))}</>)}</Loaded>
        </div>
      </section>
    )}</Loaded>
  );
}
