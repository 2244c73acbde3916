"""A webhook receiver to watch notices arrive on the local stack: it answers every POST
`204 No Content` (so delivery counts it as delivered and never retries) and prints the
signature header and the JSON body, one notice per line.

    .venv/bin/python -m chalicelib.local.webhook_watch 8999     # http://127.0.0.1:8999/<any path>

`python3 -m http.server` is no substitute: it answers POST with 501, so every notice
would count as failed and be retried.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNATURE_HEADER = "Market-Signature"


class WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()
        try:
            shown = json.dumps(json.loads(body), ensure_ascii=False, sort_keys=True)
        except ValueError:
            shown = body.decode("utf-8", errors="replace")
        print(f"POST {self.path} {SIGNATURE_HEADER}: {self.headers.get(SIGNATURE_HEADER)}",
              shown, sep="\n", flush=True)

    def log_message(self, format: str, *args) -> None:
        """Quiet: the notices themselves are the log."""


def main(argv: list[str]) -> None:
    port = int(argv[0]) if argv else 8999
    server = ThreadingHTTPServer(("127.0.0.1", port), WebhookHandler)
    print(f"watching webhooks on http://127.0.0.1:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
