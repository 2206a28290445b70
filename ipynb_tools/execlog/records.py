"""The execution-log record: one fact about a cell run, in the three kinds of the old proxy (SPEC 9).

- ``client``: an ``execute_request`` (the browser asks to run a cell): ``session`` and ``message``
  (header ``session`` and ``msg_id``), ``cell_id`` (metadata ``cellId``), ``tags``, the notebook
  (the kernel session's path) and the numbering (``filename:``/``codenum:`` tags of that cell),
  optionally the cell ``source`` (only when the site asks for it);
- ``server``: an ``execute_reply``: ``status`` (``ok``/``error``/``aborted``), ``ename``,
  ``execution_count``, ``username``, and ``session``/``message`` of the *parent* header, so it
  matches its client record;
- ``session``: binds a kernel session to an LTI activity (``inst_id``, ``lti_id``; the old
  proxy's ``host=ltictr`` record) and, when known, a course.

Two wire forms are read here: the JSON records the server extension sends (:func:`records_from_json`,
field names of :data:`JSON_FIELDS`) and the old proxy's form-encoded ``nb_logs[i][field]`` posts
(:func:`records_from_form`, the ten fields of SPEC 9). Both refuse unknown fields and malformed
values with :class:`RecordError` (the collector answers 400 and stores nothing). Dates become UTC
microseconds since the epoch (``date_us``), the unit of the store.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import parse_qsl

from ..errors import IpynbToolsError
from ..tags import numbering_from_text

CLIENT, SERVER, SESSION = "client", "server", "session"
KINDS = (CLIENT, SERVER, SESSION)
#: The old proxy's ``host`` value of a session record.
PROXY_SESSION_HOST = "ltictr"
#: The ten fields the old proxy always sends (SPEC 9).
FORM_FIELDS = ("host", "inst_id", "lti_id", "session", "message", "status", "username", "cell_id", "tags", "date")
#: Limits on one text value (characters): ids are short; a notebook path or tag list is not huge.
MAX_ID = 200
MAX_TEXT = 4096
MAX_SOURCE = 1_000_000
STATUSES = frozenset({"ok", "error", "aborted"})
_FORM_KEY = re.compile(r"nb_logs\[(\d{1,6})\]\[([a-z_]{1,20})\]")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class RecordError(IpynbToolsError):
    """A record (or a post of records) that cannot be accepted; the message names the field and problem.

    ``line`` is the line number when the record came from a log file.
    """

    line: int | None = None


@dataclass(frozen=True, slots=True)
class ExecRecord:
    """One execution-log record. Empty text fields are ``None``; ``date_us`` is UTC µs since the epoch.

    Which fields a kind uses: see the module doc. ``username`` of a record that came through the
    collector's JupyterHub path is the hub's name for the token, never the sender's claim.
    """

    kind: str
    session: str
    message: str | None = None
    date_us: int | None = None
    cell_id: str | None = None
    tags: str | None = None
    notebook: str | None = None
    filename: str | None = None
    codenum: int | None = None
    source: str | None = None
    status: str | None = None
    ename: str | None = None
    execution_count: int | None = None
    username: str | None = None
    inst_id: str | None = None
    lti_id: str | None = None
    course: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as the server extension sends it (``date`` ISO 8601 UTC; ``None`` fields left out)."""
        out: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value is None:
                continue
            if name == "date_us":
                out["date"] = format_date(value)
            else:
                out[name] = value
        return out

    def key(self) -> tuple[str, str, str | None]:
        """What makes a record unique in the store: (kind, session, message)."""
        return (self.kind, self.session, self.message)


#: The fields of the JSON form (the dataclass fields, ``date`` instead of ``date_us``).
JSON_FIELDS = frozenset({f.name for f in fields(ExecRecord)} - {"date_us"} | {"date"})


def parse_date(text: str | None) -> int | None:
    """ISO 8601 text (Jupyter's ``2024-04-17T09:00:00.123456Z``; naive means UTC) -> UTC µs, or ``None``.

    Raises :class:`RecordError` for text that is not a date.
    """
    if text is None or text == "":
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise RecordError(f"date {text[:40]!r} is not an ISO 8601 date") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def format_date(date_us: int) -> str:
    """UTC µs -> ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (the form Jupyter writes)."""
    when = _EPOCH + dt.timedelta(microseconds=date_us)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_us() -> int:
    """The current time as UTC µs since the epoch."""
    return parse_date(dt.datetime.now(dt.UTC).isoformat()) or 0


def _text(name: str, value: Any, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"field {name!r} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise RecordError(f"field {name!r} is {len(value)} characters, over the limit of {limit}")
    if "\x00" in value:
        raise RecordError(f"field {name!r} contains a NUL character")
    return value or None


def _int(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"field {name!r} must be an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"-?\d{1,15}", value.strip()):
        number = int(value)
    else:
        raise RecordError(f"field {name!r} must be an integer, not {str(value)[:20]!r}")
    if not -(2**62) < number < 2**62:
        raise RecordError(f"field {name!r} is out of range")
    return number


def make_record(values: Mapping[str, Any]) -> ExecRecord:
    """Check and build a record from the JSON form (``kind``, ``session``, ``date``, ...).

    Raises :class:`RecordError` for an unknown field, a missing ``kind``/``session``, a client or
    server record without ``message``, a value of the wrong type or size, or an unknown status.
    """
    unknown = set(values) - JSON_FIELDS
    if unknown:
        raise RecordError(f"unknown field(s): {', '.join(sorted(unknown))}")
    kind = values.get("kind")
    if kind not in KINDS:
        raise RecordError(f"field 'kind' must be one of {', '.join(KINDS)}, not {str(kind)[:20]!r}")
    session = _text("session", values.get("session"), MAX_ID)
    if session is None:
        raise RecordError(f"{kind} record without session")
    message = _text("message", values.get("message"), MAX_ID)
    if kind != SESSION and message is None:
        raise RecordError(f"{kind} record without message id")
    status = _text("status", values.get("status"), 40)
    if kind == SERVER:
        if status is None:
            raise RecordError("server record without status")
        if status.split("/", 1)[0].lower() not in STATUSES:
            raise RecordError(f"status {status!r} is not ok, error or aborted")
    date = values.get("date")
    if date is not None and not isinstance(date, str):
        raise RecordError("field 'date' must be ISO 8601 text")
    return ExecRecord(
        kind=kind,
        session=session,
        message=message,
        date_us=parse_date(date),
        cell_id=_text("cell_id", values.get("cell_id"), MAX_ID),
        tags=_text("tags", values.get("tags")),
        notebook=_text("notebook", values.get("notebook")),
        filename=_text("filename", values.get("filename"), 1024),
        codenum=_int("codenum", values.get("codenum")),
        source=_text("source", values.get("source"), MAX_SOURCE),
        status=status,
        ename=_text("ename", values.get("ename"), 200),
        execution_count=_int("execution_count", values.get("execution_count")),
        username=_text("username", values.get("username"), MAX_ID),
        inst_id=_text("inst_id", values.get("inst_id"), MAX_ID),
        lti_id=_text("lti_id", values.get("lti_id"), MAX_ID),
        course=_text("course", values.get("course"), MAX_ID),
    )


def records_from_json(body: bytes | str, *, max_records: int = 10_000) -> list[ExecRecord]:
    """The records of a JSON post ``{"records": [...]}`` (or a bare list). Raises :class:`RecordError`."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RecordError(f"body is not JSON ({getattr(exc, 'msg', exc)})") from None
    if isinstance(value, dict):
        if set(value) != {"records"}:
            raise RecordError('body must be {"records": [...]}')
        value = value["records"]
    if not isinstance(value, list):
        raise RecordError("records must be a list")
    if len(value) > max_records:
        raise RecordError(f"{len(value)} records in one post, over the limit of {max_records}")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise RecordError(f"record {index}: not an object")
        try:
            out.append(make_record(item))
        except RecordError as exc:
            raise RecordError(f"record {index}: {exc}") from None
    return out


def form_values(body: str) -> list[dict[str, str]]:
    """The ``nb_logs[i][field]`` values of a form body, by index (other keys ignored).

    Raises :class:`RecordError` for a field that is not one of the ten of SPEC 9.
    """
    by_index: dict[int, dict[str, str]] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        if not key.startswith("nb_logs"):
            continue
        m = _FORM_KEY.fullmatch(key)
        if m is None:
            raise RecordError(f"form key {key[:60]!r} is not nb_logs[<n>][<field>]")
        if m.group(2) not in FORM_FIELDS:
            raise RecordError(f"unknown field {m.group(2)!r} in {key[:60]!r}")
        by_index.setdefault(int(m.group(1)), {})[m.group(2)] = value
    return [by_index[i] for i in sorted(by_index)]


def record_from_proxy(values: Mapping[str, str]) -> ExecRecord | None:
    """One old-proxy record (the ten fields) -> a record; ``None`` for a ``host`` that is none of the three.

    Client tags are the JSON list text the browser sent; ``filename``/``codenum`` are read from it
    with the downstream pattern of :mod:`ipynb_tools.tags`.
    """
    host = (values.get("host") or "").strip()
    if host == PROXY_SESSION_HOST:
        kind = SESSION
    elif host in (CLIENT, SERVER):
        kind = host
    else:
        return None
    filename, codenum = numbering_from_text(values.get("tags") or "") if kind == CLIENT else (None, None)
    wanted = {
        SESSION: ("inst_id", "lti_id"),
        CLIENT: ("message", "cell_id", "tags", "date"),
        SERVER: ("message", "status", "username", "date"),
    }[kind]
    given: dict[str, Any] = {"kind": kind, "session": values.get("session") or None}
    for name in wanted:
        given[name] = values.get(name) or None
    if kind == CLIENT:
        given["filename"], given["codenum"] = filename, codenum
    return make_record(given)


def records_from_form(body: bytes | str) -> list[ExecRecord]:
    """The records of an old-proxy post (``nb_logs[i][field]=...``); raises :class:`RecordError`.

    A post without any ``nb_logs`` value is an error; a record of an unknown ``host`` is skipped.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    items = form_values(text)
    if not items:
        raise RecordError("no nb_logs[i][field] values in the form")
    out = []
    for index, values in enumerate(items):
        try:
            record = record_from_proxy(values)
        except RecordError as exc:
            raise RecordError(f"nb_logs[{index}]: {exc}") from None
        if record is not None:
            out.append(record)
    return out


def records_from_lines(lines: Iterable[str], source: str = "<log>") -> list[ExecRecord]:
    """Records of a log file as ``report`` reads it: JSON lines (proxy field names or ours) and form lines.

    Raises :class:`RecordError` naming ``source:line`` for the first line that cannot be read.
    """
    out: list[ExecRecord] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        try:
            if line[0] in "{[":
                value = json.loads(line)
                for item in value if isinstance(value, list) else [value]:
                    if not isinstance(item, dict):
                        raise RecordError("JSON value is not a record (object)")
                    record = make_record(item) if "kind" in item else record_from_proxy(_proxy_values(item))
                    if record is not None:
                        out.append(record)
            elif "nb_logs" in line:
                out.extend(records_from_form(line))
            else:
                raise RecordError("neither a JSON record nor a form-encoded nb_logs post")
        except (RecordError, ValueError, RecursionError) as exc:
            error = RecordError(f"{source}:{number}: {exc}".splitlines()[0])
            error.line = number
            raise error from None
    return out


def _proxy_values(item: Mapping[str, Any]) -> dict[str, str]:
    unknown = set(item) - set(FORM_FIELDS)
    if unknown:
        raise RecordError(f"unknown field(s): {', '.join(sorted(unknown))}")
    values: dict[str, str] = {}
    for key, value in item.items():
        if isinstance(value, list):
            value = json.dumps([str(v) for v in value], ensure_ascii=False)
        values[key] = "" if value is None else str(value)
    return values
