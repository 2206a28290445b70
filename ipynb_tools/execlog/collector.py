"""The collector: an HTTP service (tornado) that stores execution records (``ipynb-tools logs serve``).

Two doors:

- ``POST <prefix>api/records`` (the server extension): JSON ``{"records": [...]}`` with
  ``Authorization: token <JupyterHub API token>``. The token is checked with the hub
  (:class:`jupyterhub.services.auth.HubAuth`, answers cached for a few minutes); the user name
  stored is the one the hub gives for the token, and the course and LTI activity come from the
  user's latest launch recorded by the spawner (:meth:`.store.Store.ingest` ``as_user``), never
  from the records. 401 without a token, 403 for a token the hub does not know (or a service's),
  503 when the hub or the database cannot answer (the sender keeps the records and retries).
- ``POST <any path>/webservice/rest/server.php?wsfunction=mod_lticontainer_write_nblogs&wstoken=T``
  (the old proxy, SPEC 9): the form body ``nb_logs[i][field]=...``; ``wstoken`` must be one of
  the configured tokens (``--wstoken-file``), compared in constant time. The answer is Moodle's
  REST answer for a function without a return value (XML ``<RESPONSE>``, or ``null`` with
  ``moodlewsrestformat=json``); errors are Moodle's ``<EXCEPTION>`` body with a 4xx status. The
  record is stored before anything is written back, so a proxy that closes the connection right
  after sending loses nothing.

Every bad request (unknown field, malformed form or JSON, a body over ``max_body`` bytes: 413)
stores nothing. A record seen twice is stored once. Storing runs in one worker thread, off the
event loop. Run it standalone or as a JupyterHub-managed service (docs/execlog.md).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from tornado import web
from tornado.httpserver import HTTPServer

from ..errors import IpynbToolsError, UsageError, os_reason
from .records import ExecRecord, RecordError, records_from_form, records_from_json
from .store import Store, StoreError

#: The web-service function of the old module the proxy calls (SPEC 9).
WSFUNCTION = "mod_lticontainer_write_nblogs"
#: The largest request body accepted (bytes); larger ones get 413 and store nothing.
DEFAULT_MAX_BODY = 1024 * 1024
RECORDS_PATH = "api/records"
DEFAULT_LISTEN = "127.0.0.1:8765"


@dataclass
class CollectorConfig:
    """What ``logs serve`` runs: the store, where to listen, how to check tokens."""

    db: str | None
    host: str
    port: int
    prefix: str = "/"
    hub_api_url: str | None = None
    hub_api_token: str = ""
    wstokens: list[str] = field(default_factory=list)
    max_body: int = DEFAULT_MAX_BODY

    @classmethod
    def build(
        cls,
        *,
        db: str | None,
        listen: str | None,
        token_file: str | None = None,
        hub_api_url: str | None = None,
        wstoken_file: str | None = None,
        prefix: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> CollectorConfig:
        """From the command's options and, as a hub service, JupyterHub's ``JUPYTERHUB_*`` environment.

        ``listen`` ``HOST:PORT``; ``None``: the host and port of ``$JUPYTERHUB_SERVICE_URL`` (a hub
        service), else :data:`DEFAULT_LISTEN`.
        Raises :class:`UsageError` or :class:`ipynb_tools.errors.FileProblem`.
        """
        if listen is None:
            service_url = os.environ.get("JUPYTERHUB_SERVICE_URL")
            if service_url:
                parts = urlsplit(service_url)
                listen = f"{parts.hostname}:{parts.port or 80}"
            else:
                listen = DEFAULT_LISTEN
        host, _, port_text = listen.rpartition(":")
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"--listen {listen!r} is not HOST:PORT")
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if token_file is not None:
            token = _read_secret(token_file)
        wstokens = [t for t in _read_secret(wstoken_file).splitlines() if t.strip()] if wstoken_file else []
        prefix = prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
        return cls(
            db=db,
            host=host.strip("[]"),
            port=int(port_text),
            prefix="/" + prefix.strip("/") + "/" if prefix.strip("/") else "/",
            hub_api_url=hub_api_url or os.environ.get("JUPYTERHUB_API_URL"),
            hub_api_token=token,
            wstokens=[t.strip() for t in wstokens],
            max_body=max_body,
        )


def _read_secret(path: str) -> str:
    from ..errors import FileProblem

    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise FileProblem(path, f"cannot read ({os_reason(exc)})") from None


class Collector:
    """The service's state: the store, the hub checker, the worker thread that writes."""

    def __init__(self, config: CollectorConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="execlog-store")
        self.hub_auth: Any = None
        if config.hub_api_url:
            from jupyterhub.services.auth import HubAuth

            self.hub_auth = HubAuth(api_url=config.hub_api_url, api_token=config.hub_api_token, cache_max_age=300)

    async def store_records(self, records: list[ExecRecord], as_user: str | None) -> int:
        """Store in the writer thread; return how many were new. Raises :class:`StoreError`."""
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.writer, lambda: self.store.ingest(records, as_user=as_user))
        return result.stored

    def token_ok(self, given: str) -> bool:
        """True when ``given`` is one of the old proxy's configured tokens (constant-time comparison)."""
        found = False
        for token in self.config.wstokens:
            found |= hmac.compare_digest(token.encode(), given.encode())
        return found and bool(given)

    def close(self) -> None:
        self.writer.shutdown(wait=True)
        self.store.close()


class _LimitedBody(web.RequestHandler):
    """Reads the body itself so that an oversized one is refused (413) before it is read."""

    collector: Collector

    def initialize(self, collector: Collector) -> None:
        self.collector = collector
        self._chunks: list[bytes] = []
        self._size = 0
        self._too_large = False

    def prepare(self) -> None:
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > self.collector.config.max_body):
            self.refuse(413, f"body over the limit of {self.collector.config.max_body} bytes")
        # a chunked body is read up to 4x the limit (then tornado drops the connection) and refused after
        self.request.connection.set_max_body_size(4 * self.collector.config.max_body)  # type: ignore[union-attr]  # tornado types the HTTP/1 connection as the Optional base class

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.collector.config.max_body:
            self._too_large = True
            self._chunks = []
        else:
            self._chunks.append(chunk)

    @property
    def body(self) -> bytes:
        if self._too_large:
            self.refuse(413, f"body over the limit of {self.collector.config.max_body} bytes")
        return b"".join(self._chunks)

    def refuse(self, status: int, message: str) -> NoReturn:
        raise web.HTTPError(status, "%s", message)

    def check_xsrf_cookie(self) -> None:  # token-authenticated API, no cookies
        return None


@web.stream_request_body
class RecordsHandler(_LimitedBody):
    """``POST <prefix>api/records``: the server extension's batches, as the hub's user."""

    async def post(self) -> None:
        hub = self.collector.hub_auth
        if hub is None:
            self.refuse(503, "this collector has no JupyterHub API URL (--hub-api-url)")
        match = hub.auth_header_pat.match(self.request.headers.get("Authorization", ""))
        if match is None:
            self.set_header("WWW-Authenticate", "token")
            self.refuse(401, "no JupyterHub token (Authorization: token ...)")
        try:
            model = await hub.user_for_token(match.group(1).strip(), sync=False)
        except web.HTTPError as exc:
            self.refuse(503, f"cannot check the token with the hub ({exc.log_message or exc.status_code})")
        if not model or model.get("kind", "user") != "user" or not model.get("name"):
            self.refuse(403, "the hub does not know this token as a user's")
        try:
            records = records_from_json(self.body)
        except RecordError as exc:
            self.refuse(400, str(exc))
        try:
            stored = await self.collector.store_records(records, model["name"])
        except StoreError as exc:
            self.refuse(503, str(exc))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"given": len(records), "stored": stored, "user": model["name"]}))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message % exc.args if isinstance(exc, web.HTTPError) and exc.log_message else self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": message}))


@web.stream_request_body
class MoodleRestHandler(_LimitedBody):
    """``POST .../webservice/rest/server.php``: the old proxy's one-record posts, answered like Moodle."""

    def _arguments(self) -> dict[str, str]:
        values = dict(parse_qsl(self.request.query, keep_blank_values=True))
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            self.refuse(400, "the form is not UTF-8")
        for key, value in parse_qsl(text, keep_blank_values=True):
            if key in ("wsfunction", "wstoken", "moodlewsrestformat"):
                values.setdefault(key, value)
        values["_body"] = text
        return values

    async def post(self, _prefix: str = "") -> None:
        args = self._arguments()
        self._format = args.get("moodlewsrestformat", "xml")
        if not self.token_given_ok(args.get("wstoken", "")):
            self.refuse(403, "invalidtoken")
        if args.get("wsfunction") != WSFUNCTION:
            self.refuse(400, "invalidfunction")
        try:
            records = records_from_form(args["_body"])
        except RecordError as exc:
            self.refuse(400, f"invalidparameter: {exc}")
        try:
            await self.collector.store_records(records, None)
        except StoreError as exc:
            self.refuse(503, f"dbwriteerror: {exc}")
        if self._format == "json":
            self.set_header("Content-Type", "application/json")
            self.finish("null")
        else:
            self.set_header("Content-Type", "application/xml; charset=utf-8")
            self.finish('<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n</RESPONSE>\n')

    def token_given_ok(self, token: str) -> bool:
        return self.collector.token_ok(token)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        text = exc.log_message % exc.args if isinstance(exc, web.HTTPError) and exc.log_message else self._reason
        code, _, detail = text.partition(": ")
        message = {"invalidtoken": "Invalid token - token not found"}.get(code, detail or text)
        if getattr(self, "_format", "xml") == "json":
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"exception": "moodle_exception", "errorcode": code, "message": message}))
        else:
            self.set_header("Content-Type", "application/xml; charset=utf-8")
            self.finish(
                '<?xml version="1.0" encoding="UTF-8" ?>\n<EXCEPTION class="moodle_exception">\n'
                f"<ERRORCODE>{escape(code)}</ERRORCODE>\n<MESSAGE>{escape(message)}</MESSAGE>\n</EXCEPTION>\n"
            )


def make_app(collector: Collector) -> web.Application:
    """The tornado application of a collector."""
    prefix = collector.config.prefix
    return web.Application(
        [
            (prefix + RECORDS_PATH, RecordsHandler, {"collector": collector}),
            (r"(.*)/webservice/rest/server\.php", MoodleRestHandler, {"collector": collector}),
        ],
    )


async def start(config: CollectorConfig) -> tuple[Collector, HTTPServer]:
    """Open the store and listen; return the collector and its server (stop both to end)."""
    store = await asyncio.get_running_loop().run_in_executor(None, lambda: Store.open(config.db))
    collector = Collector(config, store)
    server = HTTPServer(make_app(collector), max_body_size=4 * config.max_body, xheaders=True)
    try:
        server.listen(config.port, config.host)
    except OSError as exc:
        collector.close()
        raise IpynbToolsError(f"cannot listen on {config.host}:{config.port} ({os_reason(exc)})") from None
    return collector, server


def serve(config: CollectorConfig, announce: Callable[[str], None] = print) -> None:
    """Run the collector until SIGTERM or SIGINT. Raises :class:`IpynbToolsError` when it cannot start."""

    async def main() -> None:
        collector, server = await start(config)
        announce(
            f"collector on http://{config.host}:{config.port}{config.prefix}{RECORDS_PATH}"
            f" (hub {'at ' + config.hub_api_url if config.hub_api_url else 'not configured'}; "
            f"old-proxy posts {'accepted' if config.wstokens else 'refused: no --wstoken-file'})"
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()
        await server.close_all_connections()
        collector.close()
        announce("collector stopped")

    asyncio.run(main())
