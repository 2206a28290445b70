"""Editing a parameter text: set, unset, add or remove a volume, and keep every other line as it was.

Edits work on the lines of the original text, not on the canonical form, so a
teacher's own order, spelling and line endings survive an edit. The new line
itself is written in canonical form (``2G`` becomes ``2147483648``); a value
that cannot be read for its key is refused and nothing changes. Setting a
volume to an empty access name removes it (SPEC 4: no access name = entry
removed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from ..atomic import atomic_write_text
from ..fileops import remove_stale_temps
from ..volumes.naming import NAME_RE, VolumeKind
from .findings import ERROR, Finding
from .model import (
    CLOSE_SUFFIX,
    FIXED_KEYS,
    KEY_ACTLIMIT,
    KEY_CPULIMIT,
    KEY_DEFURL,
    KEY_IMAGE,
    KEY_MEMLIMIT,
    KEY_TEACHERS,
    KEY_USERS,
    PREFIX,
    ParamsError,
)
from .storage import StorageLimit
from .text import (
    LINE_SPLIT_RE,
    canonical_key,
    classify_key,
    format_lines,
    parse_with_findings,
    read_params_text,
    split_lines,
)

__all__ = ["add_volume", "edit_params_file", "remove_volume", "set_param", "unset_param"]


def _line_end(text: str) -> str:
    match = LINE_SPLIT_RE.search(text)
    return match.group(0) if match else "\r\n"


def _lines_of(text: str) -> tuple[list[str], str, bool]:
    if text.startswith("\ufeff"):
        text = text[1:]
    end = _line_end(text)
    lines = split_lines(text)
    trailing = len(lines) > 1 and lines[-1] == ""
    if trailing or lines == [""]:
        lines = lines[:-1]
    return lines, end, trailing or not lines


def _join(lines: list[str], end: str, trailing: bool) -> str:
    return end.join(lines) + (end if trailing and lines else "")


def _key_of(line: str) -> str | None:
    key, sep, _ = line.partition("=")
    return canonical_key(key) if sep else None


_ORDER = (KEY_USERS, KEY_TEACHERS, KEY_IMAGE, KEY_CPULIMIT, KEY_MEMLIMIT, KEY_ACTLIMIT, KEY_DEFURL)


def _rank(key: str | None) -> int:
    """Where a key goes in the canonical order (lines without a key and other keys go last)."""
    if key is None:
        return 1000
    if key in _ORDER:
        return _ORDER.index(key)
    category = classify_key(key)[0]
    if category == "close":
        return 10
    if category == "volume":
        return 11
    if key in FIXED_KEYS:
        return 20 + FIXED_KEYS.index(key)
    return 1000


def _new_lines(key: str, value: str) -> tuple[list[str], list[Finding]]:
    """The canonical line(s) for ``key=value`` (none when the entry is removed), or ParamsError."""
    if LINE_SPLIT_RE.search(key) or LINE_SPLIT_RE.search(value) or "=" in key:
        raise ParamsError(f"{key!r}: keys have no '=' and neither keys nor values have line breaks")
    if not key.strip():
        raise ParamsError("the key is empty")
    category = classify_key(key.strip())[0]
    line = f"{key.strip()}={value}"
    if category in ("other", "unknown"):
        return [line], []
    params, findings = parse_with_findings(line, "<new value>")
    errors = [f for f in findings if f.severity == ERROR]
    if errors:
        raise ParamsError(f"refusing {line!r}: {errors[0].message.replace(' (kept as it is)', '')}")
    return format_lines(params, always_people=False) or (
        [f"{canonical_key(key)}="] if category == "fixed" else []
    ), findings


def set_param(text: str, key: str, value: str) -> tuple[str, list[Finding]]:
    """Set ``key`` to ``value``: the first line of that key is replaced, later ones removed.

    A new key goes after the last ``lms_*`` line (``lms_*`` keys) or at the end.
    """
    lines, end, trailing = _lines_of(text)
    ckey = canonical_key(key)
    new, findings = _new_lines(key, value)
    positions = [i for i, line in enumerate(lines) if _key_of(line) == ckey]
    if positions:
        first = positions[0]
        kept = [line for i, line in enumerate(lines) if i not in positions[1:]]
        kept[first : first + 1] = new
        return _join(kept, end, trailing), findings
    insert_at = len(lines)
    if ckey.startswith(PREFIX):
        rank = _rank(ckey)
        before = [i for i, line in enumerate(lines) if _rank(_key_of(line)) <= rank]
        insert_at = before[-1] + 1 if before else 0
    lines[insert_at:insert_at] = new
    return _join(lines, end, trailing), findings


def unset_param(text: str, key: str) -> tuple[str, list[Finding]]:
    """Remove every line of ``key``; ParamsError when there is none."""
    lines, end, trailing = _lines_of(text)
    ckey = canonical_key(key)
    kept = [line for line in lines if _key_of(line) != ckey]
    if len(kept) == len(lines):
        raise ParamsError(f"there is no {ckey} to remove")
    return _join(kept, end, trailing), []


def _check_volume(kind: str, name: str) -> None:
    if kind not in tuple(VolumeKind):
        raise ParamsError(f"volume kind {kind!r} is not one of {', '.join(VolumeKind)}")
    if not NAME_RE.fullmatch(name):
        raise ParamsError(f"volume NAME {name!r} must be lowercase letters a-z and digits only")


def add_volume(
    text: str, kind: str, name: str, access: str, users: list[str] | tuple[str, ...] | None = None
) -> tuple[str, list[Finding]]:
    """Add ``lms_<kind>_<name>=<access>[:users]`` after the last volume of that kind (or of any kind).

    Refuses an existing (kind, NAME), an empty access name and anything the
    parser would have to change (white space, ``/``, forbidden characters).
    """
    _check_volume(kind, name)
    if not access or re.search(r"[\s/:]", access):
        raise ParamsError(f"access name {access!r} must be non-empty, without white space, '/' or ':'")
    key = f"{PREFIX}{kind}_{name}"
    lines, end, trailing = _lines_of(text)
    keys = [_key_of(line) for line in lines]
    if key in keys:
        raise ParamsError(f"{key} already exists; use 'set' to change it")
    value = access if not users else f"{access}:{','.join(users)}"
    new, findings = _new_lines(key, value)
    if findings:
        raise ParamsError(f"refusing {key}={value!r}: {findings[0].message}")

    def is_volume(k: str | None, kinds: tuple[str, ...]) -> bool:
        return k is not None and any(k.startswith(f"{PREFIX}{x}_") and not k.endswith(CLOSE_SUFFIX) for x in kinds)

    same = [i for i, k in enumerate(keys) if is_volume(k, (kind,))]
    anyv = [i for i, k in enumerate(keys) if is_volume(k, tuple(VolumeKind))]
    lms = [i for i, k in enumerate(keys) if (k or "").startswith(PREFIX)]
    insert_at = (same or anyv or lms or [len(lines) - 1])[-1] + 1
    lines[insert_at:insert_at] = new
    return _join(lines, end, trailing), findings


def remove_volume(text: str, kind: str, name: str, *, keep_close: bool = False) -> tuple[str, list[Finding]]:
    """Remove ``lms_<kind>_<name>`` (and, for a submit volume, its closing time unless ``keep_close``)."""
    _check_volume(kind, name)
    key = f"{PREFIX}{kind}_{name}"
    lines, end, trailing = _lines_of(text)
    drop = {key}
    if kind == VolumeKind.SUBMIT and not keep_close:
        drop.add(key + CLOSE_SUFFIX)
    kept = [line for line in lines if _key_of(line) not in drop]
    if not any(_key_of(line) == key for line in lines):
        raise ParamsError(f"there is no {key} to remove")
    return _join(kept, end, trailing), []


def edit_params_file(
    path: str | os.PathLike[str],
    edit: Callable[..., tuple[str, list[Finding]]],
    *args: object,
    storage: StorageLimit | None = None,
    **kwargs: object,
) -> list[Finding]:
    """Apply one of the edits above to a file, atomically; nothing is written when the edit fails.

    With ``storage`` the result is measured as the LMS stores it (SPEC 10) and its length finding is
    returned last. An edit whose result does not fit the column and is not shorter than the text
    was is refused with :class:`~ipynb_tools.params.storage.StoredLengthError` (nothing written);
    an edit that shortens a text that is over the column is made (it helps) and the error finding
    says how much is still over.
    """
    text = read_params_text(path)
    new_text, findings = edit(text, *args, **kwargs)
    if storage is not None:
        findings = findings + storage.check_change(text, new_text, os.fspath(path))
    if new_text != text:
        remove_stale_temps(os.path.dirname(os.path.abspath(path)))  # an earlier edit killed mid-write
        atomic_write_text(path, new_text)
    return findings
