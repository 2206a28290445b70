"""Is a hand-in what it claims to be? The submission record checked against the file (issue 12, item 5).

A student can write any file into the 3777 submit volume, record included: the record is a
claim. What a student cannot forge is the file's owner (only root chowns) and, for the close,
its change time (``ctime``: ``touch -d`` sets the modification time, never the change time).
So a hand-in by an untrusted owner (anyone but root and the grader) is checked:

- the record's ``uid`` (``ipynb_submit`` writes its own) against the owner;
- the claimed user against the owner's account, where this machine knows either name
  (``pwd``), and against the other hand-ins: one user handed in from two accounts, when one of
  them also hands in as someone else, is that someone else's forgery;
- ``submitted_at`` against the modification time (the record cannot be later than the file,
  nor much earlier), and both the record and the file against the close time.

Every mismatch is reported; a hand-in with any is never graded as its claimed user (the
teacher reads the lines and decides). Files owned by root or by the grader (copies the teacher
made, the demo) are taken at their word: a student cannot make one. See docs/threat-model.md.
"""

from __future__ import annotations

import os
import pwd
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..environ.closing import is_past_close
from ..usernames import same_user

#: ``ipynb_submit`` takes ``submitted_at`` just before it writes: the file may be this much later
#: (a large notebook on a slow disk) and never earlier than the record, but for this clock slack.
WRITE_SECONDS = 600.0
CLOCK_SLACK = 2.0


@dataclass(frozen=True)
class FileFacts:
    """What the file system says about a hand-in (``lstat``): owner uid, modification and change time."""

    uid: int
    mtime: float
    ctime: float

    @classmethod
    def of(cls, path: Path) -> FileFacts:
        st = os.lstat(path)
        return cls(st.st_uid, st.st_mtime, st.st_ctime)


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time of a record (``Z`` or an offset; naive means UTC), or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def account_name(uid: int) -> str | None:
    """The login of ``uid`` on this machine, or None."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def account_uid(user: str) -> int | None:
    """The uid of login ``user`` on this machine, or None."""
    try:
        return pwd.getpwnam(user).pw_uid
    except (KeyError, ValueError):
        return None


def owner_text(uid: int) -> str:
    name = account_name(uid)
    return f"uid {uid} ({name})" if name else f"uid {uid}"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Claim:
    """One hand-in as read: the user it claims, its record's uid and times, the file's facts."""

    key: object
    user: str
    record_uid: int | None
    submitted_at: str | None
    facts: FileFacts


def trusted_owners() -> set[int]:
    """Owners whose files are taken at their word: root and the account that grades."""
    return {0, os.geteuid()}


def mismatches(
    claims: list[Claim],
    *,
    close_time: float | None = None,
    accounts: Mapping[str, int] | None = None,
    trusted: set[int] | None = None,
) -> dict[object, list[str]]:
    """key -> every way the hand-in does not match its file (only keys with at least one).

    ``accounts`` maps user names to uids where the caller knows them (default: this machine's
    ``pwd``); ``trusted`` owners are not checked (default :func:`trusted_owners`).
    """
    trusted = trusted_owners() if trusted is None else trusted
    found: dict[object, list[str]] = defaultdict(list)
    checked = [c for c in claims if c.facts.uid not in trusted]
    users_of: dict[int, set[str]] = defaultdict(set)
    owners_of: dict[str, set[int]] = defaultdict(set)
    for c in checked:
        users_of[c.facts.uid].add(c.user)
        owners_of[c.user].add(c.facts.uid)
    for c in checked:
        owner = c.facts.uid
        if c.record_uid is not None and c.record_uid != owner:
            found[c.key].append(f"its record says uid {c.record_uid}, but the file belongs to {owner_text(owner)}")
        expected = accounts.get(c.user) if accounts is not None else account_uid(c.user)
        name = account_name(owner) if accounts is None else next((u for u, i in accounts.items() if i == owner), None)
        if expected is not None and expected != owner:
            found[c.key].append(f"{c.user} is uid {expected}, but the file belongs to {owner_text(owner)}")
        elif expected is None and name is not None and not same_user(name, c.user):
            found[c.key].append(f"it claims {c.user}, but the file belongs to {owner_text(owner)}")
        elif expected is None and name is None and len(owners_of[c.user]) > 1:
            others = sorted(users_of[owner] - {c.user})
            if others:
                found[c.key].append(
                    f"{owner_text(owner)} also hands in as {', '.join(others)}, and {c.user} hands in from "
                    f"{len(owners_of[c.user])} accounts"
                )
            elif all(users_of[o] == {c.user} for o in owners_of[c.user]):
                accounts_text = ", ".join(owner_text(o) for o in sorted(owners_of[c.user]))
                found[c.key].append(
                    f"{c.user} hands in from {len(owners_of[c.user])} accounts ({accounts_text}); "
                    f"which one is {c.user} is unknown here"
                )
        recorded = parse_time(c.submitted_at)
        if c.submitted_at and recorded is None:
            found[c.key].append(f"its record's time {c.submitted_at!r} cannot be read")
        if recorded is not None:
            at = recorded.timestamp()
            if at > c.facts.mtime + CLOCK_SLACK:
                found[c.key].append(
                    f"its record says handed in at {_when(at)}, after the file was written ({_when(c.facts.mtime)})"
                )
            elif c.facts.mtime - at > WRITE_SECONDS:
                found[c.key].append(
                    f"its record says handed in at {_when(at)}, but the file was written at {_when(c.facts.mtime)}"
                )
            if close_time is not None and is_past_close(close_time, at):
                found[c.key].append(f"its record says handed in at {_when(at)}, after the close ({_when(close_time)})")
        written = max(c.facts.mtime, c.facts.ctime)
        if (
            close_time is not None
            and is_past_close(close_time, written)
            and (recorded is None or not is_past_close(close_time, recorded.timestamp()))
        ):
            found[c.key].append(f"the file was written at {_when(written)}, after the close ({_when(close_time)})")
    return dict(found)
