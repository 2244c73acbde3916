// The console's frame: who is signed in, the menu for each kind of user, the pages.
import { useEffect, useState } from "preact/hooks";
import { setToken, whoAmI } from "./api/client";
import { AppClock } from "./clock";
import { href, useRoute } from "./router";
import { Admin } from "./pages/Admin";
import { ContractPage, Contracts } from "./pages/Contracts";
import { Login } from "./pages/Login";
import { Market } from "./pages/Market";
import { Notifications, UnreadBadge } from "./pages/Notifications";
import { OrderPage } from "./pages/Order";
import { Orders } from "./pages/Orders";
import { Payouts } from "./pages/Payouts";
import { ProviderHome, ServiceEditor } from "./pages/Provider";
import { ServicePage } from "./pages/Service";
import { ProviderPage } from "./pages/Trust";
import { InquiryInbox, InquiryPage } from "./pages/Inquiries";
import { ProviderData } from "./pages/Analytics";

function useMe() {
  const [me, setMe] = useState(whoAmI());
  useEffect(() => {
    const onChange = () => setMe(whoAmI());
    window.addEventListener("market-token", onChange);
    return () => window.removeEventListener("market-token", onChange);
  }, []);
  return me;
}

function Page({ route }: { route: string[] }) {
  const [first, second, third] = route;
  switch (first) {
    case undefined: return <Market />;
    case "login": return <Login />;
    case "services": return <ServicePage id={second} key={second} />;
    case "providers": return <ProviderPage id={second} key={second} />;
    case "orders": return second ? <OrderPage id={second} key={second} />
      : <Orders as="buyer" />;
    case "provider":
      if (second === "orders") return <Orders as="provider" />;
      if (second === "services" && third) return <ServiceEditor id={third} key={third} />;
      if (second === "money") return <Payouts />;
      if (second === "contracts") return <Contracts as="provider" />;
      if (second === "data") return <ProviderData />;
      return <ProviderHome />;
    case "contracts": return second ? <ContractPage id={second} key={second} /> : <Contracts as="buyer" />;
    case "admin": return <Admin tab={second} />;
    case "notifications": return <Notifications />;
    case "inquiries": return second ? <InquiryPage id={second} key={second} /> : <InquiryInbox />;
    default: return <p>没有这个页面</p>;
  }
}

export function App() {
  const route = useRoute();
  const me = useMe();
  return (
    <>
      <header>
        <a class="brand" href={href()}>服务定制市场</a>
        <nav>
          <a href={href()}>市场</a>
          {me && <a href={href("orders")}>我买的</a>}
          {me && <a href={href("inquiries")} data-testid="to-inquiries">询单</a>}
          {me && <a href={href("provider")}>我是服务商</a>}
          {me && <a href={href("provider", "orders")}>接单</a>}
          {me && <a href={href("contracts")}>合同</a>}
          {me && <a href={href("provider", "contracts")}>合同台</a>}
          {me && <a href={href("provider", "money")}>收入</a>}
          {me && <a href={href("provider", "data")} data-testid="to-data">数据</a>}
          {me?.operator && <a href={href("admin")}>小二工作台</a>}
        </nav>
        <AppClock />
        <span class="me">
          {me ? <>
            <UnreadBadge route={route.join("/")} />
            <span data-testid="me">{me.sub}{me.operator ? "（小二）" : ""}</span>
            <button onClick={() => setToken(null)}>退出</button>
          </> : <a href={href("login")} data-testid="to-login">登录</a>}
        </span>
      </header>
      <main><Page route={route} /></main>
    </>
  );
}
