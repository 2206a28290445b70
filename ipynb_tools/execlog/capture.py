"""Capture in the single-user server: every ``execute_request`` and ``execute_reply`` on the kernel websocket.

The extension point is jupyter_server's ``kernel_websocket_connection_class`` (the class the
kernel websocket handler instantiates per connection, read from the web app's settings at each
connection): :func:`install` puts there a subclass of the configured
``ZMQChannelsWebsocketConnection`` with :class:`RecordingMixin`, which looks at each message going
to the kernel (``handle_incoming_message``) and coming back on the shell channel
(``handle_outgoing_message``) and then lets the base class do exactly what it always does. Both
websocket protocols are read: the JSON one (JupyterLab 3, older clients) and
``v1.kernel.websocket.jupyter.org`` (JupyterLab 4, Notebook 7).

Nothing slow happens on the event loop: the observer reads a few small JSON headers and queues
work. The kernel session's path is looked up in the server's session manager (cached); the
numbering (``filename:``/``codenum:`` tags of the cell id, :mod:`ipynb_tools.tags`) is read from
the notebook on disk in a worker thread, cached by (mtime, size); a cell the file does not have,
or one without tags (added by the student), is recorded without a number; a request without a
cell id is recorded too. Records go to the :class:`.client.Sender` (spool on disk, batches to the
collector). An error in the observer is logged and never reaches the kernel channel.

Site options, from the environment the spawner sets (docs/execlog.md):
``IPYNB_EXECLOG_URL`` (the collector; capture is off without it), ``IPYNB_EXECLOG_SOURCE=1``
(also record cell source, off by default for privacy), ``IPYNB_EXECLOG_SPOOL`` (spool directory),
``IPYNB_EXECLOG_SPOOL_MB`` (its bound, default 20). The token is the server's
``JUPYTERHUB_API_TOKEN``.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import IpynbToolsError
from ..notebook import NOTEBOOK_SUFFIX, parse_notebook, read_bytes_safely
from ..tags import cell_codenum, cell_filename, numbering_from_text
from .buffer import DEFAULT_MAX_BYTES, Spool
from .client import Sender, default_spool_dir
from .records import CLIENT, SERVER, ExecRecord, RecordError, parse_date

URL_ENV = "IPYNB_EXECLOG_URL"
SOURCE_ENV = "IPYNB_EXECLOG_SOURCE"
SPOOL_ENV = "IPYNB_EXECLOG_SPOOL"
SPOOL_MB_ENV = "IPYNB_EXECLOG_SPOOL_MB"
#: Cell source longer than this is cut (when source collection is on).
MAX_SOURCE_CHARS = 100_000
#: How long a kernel's notebook path is trusted before the session manager is asked again (s).
PATH_TTL = 10.0
V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"

log = logging.getLogger("ipynb_tools.execlog")


class Numbering:
    """cell id -> (filename, codenum) of a notebook on disk, re-read only when its mtime or size changes."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[int, int, dict[str, tuple[str | None, int | None]]]] = {}

    def lookup(self, path: Path, cell_id: str) -> tuple[str | None, int | None]:
        """The numbering of ``cell_id`` in ``path``; (None, None) when unknown or the file cannot be read."""
        try:
            st = path.stat()
        except OSError:
            return None, None
        cached = self._cache.get(path)
        if cached is None or cached[0] != st.st_mtime_ns or cached[1] != st.st_size:
            try:
                raw, _ = read_bytes_safely(path)
                nb = parse_notebook(raw, path)
            except IpynbToolsError as exc:
                log.debug("ipynb-tools: execution log: %s", exc)
                return None, None
            cells = {
                str(cell["id"]): (cell_filename(cell), cell_codenum(cell))
                for cell in nb.get("cells", [])
                if isinstance(cell, dict) and cell.get("id")
            }
            cached = (st.st_mtime_ns, st.st_size, cells)
            self._cache[path] = cached
        return cached[2].get(cell_id, (None, None))


class Capture:
    """One per server: turns observed messages into records for the sender."""

    def __init__(
        self,
        sender: Sender,
        root_dir: str | os.PathLike[str],
        session_manager: Any,
        *,
        include_source: bool = False,
    ) -> None:
        self.sender = sender
        self.root = Path(root_dir).resolve()
        self.session_manager = session_manager
        self.include_source = include_source
        self.numbering = Numbering()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipynb-tools-numbering")
        self._paths: dict[str, tuple[float, str | None]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

    # -- called on the event loop by the connection ------------------------------------------
    def request(self, kernel_id: str, header: dict[str, Any], metadata: dict[str, Any], code: Any) -> None:
        """An ``execute_request`` went to the kernel: record it once its notebook and cell are known."""
        task = asyncio.ensure_future(self._client_record(kernel_id, header, metadata, code))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reply(self, header: dict[str, Any], parent: dict[str, Any], content: dict[str, Any]) -> None:
        """An ``execute_reply`` came back: record it (nothing to look up)."""
        try:
            record = ExecRecord(
                kind=SERVER,
                session=_text(parent.get("session")) or "",
                message=_text(parent.get("msg_id")),
                date_us=_date(header.get("date")),
                status=_text(content.get("status")) or "unknown",
                ename=_text(content.get("ename")),
                execution_count=content.get("execution_count")
                if isinstance(content.get("execution_count"), int)
                else None,
                username=_text(header.get("username")),
            )
        except RecordError:
            return
        if record.session and record.message:
            self.sender.put(record)

    # -- the work ------------------------------------------------------------------------------
    async def _path_of(self, kernel_id: str) -> str | None:
        now = time.monotonic()
        cached = self._paths.get(kernel_id)
        if cached is not None and now - cached[0] < PATH_TTL:
            return cached[1]
        path = None
        try:
            for session in await self.session_manager.list_sessions():
                if (session.get("kernel") or {}).get("id") == kernel_id:
                    path = session.get("path")
                    if session.get("type") == "notebook":
                        break
        except Exception as exc:  # noqa: BLE001 - the session manager must never break capture
            log.debug("ipynb-tools: execution log: session lookup failed: %s", exc)
        self._paths[kernel_id] = (now, path)
        return path

    async def _client_record(self, kernel_id: str, header: dict[str, Any], metadata: dict[str, Any], code: Any) -> None:
        try:
            path = await self._path_of(kernel_id)
            cell_id = _text(metadata.get("cellId"))
            tags = metadata.get("tags")
            tags_text = json.dumps(tags, ensure_ascii=False) if isinstance(tags, list) else None
            filename, codenum = numbering_from_text(tags_text or "")
            if codenum is None and cell_id and path and path.endswith(NOTEBOOK_SUFFIX):
                full = (self.root / path).resolve()
                if full.is_relative_to(self.root):
                    loop = asyncio.get_running_loop()
                    filename, codenum = await loop.run_in_executor(self.pool, self.numbering.lookup, full, cell_id)
            source = code[:MAX_SOURCE_CHARS] if self.include_source and isinstance(code, str) else None
            record = ExecRecord(
                kind=CLIENT,
                session=_text(header.get("session")) or "",
                message=_text(header.get("msg_id")),
                date_us=_date(header.get("date")),
                cell_id=cell_id,
                tags=tags_text,
                notebook=path,
                filename=filename,
                codenum=codenum,
                source=source,
            )
        except Exception as exc:  # noqa: BLE001 - observing must never disturb the kernel channel
            log.warning("ipynb-tools: execution log: cannot record a request: %s", exc)
            return
        if record.session and record.message:
            self.sender.put(record)

    async def settle(self) -> None:
        """Wait until every observed request has been looked up and handed to the sender."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        self.sender.stop()
        self.pool.shutdown(wait=False)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _date(value: Any) -> int | None:
    try:
        return parse_date(value) if isinstance(value, str) else None
    except RecordError:
        return None


def _part(part: Any) -> bytes:
    return part.bytes if hasattr(part, "bytes") else bytes(part)


class RecordingMixin:
    """Mixed in before ``ZMQChannelsWebsocketConnection``: observe, then do what the base class does."""

    capture: Capture | None = None
    # provided by the connection class
    session: Any
    subprotocol: str | None
    kernel_id: str
    log: Any

    def handle_incoming_message(self, incoming_msg: Any) -> None:
        try:
            self._observe_incoming(incoming_msg)
        except Exception as exc:  # noqa: BLE001 - observing must never break the channel
            self.log.debug("ipynb-tools: execution log: incoming message not understood: %s", exc)
        super().handle_incoming_message(incoming_msg)  # type: ignore[misc]  # the jupyter_server class this mixes into

    def handle_outgoing_message(self, stream: Any, outgoing_msg: list[Any]) -> None:
        try:
            self._observe_outgoing(stream, outgoing_msg)
        except Exception as exc:  # noqa: BLE001 - observing must never break the channel
            self.log.debug("ipynb-tools: execution log: outgoing message not understood: %s", exc)
        super().handle_outgoing_message(stream, outgoing_msg)  # type: ignore[misc]  # the jupyter_server class this mixes into

    def _observe_incoming(self, ws_msg: Any) -> None:
        capture = self.capture
        if capture is None:
            return
        if self.subprotocol == V1_PROTOCOL:
            from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

            channel, parts = deserialize_msg_from_ws_v1(ws_msg)  # type: ignore[no-untyped-call]  # unannotated in jupyter_server
            if channel != "shell":
                return
            header = self.session.unpack(_part(parts[0]))
            if header.get("msg_type") != "execute_request":
                return
            metadata = self.session.unpack(_part(parts[2]))
            content = self.session.unpack(_part(parts[3])) if capture.include_source else {}
        else:
            if isinstance(ws_msg, bytes):
                from jupyter_server.services.kernels.connection.base import deserialize_binary_message

                msg = deserialize_binary_message(ws_msg)  # type: ignore[no-untyped-call]  # unannotated in jupyter_server
            else:
                if '"execute_request"' not in ws_msg:
                    return
                msg = json.loads(ws_msg)
            if msg.get("channel", "shell") != "shell":
                return
            header = msg.get("header") or {}
            if header.get("msg_type") != "execute_request":
                return
            metadata = msg.get("metadata") or {}
            content = msg.get("content") or {}
        capture.request(self.kernel_id, header, metadata, content.get("code"))

    def _observe_outgoing(self, stream: Any, msg_list: list[Any]) -> None:
        capture = self.capture
        if capture is None:
            return
        channel = stream if isinstance(stream, str) else getattr(stream, "channel", None)
        if channel != "shell":
            return
        _, fed = self.session.feed_identities(msg_list)
        header = self.session.unpack(_part(fed[1]))
        if header.get("msg_type") != "execute_reply":
            return
        capture.reply(header, self.session.unpack(_part(fed[2])), self.session.unpack(_part(fed[4])))


def install(serverapp: Any) -> Capture | None:
    """Turn capture on in a server (the extension calls this at load); ``None`` when it stays off.

    Off without ``IPYNB_EXECLOG_URL``, or when the server's kernel websocket connection class is not
    jupyter_server's ZMQ one (e.g. a gateway), which is logged.
    """
    from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        serverapp.log.info("ipynb-tools: execution log capture off (%s not set)", URL_ENV)
        return None
    settings = serverapp.web_app.settings
    base = settings.get("kernel_websocket_connection_class") or serverapp.kernel_websocket_connection_class
    if not (isinstance(base, type) and issubclass(base, ZMQChannelsWebsocketConnection)):
        serverapp.log.warning("ipynb-tools: execution log capture off: kernel connections are %r", base)
        return None
    try:
        max_bytes = int(float(os.environ.get(SPOOL_MB_ENV) or 0) * 1024 * 1024) or DEFAULT_MAX_BYTES
    except ValueError:
        max_bytes = DEFAULT_MAX_BYTES
    try:
        spool = Spool(os.environ.get(SPOOL_ENV) or default_spool_dir(), max_bytes=max_bytes)
    except IpynbToolsError as exc:
        serverapp.log.warning("ipynb-tools: execution log capture off: %s", exc)
        return None
    sender = Sender(url, os.environ.get("JUPYTERHUB_API_TOKEN", ""), spool)
    capture = Capture(
        sender,
        serverapp.root_dir,
        serverapp.session_manager,
        include_source=os.environ.get(SOURCE_ENV, "").strip().lower() in ("1", "true", "yes"),
    )
    if issubclass(base, RecordingMixin):
        base.capture = capture
    else:
        settings["kernel_websocket_connection_class"] = type(
            "Recording" + base.__name__, (RecordingMixin, base), {"capture": capture}
        )
    sender.start()
    atexit.register(capture.close)
    serverapp.log.info(
        "ipynb-tools: execution log capture on: to %s, spool %s%s",
        url,
        spool.dir,
        ", with cell source" if capture.include_source else "",
    )
    return capture
