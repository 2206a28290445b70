"""``logs import``: load log files in the formats ``report --log`` reads into the store, idempotently.

The formats: JSON lines (the proxy's field names ``host, session, message, ...`` or this package's
``kind, session, ...``; one object or a list per line, or one JSON array over the whole file) and
the old proxy's form-encoded ``nb_logs[i][field]`` posts, one per line. Every file is read and
checked before anything is stored: a line that cannot be read stops the import with one message
naming ``file:line`` and nothing is written. Records already stored (same kind, session, message)
are skipped, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import FileProblem
from ..notebook import read_bytes_safely
from .buffer import Spool
from .records import ExecRecord, RecordError, make_record, records_from_lines
from .store import IngestResult, Store

#: The largest log file read in one go.
MAX_LOG_BYTES = 4 * 1024 * 1024 * 1024


def read_log_file(path: str | os.PathLike[str]) -> list[ExecRecord]:
    """The records of one log file. Raises :class:`FileProblem` (``<path>: <problem>``)."""
    p = Path(path)
    raw, _ = read_bytes_safely(p, max_bytes=MAX_LOG_BYTES)
    text = raw.decode("utf-8", "replace")
    lines: Iterable[str] = text.splitlines()
    stripped = text.lstrip()
    if stripped.startswith("[") and "\n" in stripped.rstrip():
        try:
            whole = json.loads(stripped)
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(whole, list):
                lines = [json.dumps(item) for item in whole]
    try:
        return records_from_lines(lines, str(p))
    except RecordError as exc:
        where = f"{p}:{exc.line}" if exc.line is not None else p
        raise FileProblem(where, str(exc).removeprefix(f"{where}: ")) from None


def import_logs(store: Store, paths: Iterable[str | os.PathLike[str]]) -> IngestResult:
    """Read every file (all or nothing), then store their records; return given/stored counts."""
    records: list[ExecRecord] = []
    for path in paths:
        records.extend(read_log_file(path))
    return store.ingest(records)


def import_spool(store: Store, spool: Spool, username: str) -> IngestResult:
    """Store what a server's spool holds as ``username``'s records, exactly as the collector would; empty it.

    The collector takes a batch from a server only with the user's JupyterHub token and stores it
    with ``as_user`` set to the name the hub gives (:meth:`.store.Store.ingest`); this is the same
    call for a spool read by someone who already knows whose it is (an administrator rescuing a
    spool, the demo, which has no hub). The current segment is sealed first; each segment is
    deleted once stored. Malformed records are skipped, as the collector refuses them.
    Raises :class:`.store.StoreError`.
    """
    spool.seal()
    given = stored = 0
    for segment in spool.pending():
        records: list[ExecRecord] = []
        for values in spool.read(segment):
            try:
                records.append(make_record(values))
            except RecordError:
                continue
        result = store.ingest(records, as_user=username)
        given, stored = given + result.given, stored + result.stored
        spool.remove(segment)
    return IngestResult(given, stored)
