"""Names: the submitting user's name and its checks, the name formats, the submission's file name."""

from __future__ import annotations

import os
import re
import string
import unicodedata
from collections.abc import Mapping

from ..environ import NB_USER
from ..errors import shown
from ..i18n import _
from ..notebook import NOTEBOOK_SUFFIX, is_utf8_name
from ..usernames import user_name_problem
from .environment import _environ, _os_user
from .errors import BadNameError

#: Name formats; placeholders {stem} {user} {suffix} {name}. The default puts the user last.
SUFFIX_FORMAT = "{stem}_{user}{suffix}"
PREFIX_FORMAT = "{user}_{stem}{suffix}"
NAME_FORMATS = {"suffix": SUFFIX_FORMAT, "prefix": PREFIX_FORMAT}
DEFAULT_NAME_FORMAT = SUFFIX_FORMAT
#: Environment variable of the name format.
ENV_NAME_FORMAT = "IPYNB_SUBMIT_NAME_FORMAT"
NAME_MAX = 255
#: A fallback name is the submission name with ``~`` and 16 random hex digits before ``.ipynb``
#: (``kadai-1_carol~3f9a0c4e1b2d7a65.ipynb``): used when another user's file, link or directory
#: holds the submission name (squatting, issue 12 item 6). Nobody can predict or pre-empt it;
#: grading reads the user from the record and the owner, and this marker off the name.
FALLBACK_MARK = re.compile(r"~[0-9a-f]{16}$")


def fallback_name(name: str) -> str:
    """``kadai-1_carol.ipynb`` -> ``kadai-1_carol~<16 random hex digits>.ipynb`` (a new one at each call)."""
    stem = name[: -len(NOTEBOOK_SUFFIX)] if name.endswith(NOTEBOOK_SUFFIX) else name
    return f"{stem}~{os.urandom(8).hex()}{NOTEBOOK_SUFFIX}"


def is_fallback_of(candidate: str, name: str) -> bool:
    """True when ``candidate`` is a fallback name of the submission name ``name``."""
    stem = name[: -len(NOTEBOOK_SUFFIX)] if name.endswith(NOTEBOOK_SUFFIX) else name
    if not (candidate.endswith(NOTEBOOK_SUFFIX) and candidate.startswith(stem)):
        return False
    return FALLBACK_MARK.fullmatch(candidate[len(stem) : -len(NOTEBOOK_SUFFIX)]) is not None


def without_fallback_mark(stem: str) -> str:
    """A file name stem without the fallback marker (``kadai-1_carol~3f9a...`` -> ``kadai-1_carol``)."""
    return FALLBACK_MARK.sub("", stem)


def current_user(env: Mapping[str, str] | None = None) -> str:
    """``$JUPYTERHUB_USER``, then ``$NB_USER``, then the OS user; checked by :func:`check_user`."""
    e = _environ(env)
    name = e.get("JUPYTERHUB_USER") or e.get(NB_USER) or _os_user()
    return check_user(name)


def check_user(name: str) -> str:
    """Refuse a user name the tools do not accept (the rule of :mod:`ipynb_tools.usernames`)."""
    problem = user_name_problem(name)
    if problem:
        raise BadNameError(
            _("user name %(name)s %(problem)s: it cannot be used in a file name")
            % {"name": shown(name), "problem": problem}
        )
    return name


def name_format_from(name_format: str | None, env: Mapping[str, str] | None = None) -> str:
    """The name format in force: argument, ``$IPYNB_SUBMIT_NAME_FORMAT``, default (suffix)."""
    fmt = name_format or _environ(env).get(ENV_NAME_FORMAT) or DEFAULT_NAME_FORMAT
    return NAME_FORMATS.get(fmt, fmt)


def submission_name(source_name: str, user: str, name_format: str | None = None) -> str:
    """``kadai-1.ipynb`` + ``alice`` -> ``kadai-1_alice.ipynb`` (or as ``name_format`` says).

    The result must be one visible ``.ipynb`` file name that contains the user
    name; anything else (a ``/``, ``..``, a hidden name, a format without
    ``{user}``, a source name that is not valid UTF-8) is refused with :class:`BadNameError`.
    """
    check_user(user)
    fmt = NAME_FORMATS.get(name_format or DEFAULT_NAME_FORMAT, name_format or DEFAULT_NAME_FORMAT)
    base = os.path.basename(source_name)
    if not base.endswith(NOTEBOOK_SUFFIX) or base == NOTEBOOK_SUFFIX:
        raise BadNameError(_("%(name)s: only .ipynb notebooks can be submitted") % {"name": source_name})
    if not is_utf8_name(base):
        raise BadNameError(
            _("%(name)s: the file name is not valid UTF-8; rename the notebook, then submit it")
            % {"name": shown(source_name)}
        )
    fields = {"stem": base[: -len(NOTEBOOK_SUFFIX)], "user": user, "suffix": NOTEBOOK_SUFFIX, "name": base}
    used = set()
    try:
        for _literal, field_name, spec, conv in string.Formatter().parse(fmt):
            if field_name is None:
                continue
            if field_name not in fields or spec or conv:
                raise BadNameError(
                    _("name format %(format)s: use only %(fields)s")
                    % {"format": repr(fmt), "fields": "{stem} {user} {suffix} {name}"}
                )
            used.add(field_name)
    except ValueError as exc:
        raise BadNameError(
            _("name format %(format)s is not valid (%(reason)s)") % {"format": repr(fmt), "reason": exc}
        ) from None
    if "user" not in used:
        raise BadNameError(
            _("name format %(format)s must contain %(field)s (or students would overwrite each other)")
            % {"format": repr(fmt), "field": "{user}"}
        )
    name = unicodedata.normalize("NFC", fmt.format_map(fields))  # one name for NFD (macOS) and NFC text
    if not name.endswith(NOTEBOOK_SUFFIX):
        name += NOTEBOOK_SUFFIX
    if "/" in name or "\0" in name or name in (".", "..") or name.startswith("."):
        raise BadNameError(
            _("submission name %(name)s would not be a visible file in the submit directory") % {"name": repr(name)}
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise BadNameError(_("submission name %(name)s contains control characters") % {"name": repr(name)})
    if len(name.encode("utf-8")) > NAME_MAX:
        raise BadNameError(_("submission name %(name)s is too long for a file name") % {"name": repr(name)})
    return name


def _safe_component(text: str) -> str:
    return re.sub(r"[/\x00-\x1f]", "_", text).lstrip(".") or "_"
