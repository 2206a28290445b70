"""A plausible execution log for a demo course: records like the proxy's, for given users and cells.

Each user works through the numbered cells of a notebook in order, re-running
a cell after an error, sometimes going back, sometimes taking a break of more
than half an hour (which breaks their line on the progress chart). A few
server answers have no client record (the ``/nc`` case). Deterministic for a
given seed, so demos and tests are repeatable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from ..atomic import atomic_write_text
from ..tags import codenum_tag, filename_tag

DEFAULT_START = dt.datetime(2024, 4, 17, 9, 0, tzinfo=dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sample_log(
    users: Iterable[str],
    notebook: str = "kadai-1.ipynb",
    codenums: Iterable[int] = range(1, 11),
    *,
    start: dt.datetime = DEFAULT_START,
    seed: int = 0,
    error_rate: float = 0.2,
    runs_per_user: int | None = None,
) -> list[dict[str, Any]]:
    """Client and server records (dicts with the proxy's field names), in time order.

    ``runs_per_user`` makes each user run that many cells (wrapping around the
    notebook), which is how benchmarks produce large logs.
    """
    rng = random.Random(seed)
    numbers = list(codenums)
    if not numbers:
        raise ValueError("sample_log needs at least one codenum")
    cell_ids = {n: uuid.UUID(int=rng.getrandbits(128)).hex[:8] + f"-{n}" for n in numbers}
    records: list[tuple[dt.datetime, int, dict[str, Any]]] = []
    seq = 0
    for user in users:
        rng = random.Random(f"{seed}/{notebook}/{user}")  # a user's run does not depend on who else is listed
        session = uuid.UUID(int=rng.getrandbits(128)).hex
        when = start + dt.timedelta(seconds=rng.randint(0, 900))
        index = 0
        runs = 0
        limit = runs_per_user if runs_per_user is not None else len(numbers) * 2
        while runs < limit:
            if runs_per_user is None and index >= len(numbers):
                break
            number = numbers[index % len(numbers)]
            message = uuid.UUID(int=rng.getrandbits(128)).hex
            failed = rng.random() < error_rate
            tags = [filename_tag(notebook), codenum_tag(number)]
            if rng.random() >= 0.03:  # now and then the client record is lost: the server one gets /nc
                records.append(
                    (
                        when,
                        seq,
                        {
                            "host": "client",
                            "session": session,
                            "message": message,
                            "cell_id": cell_ids[number],
                            "tags": json.dumps(tags),
                            "date": _iso(when),
                        },
                    )
                )
                seq += 1
            answered = when + dt.timedelta(milliseconds=rng.randint(20, 3000))
            records.append(
                (
                    answered,
                    seq,
                    {
                        "host": "server",
                        "session": session,
                        "message": message,
                        "status": "error" if failed else "ok",
                        "username": user,
                        "date": _iso(answered),
                    },
                )
            )
            seq += 1
            runs += 1
            if not failed:
                index += 1
                if index > 2 and rng.random() < 0.08:
                    index -= rng.randint(1, 2)  # goes back to an earlier cell
            when = answered + dt.timedelta(seconds=rng.randint(15, 240))
            if rng.random() < 0.05:
                when += dt.timedelta(minutes=rng.randint(35, 90))  # a break: the progress line breaks
    records.sort(key=lambda r: (r[0], r[1]))
    return [r for _, _, r in records]


def form_encoded(records: Iterable[dict[str, Any]], per_post: int = 1) -> list[str]:
    """The records as the Moodle web-service posts (``nb_logs[i][field]=...``), ``per_post`` per line."""
    batch: list[dict[str, Any]] = []
    lines = []

    def flush() -> None:
        pairs = [("wsfunction", "mod_lticontainer_write_nblogs")]
        for i, record in enumerate(batch):
            pairs += [(f"nb_logs[{i}][{k}]", str(v)) for k, v in record.items()]
        lines.append(urlencode(pairs))
        batch.clear()

    for record in records:
        batch.append(record)
        if len(batch) >= per_post:
            flush()
    if batch:
        flush()
    return lines


def write_sample_log(
    path: str | os.PathLike[str],
    users: Iterable[str],
    notebook: str = "kadai-1.ipynb",
    codenums: Iterable[int] = range(1, 11),
    *,
    form: bool = False,
    **options: Any,
) -> int:
    """Write :func:`sample_log` as JSON lines (or form-encoded posts with ``form``); return the record count."""
    records = sample_log(users, notebook, codenums, **options)
    lines = form_encoded(records) if form else [json.dumps(r, ensure_ascii=False) for r in records]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return len(records)
