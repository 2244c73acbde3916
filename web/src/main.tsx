import { render } from "preact";
import { App } from "./App";
import "./style.css";

// Back from the gateway's cashier (Alipay's return_url, here the console itself with the
// signed return's parameters): open the order it paid. The order's status is the API's
// to say (the notification may still be on its way), so nothing is trusted from the URL
// but which order to open.
const returned = new URLSearchParams(location.search);
const paidOrder = returned.get("out_trade_no");
if (paidOrder && /^[\w-]+$/.test(paidOrder)) {
  history.replaceState(null, "", location.pathname + "#/orders/" + encodeURIComponent(paidOrder));
}

render(<App />, document.getElementById("app")!);
