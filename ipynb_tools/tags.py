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
    """The tags of a cell (an empty list when there are none)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def cell_codenum(cell: dict[str, Any]) -> int | None:
    """The number in a cell's ``codenum:`` tag, or None (missing or not an integer)."""
    return codenum_in(cell_tags(cell))


def codenum_in(tags: Iterable[str]) -> int | None:
    """The number in the first ``codenum:`` tag of ``tags``, or None (for loops over many cells)."""
    for tag in tags:
        if tag.startswith(CODENUM_PREFIX):
            try:
                return int(tag[_CODENUM_LEN:])
            except ValueError:
                return None
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
    without JSON quotes, the bare ``filename:x codenum:n`` form. A codenum that is not an
    integer is ``None``.
    """
    if not text:
        return None, None
    found = dict(DOWNSTREAM_PATTERN.findall(text)) or dict(_LOOSE_PATTERN.findall(text))
    filename = found.get("filename", "").strip() or None
    codenum: int | None = None
    if "codenum" in found:
        try:
            codenum = int(found["codenum"].strip())
        except ValueError:
            codenum = None
    return filename, codenum
