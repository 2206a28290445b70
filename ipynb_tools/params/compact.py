"""The compact text: the shortest parameter text with the same meaning (``params format --compact``).

Moodle keeps the whole custom parameter text in a ``varchar(255)`` column (SPEC 10), so every
character a teacher does not need is one a volume cannot use. :func:`compact_text` writes a
:class:`~ipynb_tools.params.model.Params` in the old module's order (like
:func:`~ipynb_tools.params.text.format_params`) but leaves out what changes nothing:

- keys whose value is the default: an empty ``lms_users`` or ``lms_teachers`` (empty means nobody,
  as when the key is absent), ``lms_image`` empty or ``default`` (the site default either way), an
  empty ``lms_defurl`` (the spawner uses the site default for both);
- the old module's optional keys when they are empty: the reserved ``lms_options``,
  ``lms_cpugrnt``, ``lms_memgrnt``, and ``lms_userid``, ``lms_grpid``, ``lms_grpname``, which older
  versions of mod_lticontainer wrote on every save, empty, and nothing reads;
- white space and repeats in user lists (``a, b, a`` is ``a,b``; a list holding ``*`` is ``*``,
  which already means everyone, SPEC 4), and the separators the old form wrote in numbers
  (``1,073,741,824`` is ``1073741824``; ``lms_cpulimit=1.0`` is ``1``);
- volume entries given again later in the text (the last one is the one used, SPEC 4), blank lines,
  and the line end after the last line (the old module trims its text too).

What is kept exactly: the automatic keys (the LMS rewrites them on every save, and their length is
what the LMS will store), closing times, every line the parser keeps as it is (parameters that are
not ``lms_*``, unknown ``lms_*`` keys, values that could not be read), and the order of volumes.
Numbers stay plain digits (no ``2G``): the old module's form and spawner read digits only.

The meaning that is preserved is what :mod:`ipynb_tools.params.rules` and the spawner read: for every
user and role the same mounts, links and closing states, the same image, limits and default URL.
"""

from __future__ import annotations

from .model import RESERVED_KEYS, Params
from .text import LINE_END, LineStyle, format_lines, parse

__all__ = ["OLD_OPTIONAL_KEYS", "compact", "compact_lines", "compact_text"]

#: Keys the old module (mod_lticontainer's ``lticontainer_join_custom_params``) wrote on every save
#: even when empty and that mean nothing when empty: dropped from the compact text when empty.
#: ``lms_userid``, ``lms_grpid`` and ``lms_grpname`` are from its older versions; this project does
#: not interpret them, so a non-empty one is kept like any unknown ``lms_*`` line.
OLD_OPTIONAL_KEYS: tuple[str, ...] = (*RESERVED_KEYS, "lms_userid", "lms_grpid", "lms_grpname")


def _users(users: tuple[str, ...]) -> str:
    """A user list written shortest: ``*`` alone when it holds ``*``, else each name once, in order."""
    if "*" in users:
        return "*"
    return ",".join(dict.fromkeys(users))


def _cpu(value: float) -> str:
    """``1`` for 1.0, ``0`` for 0.0 (no limit), ``0.5`` for 0.5: the shortest form the readers agree on."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def _empty_optional(line: str) -> bool:
    key, sep, value = line.partition("=")
    return bool(sep) and key.strip().lower() in OLD_OPTIONAL_KEYS and not value.strip()


#: The shortest style with the same meaning (see the module doc), in :func:`format_lines`' order.
COMPACT = LineStyle(
    users=_users,
    cpu=_cpu,
    default_image=False,
    empty_defurl=False,
    effective_volumes=True,
    empty_reserved=False,
    keep_line=lambda line: not _empty_optional(line),
)


def compact_lines(params: Params) -> list[str]:
    """The ``key=value`` lines of the compact text, in the old module's order (see the module doc).

    Raises :class:`~ipynb_tools.params.model.ParamsError` when ``params`` holds something its text
    cannot say (as :func:`~ipynb_tools.params.text.format_params` does).
    """
    return format_lines(params, always_people=False, style=COMPACT)


def compact_text(params: Params, *, line_end: str = LINE_END) -> str:
    """The compact text: :func:`compact_lines` joined by ``line_end`` (CRLF, as Moodle stores it),
    with no line end after the last line; the empty string for a set with nothing to say."""
    return line_end.join(compact_lines(params))


def compact(text: str, source: str = "<params>") -> str:
    """The compact text of a parameter text (parsed leniently, as :func:`~ipynb_tools.params.text.parse`)."""
    return compact_text(parse(text, source))
