"""The batched sender of the server extension: a thread that spools records and posts them to the collector.

The capture side only puts records on an in-memory queue (:meth:`Sender.put`, never blocks, never
does I/O on the server's event loop). The sender thread appends them to the :class:`.buffer.Spool`
at once, and every ``interval`` seconds seals the current segment and posts the sealed ones,
oldest first, as ``{"records": [...]}`` to ``<collector URL>api/records`` with the server's
JupyterHub token (``Authorization: token ...``). A 2xx answer deletes the segment; a network
error, 5xx, 401 or 403 keeps it and retries later with a growing pause (up to ``max_backoff``);
a 400 or 413 (the collector will never take that batch) moves it aside to ``rejected/`` (kept, for
an administrator, not resent). On stop, what is queued is written to the spool and one last send is tried.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..environ import UserPaths
from .buffer import Spool
from .records import ExecRecord

log = logging.getLogger("ipynb_tools.execlog")
RECORDS_PATH = "api/records"


class Sender:
    """Spool + post in one background thread. ``start()``, ``put(record)``, ``stop()``."""

    def __init__(
        self,
        url: str,
        token: str,
        spool: Spool,
        *,
        interval: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 10.0,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/" + RECORDS_PATH
        self.token = token
        self.spool = spool
        self.interval = interval
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.queue: queue.SimpleQueue[ExecRecord | None] = queue.SimpleQueue()
        self.sent = 0
        self.failures = 0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._force = False

    def start(self) -> None:
        self.spool.seal()  # what the last run left in the current segment
        self._thread = threading.Thread(target=self._run, name="ipynb-tools-execlog", daemon=True)
        self._thread.start()

    def put(self, record: ExecRecord) -> None:
        """Queue a record (O(1), thread-safe, never blocks); the thread spools it at once."""
        self.queue.put(record)
        self._wake.set()

    def flush(self) -> None:
        """Ask the thread to send now, whatever the pause (tests, shutdown)."""
        self._force = True
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Spool what is queued, try one last send, end the thread."""
        if self._thread is None:
            return
        self._stopping.set()
        self.queue.put(None)
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    # -- the thread -------------------------------------------------------------------------
    def _drain(self) -> bool:
        """Move queued records to the spool; True when the stop marker was seen."""
        batch: list[dict[str, Any]] = []
        stop = False
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stop = True
            else:
                batch.append(item.to_json())
        try:
            self.spool.append(batch)
        except OSError as exc:
            log.warning("ipynb-tools: execution log: cannot write the spool %s (%s)", self.spool.dir, exc)
        return stop

    def _run(self) -> None:
        backoff = 0.0
        next_send = 0.0
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            stop = self._drain() or self._stopping.is_set()
            now = time.monotonic()
            if stop or self._force or now >= next_send:
                self._force = False
                if self._send_all():
                    backoff = 0.0
                    next_send = now + self.interval
                else:
                    backoff = min(self.max_backoff, max(1.0, backoff * 2))
                    next_send = now + backoff
            if stop:
                return

    def _send_all(self) -> bool:
        """Seal and post every pending segment; False when the collector could not be reached."""
        try:
            self.spool.seal()
        except OSError as exc:
            log.warning("ipynb-tools: execution log: cannot seal the spool (%s)", exc)
        for segment in self.spool.pending():
            records = self.spool.read(segment)
            if not records:
                self.spool.remove(segment)
                continue
            status = self._post(records)
            if status is not None and 200 <= status < 300:
                self.spool.remove(segment)
                self.sent += len(records)
            elif status in (400, 413):
                rejected = self.spool.dir / "rejected"
                rejected.mkdir(mode=0o700, exist_ok=True)
                segment.replace(rejected / segment.name)
                log.warning("ipynb-tools: execution log: the collector refused %s (HTTP %s)", segment.name, status)
            else:
                self.failures += 1
                return False
        return True

    def _post(self, records: list[dict[str, Any]]) -> int | None:
        import json

        body = json.dumps({"records": records}, ensure_ascii=False).encode()
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            if exc.code not in (503,):
                log.warning("ipynb-tools: execution log: %s answered %s", self.endpoint, exc.code)
            return int(exc.code)
        except (OSError, ValueError) as exc:
            log.debug("ipynb-tools: execution log: %s unreachable (%s)", self.endpoint, exc)
            return None


def default_spool_dir() -> Path:
    """``~/.ipynb-tools/execlog-spool`` in the contract's state directory (the home survives restarts)."""
    return UserPaths.from_environ().state / "execlog-spool"
