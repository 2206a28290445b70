"""The text form of custom parameters: parse any line ending, write the old module's canonical text.

Parsing is lenient like the old module (it never refuses a text): every
sanitising step and every value it cannot read becomes a :class:`Finding`, and
lines it does not interpret are kept exactly. :func:`parse` with
``strict=True`` raises :class:`ParamsError` on the first error instead.

Writing produces the old module's order -- users, teachers, image, CPU,
memory, activity limit, default URL, closing times, volumes, iframe, automatic
keys, reserved keys, then every other line in its original order -- one
``key=value`` per line, each ending in ``\\r\\n``.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..atomic import atomic_write_text
from ..errors import os_reason
from ..i18n import N_
from ..volumes.naming import NAME_RE, VolumeKind
from .findings import ERROR, INFO, WARNING, Finding
from .fullwidth import has_fullwidth_equals, looks_like_lms_key, split_volume_value
from .model import (
    AUTOMATIC_KEYS,
    CLOSE_SUFFIX,
    FIXED_KEYS,
    KEY_ACTLIMIT,
    KEY_CPULIMIT,
    KEY_DEFURL,
    KEY_IFRAME,
    KEY_IMAGE,
    KEY_MEMLIMIT,
    KEY_TEACHERS,
    KEY_USERS,
    PREFIX,
    RESERVED_KEYS,
    Params,
    ParamsError,
    VolumeParam,
    attribute_of,
    is_clean_value,
    is_user_token,
    split_users,
    strip_forbidden,
)
from .values import BadValue, parse_bool, parse_cpu, parse_image, parse_memory, parse_seconds, parse_time

LINE_END = "\r\n"
LINE_SPLIT_RE = re.compile(r"\r\n|\r|\n")
#: Largest parameter file read (Moodle stores custom parameters in a TEXT column; they are small).
MAX_BYTES = 1024 * 1024


def _text(value: str) -> str:
    return value


_READERS: dict[str, Callable[[str], object]] = {
    KEY_USERS: split_users,
    KEY_TEACHERS: split_users,
    KEY_IMAGE: parse_image,
    KEY_DEFURL: _text,
    KEY_CPULIMIT: parse_cpu,
    KEY_MEMLIMIT: parse_memory,
    KEY_ACTLIMIT: parse_seconds,
    KEY_IFRAME: parse_bool,
    **dict.fromkeys(AUTOMATIC_KEYS + RESERVED_KEYS, _text),
}

#: Keys whose empty value means "not set" (the site default), as in the old module's form.
_EMPTY_IS_DEFAULT = frozenset({KEY_CPULIMIT, KEY_MEMLIMIT, KEY_ACTLIMIT, KEY_IFRAME})

# -- keys ---------------------------------------------------------------------------------


def sanitize_name(name: str) -> str:
    """NAME lowercased with everything but ``a-z0-9`` removed."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def classify_key(key: str) -> tuple[str, str, str, str]:
    """Classify a stripped key.

    Returns ``(category, canonical key, kind, raw NAME)`` where category is
    ``fixed``, ``volume``, ``close``, ``unknown`` (an ``lms_*`` key we do not
    know) or ``other`` (not ``lms_*``). For ``volume``/``close`` the canonical
    key has the sanitised NAME (possibly empty).
    """
    lowered = key.lower()
    if not lowered.startswith(PREFIX):
        return "other", key, "", ""
    if lowered in FIXED_KEYS:
        return "fixed", lowered, "", ""
    for kind in VolumeKind:
        prefix = f"{PREFIX}{kind}_"
        if lowered.startswith(prefix):
            raw_name = key[len(prefix) :] if key[: len(prefix)].lower() == prefix else lowered[len(prefix) :]
            if kind is VolumeKind.SUBMIT and raw_name.lower().endswith(CLOSE_SUFFIX):
                raw_name = raw_name[: -len(CLOSE_SUFFIX)]
                return "close", f"{prefix}{sanitize_name(raw_name)}{CLOSE_SUFFIX}", kind, raw_name
            return "volume", f"{prefix}{sanitize_name(raw_name)}", kind, raw_name
    return "unknown", key, "", ""


def canonical_key(key: str) -> str:
    """The key a line is matched by when editing: lowercased ``lms_*`` with a sanitised NAME."""
    return classify_key(key.strip())[1]


def split_lines(text: str) -> list[str]:
    """Split at ``\\r\\n``, ``\\n`` or ``\\r`` (only those: other separators stay inside a line)."""
    return LINE_SPLIT_RE.split(text)


# -- parsing ------------------------------------------------------------------------------


def parse_with_findings(text: str, source: str = "<params>") -> tuple[Params, list[Finding]]:
    """Parse ``text``; return the model and what parsing noticed (sanitising, unreadable values ...)."""
    if not isinstance(text, str):
        raise ParamsError(f"parameters must be text, not {type(text).__name__}", source=source)
    if text.startswith("\ufeff"):
        text = text[1:]
    return _parse_lines(enumerate(split_lines(text), 1))


def _parse_lines(numbered: Iterable[tuple[int, str]]) -> tuple[Params, list[Finding]]:
    params = Params()
    findings: list[Finding] = []
    seen: dict[str, int] = {}

    def note(severity: str, lineno: int, key: str | None, msgid: str, /, **args: object) -> None:
        findings.append(Finding.of(severity, lineno, key, msgid, **args))

    def again(lineno: int, key: str) -> None:
        if key in seen:
            note(
                WARNING,
                lineno,
                key,
                N_("%(key)s is given again (first on line %(first)d); this line wins"),
                key=key,
                first=seen[key],
            )
        else:
            seen[key] = lineno

    for lineno, raw in numbered:
        if not raw.strip():
            continue
        raw_key, sep, raw_value = raw.partition("=")
        key = raw_key.strip()
        category, ckey, kind, raw_name = classify_key(key)
        if not sep and has_fullwidth_equals(raw) and (category != "other" or looks_like_lms_key(raw)):
            params.others.append(raw)
            note(ERROR, lineno, None, N_("the full-width '＝' is not '=': Moodle ignores this line; write '='"))
            continue
        if category == "other":
            params.others.append(raw)
            if not sep:
                note(INFO, lineno, None, N_("not a key=value line (Moodle ignores it); kept as it is"))
            elif looks_like_lms_key(key):
                note(
                    WARNING,
                    lineno,
                    None,
                    N_("key %(key)r has full-width characters: it is not an lms_ key; kept as it is"),
                    key=key,
                )
            continue
        if not sep:
            params.others.append(raw)
            note(WARNING, lineno, ckey, N_("%(key)r has no '=' (Moodle ignores this line); kept as it is"), key=key)
            continue
        if category == "unknown":
            params.others.append(raw)
            close = difflib.get_close_matches(key.lower(), FIXED_KEYS, n=1, cutoff=0.75)
            if close:
                note(
                    WARNING,
                    lineno,
                    key,
                    N_("unknown key %(key)r; did you mean %(meant)s? (kept as it is)"),
                    key=key,
                    meant=close[0],
                )
            else:
                note(WARNING, lineno, key, N_("unknown key %(key)r (kept as it is)"), key=key)
            continue

        value, removed = strip_forbidden(raw_value)
        value = value.strip()
        if removed:
            shown = "".join(sorted(set(removed))).encode("unicode_escape").decode("ascii")
            note(
                WARNING,
                lineno,
                ckey,
                N_("removed forbidden characters %(chars)r from the value of %(key)s"),
                chars=shown,
                key=ckey,
            )
        if category == "fixed" and key != ckey:
            note(INFO, lineno, ckey, N_("key %(key)r read as %(read)s"), key=key, read=ckey)

        if category == "fixed":
            try:
                typed = None if value == "" and ckey in _EMPTY_IS_DEFAULT else _READERS[ckey](value)
            except BadValue as exc:
                params.others.append(f"{ckey}={value}")
                note(ERROR, lineno, ckey, N_("%(key)s: %(problem)s (kept as it is)"), key=ckey, problem=exc.message)
                continue
            again(lineno, ckey)
            setattr(params, attribute_of(ckey), typed)
            params.line_numbers[ckey] = lineno
            continue

        name = sanitize_name(raw_name)
        what = f"{PREFIX}{kind}_{raw_name}" + (CLOSE_SUFFIX if category == "close" else "")
        if not name:
            params.others.append(f"{key}={value}")
            note(
                ERROR,
                lineno,
                key,
                N_("%(key)s: NAME %(name)r has no letters a-z or digits (kept as it is)"),
                key=what,
                name=raw_name,
            )
            continue
        if name != raw_name:
            note(
                WARNING,
                lineno,
                ckey,
                N_("NAME %(name)r may only have a-z and 0-9; read as %(read)r (%(key)s)"),
                name=raw_name,
                read=name,
                key=ckey,
            )

        if category == "close":
            try:
                when = parse_time(value)
            except BadValue as exc:
                params.others.append(f"{key}={value}")
                note(
                    ERROR,
                    lineno,
                    ckey,
                    N_("%(key)s: closing %(problem)s (kept as it is)"),
                    key=ckey,
                    problem=exc.message,
                )
                continue
            again(lineno, ckey)
            params.closes[name] = when
            params.line_numbers[ckey] = lineno
            continue

        access_raw, colon, users_raw, read_as = split_volume_value(value)
        for what_was_read in read_as:
            note(WARNING, lineno, ckey, N_("%(key)s: %(note)s"), key=ckey, note=what_was_read)
        access = access_raw.strip()
        if "/" in access:
            access = access.replace("/", "")
            note(
                WARNING,
                lineno,
                ckey,
                N_("removed '/' from the access name of %(key)s: now %(access)r"),
                key=ckey,
                access=access,
            )
        if any(ch.isspace() for ch in access):
            access = re.sub(r"\s+", "_", access)
            note(
                WARNING,
                lineno,
                ckey,
                N_("white space in the access name of %(key)s became '_': now %(access)r"),
                key=ckey,
                access=access,
            )
        if not access:
            note(INFO, lineno, ckey, N_("%(key)s has no access name: the entry is removed"), key=ckey)
            continue
        users = split_users(users_raw) if colon else ()
        again(lineno, ckey)
        params.volumes.append(VolumeParam(VolumeKind(kind), name, access, users or None))
        params.line_numbers[ckey] = lineno
    return params, findings


def parse(text: str, source: str = "<params>", *, strict: bool = False) -> Params:
    """Parse custom parameter text (any line ending).

    Never raises for a ``str`` (the old module accepted anything); with
    ``strict`` the first error finding raises :class:`ParamsError` naming
    ``source`` and the line.
    """
    params, findings = parse_with_findings(text, source)
    if strict:
        for finding in findings:
            if finding.severity == ERROR:
                raise ParamsError(finding.message, source=source, line=finding.line)
    return params


# -- writing ------------------------------------------------------------------------------


def _is_kept_line(line: str) -> bool:
    """True when ``line`` is one the parser keeps exactly in ``others`` (so writing it is safe)."""
    if not isinstance(line, str) or not line.strip() or LINE_SPLIT_RE.search(line):
        return False
    reparsed, _ = _parse_lines([(1, line)])
    return reparsed == Params(others=[line])


def check_params(params: Params) -> None:
    """Raise :class:`ParamsError` when ``params`` holds something its text cannot say.

    Guarantees that ``parse(format_params(params)) == params``.
    """

    def bad(key: str, problem: str) -> ParamsError:
        return ParamsError(f"{key}: {problem}", source="<model>")

    for key in (KEY_USERS, KEY_TEACHERS):
        users = params.fixed_value(key)
        if not isinstance(users, tuple):
            raise bad(key, "must be a tuple of user names")
        for user in users:
            if not isinstance(user, str) or not is_user_token(user):
                raise bad(key, f"{user!r} is not a single user name")
    for key in (KEY_IMAGE, KEY_DEFURL, *AUTOMATIC_KEYS, *RESERVED_KEYS):
        value = params.fixed_value(key)
        if value is not None and (not isinstance(value, str) or not is_clean_value(value)):
            raise bad(key, f"{value!r} has forbidden characters or surrounding white space")
    cpu = params.cpulimit
    if cpu is not None and (
        isinstance(cpu, bool) or not isinstance(cpu, (int, float)) or cpu != cpu or cpu in (float("inf"), float("-inf"))
    ):
        raise bad(KEY_CPULIMIT, f"{cpu!r} is not a finite number")
    for key in (KEY_MEMLIMIT, KEY_ACTLIMIT):
        number = params.fixed_value(key)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 0):
            raise bad(key, f"{number!r} is not a whole number >= 0")
    if params.iframe is not None and not isinstance(params.iframe, bool):
        raise bad(KEY_IFRAME, f"{params.iframe!r} is not True or False")
    for name, when in params.closes.items():
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise bad(f"lms_sub_{name}_close", "NAME must be lowercase letters and digits only")
        if isinstance(when, bool) or not isinstance(when, int) or when < 0:
            raise bad(f"lms_sub_{name}_close", f"{when!r} is not a unix time")
    for volume in params.volumes:
        if not isinstance(volume, VolumeParam):
            raise bad("volumes", f"{volume!r} is not a VolumeParam")
    for line in params.others:
        if not _is_kept_line(line):
            raise bad("others", f"{line!r} is not a line the parser would keep as it is")


@dataclass(frozen=True)
class LineStyle:
    """How :func:`format_lines` writes each value; the ORDER of the lines is not a style: it is the
    old module's, and lives only in :func:`format_lines`. :data:`CANONICAL` writes everything the set
    holds; :mod:`ipynb_tools.params.compact` has the shortest style with the same meaning."""

    #: A user list (``lms_users``, ``lms_teachers``, a volume's users) as text.
    users: Callable[[tuple[str, ...]], str] = ",".join
    #: ``lms_cpulimit``'s value as text.
    cpu: Callable[[float], str] = lambda value: repr(float(value))
    #: Write ``lms_image`` when it names the site default (``default``) too.
    default_image: bool = True
    #: Write an empty ``lms_defurl``.
    empty_defurl: bool = True
    #: Write only the volume entries in force (a later entry for a volume replaces an earlier one).
    effective_volumes: bool = False
    #: Write reserved keys (``lms_options``, ``lms_cpugrnt``, ``lms_memgrnt``) that are empty.
    empty_reserved: bool = True
    #: Which lines the set keeps as they are (unknown keys, non-``lms_`` lines) are written.
    keep_line: Callable[[str], bool] = lambda line: True


CANONICAL = LineStyle()


def format_lines(params: Params, *, always_people: bool = True, style: LineStyle = CANONICAL) -> list[str]:
    """The ``key=value`` lines in the old module's order (users and teachers always, unless
    ``always_people`` is false), each value written as ``style`` says."""
    check_params(params)
    lines: list[str] = []
    if always_people or params.users:
        lines.append(f"{KEY_USERS}={style.users(params.users)}")
    if always_people or params.teachers:
        lines.append(f"{KEY_TEACHERS}={style.users(params.teachers)}")
    if (params.image if style.default_image else params.effective_image) is not None:
        lines.append(f"{KEY_IMAGE}={params.image}")
    if params.cpulimit is not None:
        lines.append(f"{KEY_CPULIMIT}={style.cpu(params.cpulimit)}")
    if params.memlimit is not None:
        lines.append(f"{KEY_MEMLIMIT}={params.memlimit}")
    if params.actlimit is not None:
        lines.append(f"{KEY_ACTLIMIT}={params.actlimit}")
    if params.defurl is not None and (style.empty_defurl or params.defurl):
        lines.append(f"{KEY_DEFURL}={params.defurl}")
    for name, when in params.closes.items():
        lines.append(f"{PREFIX}sub_{name}{CLOSE_SUFFIX}={when}")
    if style.effective_volumes:
        for volume in params.effective_volumes():
            value = volume.access if volume.users is None else f"{volume.access}:{style.users(volume.users)}"
            lines.append(f"{volume.key}={value}")
    else:
        lines.extend(f"{volume.key}={volume.value}" for volume in params.volumes)
    if params.iframe is not None:
        lines.append(f"{KEY_IFRAME}={'1' if params.iframe else '0'}")
    for key in AUTOMATIC_KEYS + RESERVED_KEYS:
        value = params.fixed_value(key)
        if value is not None and (style.empty_reserved or value or key not in RESERVED_KEYS):
            lines.append(f"{key}={value}")
    lines.extend(line for line in params.others if style.keep_line(line))
    return lines


def format_params(params: Params) -> str:
    """The canonical text: the old module's order, every line ending in ``\\r\\n``."""
    return "".join(line + LINE_END for line in format_lines(params))


# -- files --------------------------------------------------------------------------------


def decode_params(data: bytes, source: str) -> str:
    """UTF-8 text of a parameter file (a BOM is dropped); one-line error naming the line otherwise."""
    if len(data) > MAX_BYTES:
        raise ParamsError(f"is larger than {MAX_BYTES} bytes; not a custom parameter file", source=source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = len(split_lines(data[: exc.start].decode("utf-8", "replace")))
        raise ParamsError(f"is not UTF-8 text (byte {exc.start})", source=source, line=line) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_params_text(path: str | os.PathLike[str]) -> str:
    """The text of a parameter file: a regular file, opened without blocking.

    A FIFO, a device or a directory is refused at once (``ParamsError``) instead of
    waiting for a writer that never comes (issue 12, item 22).
    """
    source = os.fspath(path)
    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except IsADirectoryError:
        raise ParamsError("is a directory", source=source) from None
    except OSError as exc:
        raise ParamsError(f"cannot read ({os_reason(exc)})", source=source) from None
    try:
        kind = stat.S_IFMT(os.fstat(fd).st_mode)
        if kind == stat.S_IFDIR:
            raise ParamsError("is a directory", source=source)
        if kind != stat.S_IFREG:
            raise ParamsError("is not a regular file (a FIFO, socket or device); nothing was read", source=source)
        chunks = []
        size = 0
        while size <= MAX_BYTES and (chunk := os.read(fd, MAX_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ParamsError(f"cannot read ({os_reason(exc)})", source=source) from None
    finally:
        os.close(fd)
    return decode_params(b"".join(chunks), source)


def read_params_file(path: str | os.PathLike[str]) -> Params:
    """Read and parse a parameter file."""
    return parse(read_params_text(path), os.fspath(path))


def write_params_file(path: str | os.PathLike[str], params: Params) -> None:
    """Write the canonical text atomically (the old file stays whole if anything fails)."""
    atomic_write_text(path, format_params(params))
