"""The copy: its size limit, the submission record, and the student's bytes with the record added.

:class:`SubmissionRecord` is the one type of the record: ``ipynb_submit`` writes it at
``metadata[METADATA_KEY][SUBMISSION_KEY]`` of every copy and grading reads it back
(:meth:`SubmissionRecord.from_notebook`, :mod:`ipynb_tools.grading.submissions`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..i18n import _
from ..notebook import Notebook, check_json_budget, check_notebook_shape, notebook_bytes, parse_notebook
from .environment import _environ
from .errors import SubmitError

#: ``metadata[METADATA_KEY][SUBMISSION_KEY]``: the record in every copy (read by grading/).
METADATA_KEY = "ipynb_tools"
SUBMISSION_KEY = "submission"
#: Environment variable of the size limit.
ENV_MAX_MB = "IPYNB_SUBMIT_MAX_MB"
#: Default size limit of a submitted notebook.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class SubmissionRecord:
    """Who handed in what, when, from which notebook: the record in every submitted copy.

    ``ipynb_submit`` fills every field; a copy made by an older tool (or by hand) may lack
    any of them, so a record read back has ``None`` where nothing usable was found.
    Times are ISO 8601 UTC (``2026-01-31T09:00:00.000000Z``), hashes SHA-256 hex.
    """

    #: The student the copy is for (the name in the copy's file name).
    user: str | None = None
    #: The OS account that made the copy (differs from ``user`` when a teacher submits for a student).
    os_user: str | None = None
    #: The uid that made the copy.
    uid: int | None = None
    submitted_at: str | None = None
    #: The file name of the student's notebook (the task notebook it came from).
    source_name: str | None = None
    #: SHA-256 of the student's notebook bytes (before the record was added).
    source_sha256: str | None = None
    #: The access name of the submit volume.
    target: str | None = None
    #: ``ipynb_submit <version>``.
    tool: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object written into the copy (fields that are ``None`` left out)."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_notebook(cls, nb: Notebook) -> SubmissionRecord:
        """The record in a notebook's metadata; every field ``None`` when there is none.

        Reads the names older tools used too (``username``, ``time``/``date``, ``sha256``,
        ``source``/``notebook``); a value of the wrong type counts as missing.
        """
        meta = nb.get("metadata")
        record: Any = meta.get(METADATA_KEY) if isinstance(meta, dict) else None
        record = record.get(SUBMISSION_KEY) if isinstance(record, dict) else None
        if not isinstance(record, dict):
            return cls()

        def text(*keys: str) -> str | None:
            for key in keys:
                value = record.get(key)
                if isinstance(value, str) and value:
                    return value
            return None

        uid = record.get("uid")
        return cls(
            user=text("user", "username"),
            os_user=text("os_user"),
            uid=uid if isinstance(uid, int) and not isinstance(uid, bool) else None,
            submitted_at=text("submitted_at", "time", "date"),
            source_name=text("source_name", "source", "notebook"),
            source_sha256=text("source_sha256", "sha256"),
            target=text("target"),
            tool=text("tool"),
        )


def max_submit_bytes(env: Mapping[str, str] | None = None) -> int:
    """``$IPYNB_SUBMIT_MAX_MB`` or 20 MB."""
    value = _environ(env).get(ENV_MAX_MB)
    if value:
        try:
            return int(float(value) * 1024 * 1024)
        except ValueError:
            raise SubmitError(
                _("%(variable)s=%(value)s is not a number of megabytes")
                % {"variable": ENV_MAX_MB, "value": repr(value)}
            ) from None
    return DEFAULT_MAX_BYTES


def build_copy(raw: bytes, name: str | os.PathLike[str], record: SubmissionRecord) -> bytes:
    """The submitted bytes: ``raw`` with ``record`` at ``metadata.ipynb_tools.submission``.

    Fast path: the top-level object is walked with the json scanner and only the
    ``metadata`` value is re-serialised, in the indentation the file uses; the
    cells stay byte for byte (for a notebook Jupyter wrote, the result is what
    ``dumps_notebook`` would give). Whenever the layout is unusual (duplicate
    keys, no metadata...) the whole notebook is re-serialised with
    :func:`notebook_bytes` instead. Re-serialising 1 MB with ``indent=1`` takes
    longer than the rest of a submission (json's C encoder does not indent),
    which is why the fast path exists (benchmarks/submit_startup.py).
    """
    check_json_budget(raw, name)  # the fast path parses every value too: the same memory bound as parse_notebook
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        parse_notebook(raw, name)  # raises the clear error
        raise
    written = record.to_json()
    top = _walk_top(text)
    if top is None:
        nb = parse_notebook(raw, name)
        return notebook_bytes(_with_record(nb, written))
    values, spans, indent = top
    check_notebook_shape(values, name)
    expected = _with_record(values, written)
    if "metadata" in spans:
        start, end = spans["metadata"]
        meta = expected["metadata"]
        if indent is not None:
            meta_text = json.dumps(meta, indent=indent, sort_keys=True, ensure_ascii=False).replace("\n", "\n" + indent)
        else:
            meta_text = json.dumps(meta, sort_keys=True, ensure_ascii=False)
        # Replacing one JSON value by another in a valid document keeps it valid; the
        # spans come from the decoder itself, so checking the new value is enough.
        if json.loads(meta_text) == meta:
            bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
            # Byte offsets of the span, counted on the shorter side of it (strict UTF-8 decodes one
            # way only, so ``raw[bom:]`` is ``text`` encoded): the metadata follows the cells in
            # Jupyter's sorted layout, and encoding the 1 MB before it again would cost more.
            if start <= len(text) - end:
                bstart = bom + len(text[:start].encode("utf-8"))
                bend = bstart + len(text[start:end].encode("utf-8"))
            else:
                bend = len(raw) - len(text[end:].encode("utf-8"))
                bstart = bend - len(text[start:end].encode("utf-8"))
            return raw[bom:bstart] + meta_text.encode("utf-8") + raw[bend:]
    return notebook_bytes(expected)


_WS = re.compile(r"[ \t\n\r]*")


def _skip_ws(text: str, i: int) -> int:
    """The index of the first character at or after ``i`` that is not JSON white space."""
    blank = _WS.match(text, i)
    return blank.end() if blank is not None else i  # the pattern matches the empty string: never None


def _walk_top(text: str) -> tuple[dict[str, Any], dict[str, tuple[int, int]], str | None] | None:
    """Top-level keys of a JSON object with the span of each value, and the indent unit; None if unusual."""
    from json.decoder import scanstring  # type: ignore[attr-defined]  # the C scanner, untyped in typeshed

    decoder = json.JSONDecoder()
    try:
        i = _skip_ws(text, 0)
        if text[i] != "{":
            return None
        i += 1
        values: dict[str, Any] = {}
        spans: dict[str, tuple[int, int]] = {}
        indent: str | None = None
        while True:
            j = _skip_ws(text, i)
            if text[j] == "}" and not values:
                end = j
                break
            if text[j] != '"':
                return None
            if indent is None and not values:
                lead = text[i:j]
                indent = lead.rsplit("\n", 1)[1] if "\n" in lead else None
                if indent is not None and indent.strip(" \t"):
                    return None
            key, k = scanstring(text, j + 1)
            k = _skip_ws(text, k)
            if text[k] != ":":
                return None
            start = _skip_ws(text, k + 1)
            value, stop = decoder.raw_decode(text, start)
            if key in values:
                return None  # duplicate keys: let the plain path decide
            values[key] = value
            spans[key] = (start, stop)
            n = _skip_ws(text, stop)
            if text[n] == ",":
                i = n + 1
                continue
            if text[n] == "}":
                end = n
                break
            return None
        if text[end + 1 :].strip(" \t\n\r"):
            return None
        return values, spans, indent or None
    except (ValueError, IndexError, RecursionError):
        return None


def _with_record(nb: Notebook, record: dict[str, Any]) -> Notebook:
    """A shallow copy of ``nb`` whose metadata carries the submission record (cells untouched)."""
    out = dict(nb)
    meta = dict(out.get("metadata") or {})
    ours = meta.get(METADATA_KEY)
    ours = dict(ours) if isinstance(ours, dict) else {}
    ours[SUBMISSION_KEY] = record
    meta[METADATA_KEY] = ours
    out["metadata"] = meta
    return out


_RECORD_SHA = re.compile(rb'"source_sha256": *"([0-9a-f]{64})"')


def _previous_record(data: bytes | None) -> tuple[str | None, str | None]:
    """(source_sha256, submitted_at) of our earlier copy, without parsing all of it.

    The record sits in the notebook-level metadata, which follows the cells in
    the sorted layout, so the last occurrence is ours; a miss only means no
    "no changes" warning.
    """
    if not data:
        return None, None
    matches = list(_RECORD_SHA.finditer(data, max(0, len(data) - 8192)))
    if not matches:
        return None, None
    when = re.findall(rb'"submitted_at": *"([0-9T:.Z-]+)"', data[max(0, len(data) - 8192) :])
    return matches[-1].group(1).decode(), (when[-1].decode() if when else None)
