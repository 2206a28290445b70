"""The one definition of the cell tags that number code cells.

Downstream systems (the LMS module's log analysis) parse tags with the
pattern ``"(filename|codenum):([^"]+)"``, so the strings must be exactly
``filename:<basename>`` and ``codenum:<n>``. Deploy writes them; sync,
extract and analysis read them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FILENAME_PREFIX = "filename:"
CODENUM_PREFIX = "codenum:"
USER_PREFIX = "user:"
_CODENUM_LEN = len(CODENUM_PREFIX)
#: A codenum is 1 to 9 ASCII digits (deploy numbers cells ``index * step``; 9 digits fit every
#: integer column, pandas' Int64 and the LMS's). Anything else in a ``codenum:`` tag (student text:
#: ``codenum:99999999999999999999``, ``codenum:-1``, ``codenum:1_0``, full-width digits) is no number.
CODENUM_MAX_DIGITS = 9
#: The pattern the LMS side uses on the serialised tags.
DOWNSTREAM_PATTERN = re.compile(r'"(filename|codenum):([^"]+)"')
#: The same tags written without JSON quotes (hand-made logs).
_LOOSE_PATTERN = re.compile(r"(filename|codenum):\s*([^\s,\"'\]]+)")


def filename_tag(basename: str) -> str:
    """``filename:<basename>``."""
    return f"{FILENAME_PREFIX}{basename}"


def codenum_tag(number: int) -> str:
    """``codenum:<number>``."""
    return f"{CODENUM_PREFIX}{number}"


def is_numbering_tag(tag: str) -> bool:
    """True for the tags deploy owns (``filename:`` and ``codenum:``)."""
    return tag.startswith((FILENAME_PREFIX, CODENUM_PREFIX))


def cell_tags(cell: dict[str, Any]) -> list[str]:
    """The string tags of a cell (an empty list when there are none or the metadata is not an object)."""
    meta = cell.get("metadata")
    tags = meta.get("tags") if isinstance(meta, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def cell_codenum(cell: dict[str, Any]) -> int | None:
    """The number in a cell's ``codenum:`` tag, or None (missing or not an integer)."""
    return codenum_in(cell_tags(cell))


def parse_codenum(text: str) -> int | None:
    """The number written after ``codenum:``: 1 to :data:`CODENUM_MAX_DIGITS` ASCII digits, else None."""
    if 0 < len(text) <= CODENUM_MAX_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def codenum_in(tags: Iterable[str]) -> int | None:
    """The number in the first ``codenum:`` tag of ``tags`` (see :func:`parse_codenum`), or None.

    Used in loops over many cells: a non-string tag is skipped, never an error.
    """
    for tag in tags:
        if tag.__class__ is str and tag.startswith(CODENUM_PREFIX):
            text = tag[_CODENUM_LEN:]  # parse_codenum, inlined: this runs once per cell of a class
            return int(text) if 0 < len(text) <= CODENUM_MAX_DIGITS and text.isdigit() and text.isascii() else None
    return None


def cell_filename(cell: dict[str, Any]) -> str | None:
    """The name in a cell's ``filename:`` tag, or None."""
    for tag in cell_tags(cell):
        if tag.startswith(FILENAME_PREFIX):
            return tag[len(FILENAME_PREFIX) :]
    return None


def cell_user(cell: dict[str, Any]) -> str | None:
    """The user of a grading score cell (tag ``user: <name>``), or None."""
    for tag in cell_tags(cell):
        if tag.startswith(USER_PREFIX):
            return tag[len(USER_PREFIX) :].strip()
    return None


def numbered_tags(existing: Iterable[str], basename: str, number: int) -> list[str]:
    """``existing`` without old numbering tags, followed by the new pair.

    Other tags keep their order; the new tags go at the end, as the old tool
    appended them.
    """
    kept = [t for t in existing if not is_numbering_tag(t)]
    return [*kept, filename_tag(basename), codenum_tag(number)]


def numbering_from_text(text: str) -> tuple[str | None, int | None]:
    """(filename, codenum) from serialised tags (``["filename:k.ipynb", "codenum:1"]``), or Nones.

    Uses the downstream pattern (what the LMS side applies to logged tags), then, for text
    without JSON quotes, the bare ``filename:x codenum:n`` form. A codenum that is not
    1 to 9 ASCII digits (:func:`parse_codenum`) is ``None``.
    """
    if not text:
        return None, None
    found = dict(DOWNSTREAM_PATTERN.findall(text)) or dict(_LOOSE_PATTERN.findall(text))
    filename = found.get("filename", "").strip() or None
    codenum = parse_codenum(found["codenum"].strip()) if "codenum" in found else None
    return filename, codenum
