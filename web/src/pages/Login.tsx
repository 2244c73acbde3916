// Signing in. Locally: pick a user and the local stage mints a token (/_local/token).
// Deployed: paste a token from the platform's identity provider (see README).
import { useState } from "preact/hooks";
import { apiBase, client, setApiBase, setToken, settle } from "../api/client";
import { go } from "../router";
import { Action, Field } from "../ui";

const PEOPLE: [string, string, boolean][] = [
  ["buyer-1", "买家 buyer-1", false],
  ["demo-xiaomei", "服务商 杭州小美设计工作室", false],
  ["demo-yunkefu", "服务商 云客服外包中心", false],
  ["provider-9", "新服务商 provider-9", false],
  ["op-1", "平台小二 op-1", true],
];

export function Login() {
  const [sub, setSub] = useState("buyer-1");
  const [operator, setOperator] = useState(false);
  const [pasted, setPasted] = useState("");
  const [api, setApi] = useState(apiBase());
  const mint = (who: string, op: boolean) => settle(client.POST("/_local/token", {
    body: { sub: who, ...(op ? { roles: ["operator"] as ["operator"] } : {}) } }));
  const signedIn = (data: { token: string }) => { setToken(data.token); go(""); };
  return (
    <section class="login">
      <div class="panel"><h3>本地环境：选择身份</h3>
        <div class="people">{PEOPLE.map(([who, label, op]) => (
          <Action key={who} label={label} testid={`login-${who}`} run={() => mint(who, op)} onDone={signedIn} />))}</div>
        <Field label="其他用户"><input value={sub} onInput={(e) => setSub(e.currentTarget.value)} data-testid="login-sub" /></Field>
        <label class="check"><input type="checkbox" checked={operator} onChange={(e) => setOperator(e.currentTarget.checked)} />平台小二</label>
        <Action label="登录" kind="primary" testid="login" run={() => mint(sub, operator)} onDone={signedIn} />
      </div>
      <div class="panel"><h3>已部署环境：粘贴令牌</h3>
        <p class="muted">从平台的身份提供方（如 Cognito）登录后获得的 JWT。</p>
        <textarea rows={3} value={pasted} onInput={(e) => setPasted(e.currentTarget.value)} />
        <button onClick={() => { setToken(pasted.trim()); go(""); }}>使用此令牌</button>
      </div>
      <div class="panel"><h3>API 地址</h3>
        <input value={api} onInput={(e) => setApi(e.currentTarget.value)} />
        <button onClick={() => { setApiBase(api === location.origin ? "" : api); location.reload(); }}>保存</button>
      </div>
    </section>
  );
}
