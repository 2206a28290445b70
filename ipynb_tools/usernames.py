"""User names: the one rule for a name the tools accept, and how names are compared.

One rule everywhere (issue 12, item 23): the container specification (spawner and
``container-spec``), ``params mounts``, ``ipynb_submit`` and the server extension accept
exactly the names :func:`user_name_problem` accepts. A user name becomes a Unix login (a
``passwd`` line: no ``:`` or line break), a home directory ``/home/<user>`` (one visible path
component: no ``/``, not ``.``/``..``, no leading ``.``), an argument of ``getent``/``useradd``
(no leading ``-``), and part of a submission's file name (no control characters, at most 255
bytes). Unicode letters (``山田``) and ``@``/``.`` inside (Moodle logins that are e-mail
addresses) are accepted.

Comparison (issue 12, item 15): JupyterHub's ``Authenticator.normalize_username`` lowercases
every login name (``S2024001`` logs in as ``s2024001``), so a name a teacher typed in
``lms_users``/``lms_teachers`` matches a hub user when :func:`normalize_user_name` of both are
equal. Nothing else is folded: a full-width ``Ｓ２０２４００１`` stays what it is (and
``params check`` warns that it can never match a Moodle login).
"""

from __future__ import annotations

import unicodedata

from .i18n import N_, Message

#: Longest user name, in UTF-8 bytes (one file name component: the home directory).
MAX_USER_BYTES = 255
#: Characters a user name never contains besides white space and control characters.
_FORBIDDEN = frozenset("/:\\")


def user_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a user name of the tools (a few words, English), or None when it can."""
    problem = user_name_problem_message(name)
    return None if problem is None else str(problem)


def user_name_problem_message(name: object) -> Message | None:
    """:func:`user_name_problem` as a message to translate where it is shown (the params findings)."""
    if not isinstance(name, str) or not name:
        return Message(N_("is empty"))
    if name in (".", ".."):
        return Message(N_("is not a name"))
    if len(name.encode("utf-8", "surrogatepass")) > MAX_USER_BYTES:
        return Message(N_("is longer than %(most)d bytes"), most=MAX_USER_BYTES)
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") or ch == "\x7f":
            return Message(N_("contains a control character"))
        if ch.isspace():
            return Message(N_("contains white space"))
        if ch in _FORBIDDEN:
            return Message(N_("contains %(char)r"), char=ch)
    if name[0] in "-.":
        return Message(N_("starts with %(char)r"), char=name[0])
    return None


def normalize_user_name(name: str) -> str:
    """The name as JupyterHub keeps it: lower case (``Authenticator.normalize_username``)."""
    return name.lower()


def same_user(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name the same hub user (compared after :func:`normalize_user_name`)."""
    return normalize_user_name(a) == normalize_user_name(b)


def in_user_list(user: str, users: tuple[str, ...] | list[str]) -> bool:
    """True when ``users`` has ``*`` or a name that :func:`same_user` as ``user`` (SPEC 4 user lists)."""
    wanted = normalize_user_name(user)
    return any(u == "*" or normalize_user_name(u) == wanted for u in users)


def widened_form(name: str) -> str | None:
    """The name with full-width (and other compatibility) characters folded, when that changes it.

    ``Ｓ２０２４００１`` -> ``S2024001``; None when NFKC leaves the name as it is. Used to say
    "did you mean" about names typed with a Japanese input method on.
    """
    folded = unicodedata.normalize("NFKC", name)
    return folded if folded != name else None
