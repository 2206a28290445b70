"""Full-width separators: what a teacher types with the Japanese input method on (issue 12, item 14).

With the input method on, ``lms_vol_answers=解答:ta1,ta2`` comes out as ``解答：ta1,ta2``
(U+FF1A FULLWIDTH COLON). Read literally, the whole value is the access name and the volume has
no user list of its own, so every student mounts the TA-only volume: a typo that widens access.
The rule here: a full-width separator is either **read as its ASCII form** when that can only
narrow who gets what, or **reported**; it never silently widens access.

- ``：`` (U+FF1A) in a volume value is the ``access:users`` separator, like ``:`` (a warning says
  so). Reading it as a separator gives the volume a user list, which only narrows access.
- ``－`` (U+FF0D) at the start of an access name is the teacher-only ``-`` (a warning): the link
  is made for fewer people, never more.
- ``，`` (U+FF0C), ``、`` (U+3001) and the ideographic space (U+3000) already separate user
  lists (:data:`ipynb_tools.params.model.USER_SEPARATORS_RE`).
- ``＝`` (U+FF1D) between key and value is **an error**: Moodle splits lines at ``=`` only and
  drops a line without one, so the entry never reaches the spawner.
- A key typed in full-width (``ｌｍｓ_users``) is one Moodle sends under another name: a warning.
- ``＊`` and other full-width user names are warned about by ``params check`` (they can never match
  a Moodle login; :func:`ipynb_tools.usernames.widened_form`).
"""

from __future__ import annotations

import re
import unicodedata

from ..i18n import N_, Message

FULLWIDTH_COLON = "\uff1a"
FULLWIDTH_EQUALS = "\uff1d"
FULLWIDTH_HYPHEN = "\uff0d"
#: The separator between an access name and its user list: ``:`` or ``：``.
VOLUME_SEPARATOR_RE = re.compile("[:" + FULLWIDTH_COLON + "]")


def split_volume_value(value: str) -> tuple[str, bool, str, list[Message]]:
    """``access[:users]`` split at the first ``:`` or ``：``; (access, has a list, users, notes).

    A leading ``－`` of the access name becomes ``-``. Each note says what was read differently
    from the text (a full-width character read as its ASCII separator).
    """
    notes: list[Message] = []
    parts = VOLUME_SEPARATOR_RE.split(value, maxsplit=1)
    access = parts[0]
    users = parts[1] if len(parts) > 1 else ""
    if len(parts) > 1 and value[len(access)] == FULLWIDTH_COLON:
        notes.append(
            Message(
                N_(
                    "the full-width colon '：' is read as ':' (access name, then the users who may mount it); "
                    "write ':' to say so"
                )
            )
        )
    stripped = access.lstrip()
    if stripped.startswith(FULLWIDTH_HYPHEN):
        access = "-" + stripped[1:]
        notes.append(
            Message(N_("the full-width '－' before the access name is read as '-' (link for teachers only); write '-'"))
        )
    return access, len(parts) > 1, users, notes


def has_fullwidth_equals(line: str) -> bool:
    """True for a line with ``＝`` and no ``=`` (Moodle drops it: it has no ``key=value``)."""
    return "=" not in line and FULLWIDTH_EQUALS in line


def looks_like_lms_key(key: str) -> bool:
    """True when ``key`` becomes an ``lms_`` key once full-width characters are folded (``ｌｍｓ_users``)."""
    return not key.lower().startswith("lms_") and unicodedata.normalize("NFKC", key).lower().startswith("lms_")
