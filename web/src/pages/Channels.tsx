// Where notifications go besides the console (通知渠道): a webhook (signed JSON POSTs)
// and an e-mail address. The webhook's signing key is answered once, when a new webhook
// is set: shown here that once, for the person to copy.
import { useEffect, useState } from "preact/hooks";
import { client, settle } from "../api/client";
import { Action, Field, Loaded, useAnswer } from "../ui";

export function Channels() {
  const { answer, reload } = useAnswer(() => settle(client.GET("/me/channels")), []);
  const [f, setF] = useState({ webhook_url: "", email: "" });
  const [secret, setSecret] = useState<string | null>(null);
  useEffect(() => {
    if (answer?.ok) setF({ webhook_url: answer.data.webhook_url ?? "", email: answer.data.email ?? "" });
  }, [answer]);
  return (
    <div class="panel" data-testid="channels"><h3>通知渠道</h3>
      <Loaded answer={answer}>{() => <>
        <Field label="Webhook 地址（https）"><input value={f.webhook_url} data-testid="channel-webhook"
          placeholder="留空则不推送" onInput={(e) => setF({ ...f, webhook_url: e.currentTarget.value })} /></Field>
        <Field label="邮箱"><input value={f.email} data-testid="channel-email" placeholder="留空则不发邮件"
          onInput={(e) => setF({ ...f, email: e.currentTarget.value })} /></Field>
        {answer?.ok && answer.data.email && <p class="muted" data-testid="email-verified">
          {answer.data.email_verified ? `${answer.data.email}：已确认，通知会发到这里`
            : `${answer.data.email}：待确认，请打开确认邮件中的链接（确认前不发通知邮件）`}</p>}
        <Action label="保存" kind="primary" testid="save-channels" run={(key) => settle(client.PUT("/me/channels", {
          params: { header: { "Idempotency-Key": key } },
          body: { webhook_url: f.webhook_url.trim() || null, email: f.email.trim() || null } }))}
          onDone={(saved) => { setSecret(saved.webhook_secret ?? null); reload(); }} />
        {secret && <p class="ok" data-testid="webhook-secret">签名密钥（只显示这一次，请保存）：<code>{secret}</code></p>}
      </>}</Loaded>
    </div>
  );
}
