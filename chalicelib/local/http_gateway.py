"""Chalice's own local HTTP server (what `chalice local` runs), made to keep the contract.

Out of the box it answers unknown paths with API Gateway's 403 "Missing Authentication
Token", drops the connection when something fails outside the app, and decides whether
a body is binary by an exact, case-sensitive header lookup. Here every answer leaves in
the contract's error shape and raw image bodies reach the views as sent.
"""
import functools
import logging
import os
from pathlib import Path
from urllib.parse import unquote

from chalice import Response
from chalice import local as chalice_local
from chalice.cli.factory import CLIFactory
from chalice.deploy.validate import validate_routes

from chalicelib import settings
from chalicelib.api import cors, errors
from chalicelib.local import console

log = logging.getLogger("devserver")

# PUT /services/{id}/logo accepts these; image/bmp is not among Chalice's defaults.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/bmp")


def load_app(project_dir: Path, stage: str):
    """The app and its stage config, loaded the way `chalice local --stage` loads them."""
    factory = CLIFactory(str(project_dir), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    validate_routes(app.routes)
    return app, config


def media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def error_dict(status: int, body: bytes | str | None = None) -> dict:
    """A gateway-level failure as a Lambda proxy answer in the contract's shape."""
    return errors.normalise(Response(body=body or "", status_code=status)).to_dict()


class ContractEventConverter(chalice_local.LambdaEventConverter):
    def _is_binary(self, headers) -> bool:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        return media_type(content_type) in self._binary_types

    def create_lambda_event(self, method, path, headers, body=None):
        event = super().create_lambda_event(method, path, headers, body)
        # API Gateway hands the view decoded path parameters (/services/%E5%BA%97 → 店).
        event["pathParameters"] = {k: unquote(v) for k, v in event["pathParameters"].items()}
        return event


class ContractGateway(chalice_local.LocalGateway):
    def __init__(self, app_object, config):
        super().__init__(app_object, config)
        binary = {media_type(t) for t in app_object.api.binary_types} | set(IMAGE_TYPES)
        self.event_converter = ContractEventConverter(
            chalice_local.RouteMatcher(list(app_object.routes)), sorted(binary))

    def handle_request(self, method, path, headers, body):
        try:
            return super().handle_request(method, path, headers, body)
        except chalice_local.LocalGatewayException as error:
            # The only gateway-level refusal we can meet is "no such route" (403 here).
            return error_dict(error.CODE, error.body)


class BodyRefused(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class ContractRequestHandler(chalice_local.ChaliceRequestHandler):
    def __init__(self, request, client_address, server, app_object, config):
        self.local_gateway = ContractGateway(app_object, config)
        chalice_local.BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _parse_payload(self):
        # Refuse an oversized body before reading it: the app would refuse it anyway (the
        # same limit), but only after this process had held all of it in memory.
        limit = settings.get().max_body_bytes
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return dict(self.headers), self._read_chunked(limit)
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            raise BodyRefused(400) from None
        if length < 0:
            raise BodyRefused(400)
        if length > limit:
            raise BodyRefused(413)
        return dict(self.headers), (self.rfile.read(length) if length else None)

    def _read_chunked(self, limit: int) -> bytes | None:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BodyRefused(400) from None
            if size < 0:
                raise BodyRefused(400)
            if size == 0:
                break
            if len(body) + size > limit:
                raise BodyRefused(413)
            body += self.rfile.read(size)
            self.rfile.readline(1024)
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return bytes(body) or None

    def _generic_handle(self) -> None:
        if self.command in ("GET", "HEAD") and console.is_console_path(self.path):
            self._send_console()
            return
        try:
            headers, body = self._parse_payload()
        except BodyRefused as refused:
            self.close_connection = True  # the rest of the body is still in the socket
            self._send_answer(error_dict(refused.status))
            return
        try:
            answer = self.local_gateway.handle_request(
                method=self.command, path=self.path, headers=headers, body=body)
        except Exception:  # a bug must still answer, not drop the connection
            log.exception("unhandled error serving %s %s", self.command, self.path)
            answer = error_dict(500)
        self._send_answer(answer)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _send_answer(self, answer: dict) -> None:
        headers = dict(answer["headers"])
        headers.update(answer.get("multiValueHeaders") or {})
        # What API Gateway's gateway responses do deployed: the errors this server answers
        # itself (no such route, a refused body) are readable by a page on another origin.
        if not any(k.lower() == "access-control-allow-origin" for k in headers):
            headers.update(cors.answer_headers(self.headers.get("Origin"), path=self.path))
        answer = self._handle_binary(answer)
        self._send_http_response(answer["statusCode"], headers, answer["body"])

    def _send_console(self) -> None:
        """The built web console (web/dist), as CloudFront serves it deployed."""
        status, headers, body = console.answer(self.path)
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (bad request line, unknown method) in our shape."""
        status = 405 if code == 501 else code  # 501 here means "no such method"
        answer = error_dict(status)
        body = answer["body"].encode("utf-8")
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", answer["headers"].get("Content-Type", "application/json"))
        request_headers = getattr(self, "headers", None)  # unset for a bad request line
        origin = request_headers.get("Origin") if request_headers else None
        path = getattr(self, "path", "") or ""
        for name, value in cors.answer_headers(origin, path=path).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)


def build_server(app, config, host: str, port: int) -> chalice_local.LocalDevServer:
    """Chalice's LocalDevServer (threaded, thread-local current_request) with our handler."""
    server = chalice_local.create_local_server(app, config, host, port)
    server.server.RequestHandlerClass = functools.partial(
        ContractRequestHandler, app_object=app, config=config)
    return server
