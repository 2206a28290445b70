"""Execution logs: the records the proxy in front of JupyterHub writes for each cell run (SPEC 7).

For every execution the proxy sends two records:

- a **client** record when the browser asks to run a cell: ``host=client``,
  ``session``, ``message`` (the message id), ``cell_id``, ``tags`` (the cell's
  tags, which carry ``filename:``/``codenum:``) and ``date``;
- a **server** record when the kernel answers: ``host=server``, ``session``,
  ``message``, ``status`` (``ok``/``error``), ``username`` and ``date``.

They arrive either as the form-encoded web-service posts of the Moodle module
(``nb_logs[0][host]=server&nb_logs[0][session]=...``, one post per line, other
parameters such as ``wstoken`` ignored) or as JSON lines (one object, or a list
of objects, per line). Both forms may be mixed in one file.

:func:`load_logs` joins each server record to the client record with the same
session and message id. A server record with no client record keeps its
status with ``/nc`` appended (``ok/nc``), exactly as the Moodle module stores
it. When the joined client record carries no numbering tags, the tags last
seen for the same cell id are used (the module's tags table did the same).
Lines that cannot be read are listed in ``problems``; they never stop a report.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..errors import FileProblem, os_reason
from ..tags import numbering_from_text

if TYPE_CHECKING:
    import pandas as pd

NO_CLIENT = "/nc"
_FORM_KEY = re.compile(r"nb_logs\[(\d+)\]\[([A-Za-z_]+)\]")

EXECUTION_COLUMNS = [
    "date",
    "username",
    "status",
    "ok",
    "paired",
    "filename",
    "codenum",
    "cell_id",
    "session",
    "message",
    "client_date",
]


@dataclass
class LogData:
    """Parsed logs: ``executions`` (one row per server record, joined) and what could not be read."""

    executions: pd.DataFrame
    clients: pd.DataFrame
    problems: list[tuple[str, str]] = field(default_factory=list)
    records: int = 0
    ignored: int = 0

    @property
    def unanswered(self) -> int:
        """Client records no server record answered (a run still going, or a lost answer)."""
        if self.clients.empty:
            return 0
        answered = set(zip(self.executions["session"], self.executions["message"], strict=True))
        return sum(
            1 for key in zip(self.clients["session"], self.clients["message"], strict=True) if key not in answered
        )


def parse_form_line(line: str) -> list[dict[str, str]]:
    """The records of one form-encoded post (``nb_logs[i][field]=value&...``), by index."""
    by_index: dict[int, dict[str, str]] = {}
    for key, value in parse_qsl(line, keep_blank_values=True, strict_parsing=False):
        m = _FORM_KEY.fullmatch(key)
        if m:
            by_index.setdefault(int(m.group(1)), {})[m.group(2)] = value
    return [by_index[i] for i in sorted(by_index)]


def iter_records(lines: Iterable[str], source: str = "<log>") -> Iterator[tuple[str, dict[str, Any] | str]]:
    """(where, record) for each record of ``lines``; a record that cannot be read is (where, problem text)."""
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        where = f"{source}:{number}"
        if line[0] in "{[":
            try:
                value = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                yield where, f"not valid JSON ({getattr(exc, 'msg', exc)})"
                continue
            items = value if isinstance(value, list) else [value]
            for item in items:
                yield (where, item) if isinstance(item, dict) else (where, "JSON value is not a record (object)")
        elif "nb_logs" in line:
            records = parse_form_line(line)
            if not records:
                yield where, "form-encoded line without nb_logs[i][field] values"
            for item in records:
                yield where, item
        else:
            yield where, "neither a JSON record nor a form-encoded nb_logs post"


def tags_text(value: Any) -> str:
    """A record's tags as the text the downstream pattern is applied to."""
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps([str(v) for v in value], ensure_ascii=False)
    return str(value)


def numbering_from_tags(text: str) -> tuple[str | None, int | None]:
    """(filename, codenum) from tags text: :func:`ipynb_tools.tags.numbering_from_text` (the one home)."""
    return numbering_from_text(text)


def _read_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileProblem(path, "no such log file") from None
    except IsADirectoryError:
        raise FileProblem(path, "is a directory, not a log file") from None
    except OSError as exc:
        raise FileProblem(path, f"cannot read ({os_reason(exc)})") from None
    text = data.decode("utf-8", "replace")
    stripped = text.lstrip()
    if stripped.startswith("[") and "\n" in stripped.rstrip():
        try:
            whole = json.loads(stripped)  # one JSON array over many lines
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(whole, list):
                return [json.dumps(item) for item in whole]
    return text.splitlines()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_records(items: Iterable[tuple[str, dict[str, Any] | str]]) -> LogData:
    """Split records into client and server rows, join them, and collect problems."""
    import pandas as pd

    problems: list[tuple[str, str]] = []
    clients: dict[str, list[Any]] = {k: [] for k in ("session", "message", "cell_id", "tags", "client_date", "where")}
    servers: dict[str, list[Any]] = {k: [] for k in ("session", "message", "status", "username", "date", "where")}
    total = ignored = 0
    for where, record in items:
        if isinstance(record, str):
            problems.append((where, record))
            continue
        total += 1
        host = _text(record.get("host")) or ""
        session, message = _text(record.get("session")), _text(record.get("message"))
        if host not in ("client", "server"):
            ignored += 1  # session/LTI records of the proxy: not an execution
            continue
        if session is None or message is None:
            problems.append((where, f"{host} record without {'session' if session is None else 'message'} id"))
            continue
        if host == "client":
            for key, value in zip(
                clients,
                (
                    session,
                    message,
                    _text(record.get("cell_id")),
                    tags_text(record.get("tags")),
                    _text(record.get("date")),
                    where,
                ),
                strict=True,
            ):
                clients[key].append(value)
        else:
            status = _text(record.get("status"))
            if status is None:
                problems.append((where, "server record without status"))
                continue
            for key, value in zip(
                servers,
                (session, message, status, _text(record.get("username")), _text(record.get("date")), where),
                strict=True,
            ):
                servers[key].append(value)

    client_frame = pd.DataFrame(clients)
    numbering = [numbering_from_tags(t) for t in client_frame["tags"]]
    client_frame["filename"] = [f for f, _ in numbering]
    client_frame["codenum"] = pd.array([c for _, c in numbering], dtype="Int64")
    client_frame["client_date"] = _dates(client_frame["client_date"], client_frame["where"], problems)
    client_frame = client_frame.drop_duplicates(["session", "message"], keep="first")

    server_frame = pd.DataFrame(servers)
    server_frame["date"] = _dates(server_frame["date"], server_frame["where"], problems)
    joined = server_frame.merge(
        client_frame[["session", "message", "cell_id", "filename", "codenum", "client_date"]],
        on=["session", "message"],
        how="left",
        indicator=True,
    )
    paired = joined["_merge"] == "both"
    joined["paired"] = paired.to_numpy()
    statuses = joined["status"].astype("object")
    unpaired = ~paired & ~statuses.str.endswith(NO_CLIENT)
    joined["status"] = statuses.where(~unpaired, statuses + NO_CLIENT)
    joined["ok"] = joined["status"].str.split("/", n=1).str[0].str.lower() == "ok"
    _fill_from_cell_id(joined, client_frame)
    joined = joined.drop(columns=["_merge", "where"]).sort_values("date", kind="stable", na_position="last")
    executions = joined.reset_index(drop=True)[EXECUTION_COLUMNS]
    executions["codenum"] = executions["codenum"].astype("Int64")
    return LogData(executions, client_frame.drop(columns=["where"]).reset_index(drop=True), problems, total, ignored)


def _fill_from_cell_id(joined: pd.DataFrame, clients: pd.DataFrame) -> None:
    """Give executions whose own client record had no numbering the last numbering seen for the cell."""
    missing = joined["codenum"].isna() & joined["cell_id"].notna()
    if not missing.any():
        return
    known = clients[clients["codenum"].notna() & clients["cell_id"].notna()]
    if known.empty:
        return
    last = known.sort_values("client_date", kind="stable").drop_duplicates("cell_id", keep="last").set_index("cell_id")
    ids = joined.loc[missing, "cell_id"]
    joined.loc[missing, "codenum"] = ids.map(last["codenum"]).astype("Int64").to_numpy()
    joined.loc[missing, "filename"] = ids.map(last["filename"]).to_numpy()


def _dates(values: pd.Series, where: pd.Series, problems: list[tuple[str, str]]) -> pd.Series:
    """Parse dates to UTC timestamps; unparseable ones become NaT and are reported."""
    import pandas as pd

    if values.empty:
        return pd.Series(pd.array([], dtype="datetime64[ns, UTC]"), index=values.index)
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    retry = parsed.isna() & values.notna()
    if retry.any():
        parsed.loc[retry] = pd.to_datetime(values[retry], utc=True, errors="coerce", format="mixed")
    for index in parsed.index[parsed.isna()]:
        shown = values[index]
        problems.append((where[index], f"date {shown!r} cannot be read" if shown else "record without date"))
    return parsed


def load_logs(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> LogData:
    """Read one or more log files (form-encoded posts and/or JSON lines) and join the records."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    items: list[tuple[str, dict[str, Any] | str]] = []
    for path in paths:
        p = Path(path)
        items.extend(iter_records(_read_lines(p), str(p)))
    return parse_records(items)


def read_logs(path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """The joined executions of the log file(s) ``path``; the problems are in ``.attrs["problems"]``."""
    data = load_logs(path)
    frame = data.executions
    frame.attrs["problems"] = data.problems
    return frame
