"""The stand-in as an HTTP program: the routes of /gateway.do, the cashier pages and the
/_standin controls, and main() for `python -m chalicelib.local.alipay_standin`."""
import argparse
import json
import logging
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from chalicelib.local.alipay_standin.common import DEFAULT_PORT, AnswerLost, log
from chalicelib.local.alipay_standin.registration import ensure_registration
from chalicelib.local.alipay_standin.trades import StandIn


# --- HTTP ----------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    standin: StandIn  # set on the subclass by make_server
    server_version = "alipay-standin/1"

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    def _send(self, status: int, content_type: str, body: str,
              headers: dict | None = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, status: int, data) -> None:
        self._send(status, "application/json; charset=utf-8",
                   json.dumps(data, ensure_ascii=False, indent=1))

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _base(self) -> str:
        return f"http://{self.headers.get('Host') or '%s:%d' % self.server.server_address[:2]}"

    def do_GET(self):
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/gateway.do":
            return self._gateway(dict(parse_qsl(parts.query, keep_blank_values=True)))
        if path.startswith("/standin/cashier/"):
            return self._send(*self.standin.cashier(path.rsplit("/", 1)[-1], self._base()))
        if path == "/_standin/control":
            return self._json(200, self.standin.control)
        if path == "/_standin/trades":
            return self._json(200, self.standin.listing())
        if path in ("/", "/health"):
            return self._send(200, "text/plain; charset=utf-8", "alipay stand-in\n")
        self._send(404, "text/plain; charset=utf-8", "not found\n")

    def do_POST(self):
        parts = urlsplit(self.path)
        path, body = parts.path, self._body()
        if path == "/gateway.do":
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            return self._gateway(params)
        if path.startswith("/standin/pay/"):
            out_trade_no = path.rsplit("/", 1)[-1]
            self.standin.confirm(out_trade_no)
            return self._send(303, "text/plain; charset=utf-8", "paid\n",
                              {"Location": f"/standin/cashier/{out_trade_no}"})
        if path == "/_standin/control":
            try:
                changes = json.loads(body or b"{}")
                return self._json(200, self.standin.set_control(changes))
            except (ValueError, TypeError, AttributeError) as error:
                return self._json(400, {"error": str(error)})
        if path == "/_standin/reset":
            return self._json(200, self.standin.reset_control())
        if path.startswith("/_standin/trades/") and path.endswith("/notify"):
            out_trade_no = path.split("/")[-2]
            if out_trade_no not in self.standin.trades:
                return self._json(404, {"error": "no such trade"})
            self.standin.deliver(out_trade_no)
            return self._json(200, {"notified": out_trade_no})
        self._send(404, "text/plain; charset=utf-8", "not found\n")

    def _gateway(self, params: dict) -> None:
        try:
            self._send(*self.standin.gateway(params, self._base()))
        except AnswerLost:
            self.close_connection = True  # the work is done; the caller never hears it


def make_server(standin: StandIn, host: str = "127.0.0.1", port: int = DEFAULT_PORT):
    handler = type("StandInHandler", (Handler,), {"standin": standin})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def _stop(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    # The package's docstring, as when this was one module: its first line describes it.
    parser = argparse.ArgumentParser(description=sys.modules[__package__].__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="alipay-standin: %(message)s")
    registration = ensure_registration(args.data_dir)
    standin = StandIn(registration, args.data_dir / "state.json")
    server = make_server(standin, args.host, args.port)
    signal.signal(signal.SIGTERM, _stop)
    print(f"alipay-standin: serving http://{args.host}:{args.port}/gateway.do "
          f"(app id {registration.app_id})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.close()
        server.server_close()
    return 0
