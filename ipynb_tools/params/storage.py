"""How long a parameter text is once the LMS stores it, against the column that holds it (SPEC 10).

Moodle keeps an LTI activity's custom parameters in ``<prefix>lti.instructorcustomparameters``,
which its schema declared ``char(255)`` up to Moodle 3.10 (``mod_lti``'s upgrade step 2021052501,
in 3.11, changed it to ``text``; a site may also have widened it by hand): there PostgreSQL refuses a
longer text ("value too long"), MariaDB/MySQL outside strict mode silently cut it, and a course
loses the volumes and teachers that were at the end. The default is that 255, the safe choice for a
site that does not say; a site on Moodle 3.11 or later sets ``--column-size text`` or
``IPYNB_TOOLS_PARAMS_COLUMN_SIZE=text`` (the LMS adapter reads the real column from the database).
This module counts a text the way the LMS stores it and says, before anyone pastes it, whether it
fits:

- **characters, not bytes**: ``varchar(n)`` counts characters (Unicode code points) in PostgreSQL
  and in MariaDB/MySQL with ``utf8mb4``, so ``課題1提出用`` is 6, not 16 (``unit="bytes"`` counts
  UTF-8 bytes, for a MySQL ``TEXT`` column, whose limit is in bytes);
- **CRLF line ends**: Moodle's form (a browser textarea) and the old module store every line end as
  ``\\r\\n``, two characters, whatever the file used; blank lines count too; a line end after the
  last line counts when the text has one;
- **the automatic keys** the LMS adds on every save (:data:`AUTOMATIC_STORED_KEYS`): with the value
  the caller gives (the LMS adapter knows the real ones), else the value already in the text, else a
  typical value (:data:`TYPICAL_AUTOMATIC`).

:func:`stored_length` measures (the stored text and what takes the room); :func:`check_stored_length`
turns that into findings for a column size: over the column is an error that says by how much, what
takes the room and whether ``params format --compact`` would fit; within a tenth of the column a
warning; otherwise a note with the characters left. The column size comes from the caller (the LMS
adapter reads the real one from the database), else :func:`site_column_size` (``--column-size N|text``,
then the site setting ``$IPYNB_TOOLS_PARAMS_COLUMN_SIZE``, then the 255 of Moodle before 3.11).

Size (over ~450 lines): one rule (SPEC 10), measured and reported; the findings reuse the measure's
line categories, and about a fifth of the lines are the rule's documentation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..i18n import N_, JoinedMessage, Message
from .findings import ERROR, INFO, WARNING, Finding, has_errors
from .model import (
    AUTOMATIC_KEYS,
    KEY_ACTLIMIT,
    KEY_CPULIMIT,
    KEY_DEFURL,
    KEY_IFRAME,
    KEY_IMAGE,
    KEY_MEMLIMIT,
    KEY_TEACHERS,
    KEY_USERS,
    RESERVED_KEYS,
    Params,
    ParamsError,
)
from .text import LINE_END, classify_key, format_params, split_lines

__all__ = [
    "AUTOMATIC_STORED_KEYS",
    "CATEGORIES",
    "COLUMN",
    "COLUMN_SIZE_ENV",
    "MOODLE_COLUMN_SIZE",
    "TYPICAL_AUTOMATIC",
    "UNLIMITED_WORDS",
    "AutomaticValue",
    "StorageLimit",
    "StoredLength",
    "StoredLengthError",
    "check_stored_length",
    "is_near",
    "parse_column_size",
    "site_column_size",
    "stored_length",
]

#: Moodle's own declaration of ``instructorcustomparameters`` (mod/lti/db/install.xml): char(255).
MOODLE_COLUMN_SIZE = 255
#: The site setting for sites that widened the column (read by :func:`site_column_size`).
COLUMN_SIZE_ENV = "IPYNB_TOOLS_PARAMS_COLUMN_SIZE"
#: The column's name, for messages.
COLUMN = "instructorcustomparameters"
#: Column sizes that mean Moodle's ``text`` column (``mod_lti`` changed ``instructorcustomparameters``
#: from ``char(255)`` to ``text`` in its upgrade step 2021052501, Moodle 3.11): counted, no limit.
UNLIMITED_WORDS = frozenset({"text", "none", "unlimited"})

#: Keys the LMS writes by itself on every save (SPEC 10, the old module's Lti Edit; the LMS adapter
#: of ``ipynb_tools.lms`` does the same): the newer module's automatic keys and ``lms_iframe``.
AUTOMATIC_STORED_KEYS: tuple[str, ...] = (*AUTOMATIC_KEYS, KEY_IFRAME)

#: The value counted for an automatic key the caller does not give and the text does not hold.
#: They describe an ordinary site; each is an example of the real thing, so its length is typical:
#:
#: - ``lms_sessioninfo`` ``12,345``: "<module instance id>,<LTI id>": a site has one module instance
#:   per course using it (tens), and thousands of activities (``mdl_lti.id``);
#: - ``lms_course`` (18 characters): a course's full name as Japanese universities write it
#:   (subject, number, year/term);
#: - ``lms_ltiname`` (12 characters): an activity name such as "JupyterHub演習";
#: - ``lms_rpctoken`` (32 characters): Moodle's web-service tokens are 32 hex digits (an MD5); the old
#:   module always wrote the key, and sites that collect execution logs have a token;
#: - ``lms_serverurl`` (32 characters): ``<scheme>://<host>:<port>`` with the port always written
#:   (SPEC 10), for a host name of about 20 characters;
#: - ``lms_serverpath`` ``/moodle``: Moodle installed under a path, as on the old module's site;
#: - ``lms_iframe`` ``1``: the activity opens embedded (the old default launch container).
#:
#: Together about 210 characters of the 255: a caller who knows better passes the real values
#: (``--automatic KEY=VALUE``), or leaves them out for a site that does not write them
#: (``--no-automatic``).
TYPICAL_AUTOMATIC: dict[str, str] = {
    "lms_sessioninfo": "12,345",
    "lms_course": "プログラミング演習Ⅰ（2025年度）",
    "lms_ltiname": "JupyterHub演習",
    "lms_rpctoken": "0123456789abcdef0123456789abcdef",
    "lms_serverurl": "https://moodle.example.ac.jp:443",
    "lms_serverpath": "/moodle",
    KEY_IFRAME: "1",
}

#: What a stored line is counted as, in the order the breakdown lists them.
#: (Marked for translation: a finding names them; the JSON of ``params length`` keeps them as they are.)
CATEGORIES: tuple[str, ...] = (
    N_("automatic keys"),
    N_("volumes"),
    N_("closing times"),
    N_("users"),
    N_("teachers"),
    N_("image and limits"),
    N_("reserved keys"),
    N_("other lines"),
    N_("blank lines"),
)
_SETTINGS = frozenset({KEY_IMAGE, KEY_CPULIMIT, KEY_MEMLIMIT, KEY_ACTLIMIT, KEY_DEFURL})
_UNITS = ("characters", "bytes")
#: Warn when fewer than 1/NEAR_DIVISOR of the column is left (25 characters at 255: less than one
#: more volume line such as ``lms_sub_kadai2=課題2提出用`` plus its line end).
NEAR_DIVISOR = 10
_DIGITS = re.compile(r"[0-9]+")


class StoredLengthError(ParamsError):
    """A text (or an edit's result) that the column cannot store; the message says by how much."""


@dataclass(frozen=True)
class AutomaticValue:
    """One automatic key as counted: ``value`` None means the LMS does not write it.

    ``origin`` is ``given`` (by the caller), ``text`` (already in the text), ``typical``
    (:data:`TYPICAL_AUTOMATIC`) or ``absent`` (not counted: a site that writes no automatic keys);
    ``size`` is its stored line with the line end, in the unit counted.
    """

    key: str
    value: str | None
    origin: str
    size: int


@dataclass(frozen=True)
class StoredLength:
    """A text as the LMS stores it, and its size.

    ``text`` is the stored text (CRLF line ends, automatic keys filled in); ``size`` its length in
    ``unit`` (``characters`` or UTF-8 ``bytes``); ``characters`` and ``utf8_bytes`` both counts;
    ``parts`` maps each of :data:`CATEGORIES` that occurs to the size its lines take (line ends
    included); ``automatic`` says how each automatic key was counted.
    """

    text: str
    unit: str
    parts: dict[str, int]
    automatic: tuple[AutomaticValue, ...]

    @property
    def characters(self) -> int:
        """Unicode code points, as ``varchar(n)`` counts them."""
        return len(self.text)

    @property
    def utf8_bytes(self) -> int:
        """Bytes of UTF-8, as a MySQL ``TEXT`` column counts them."""
        return len(self.text.encode("utf-8"))

    @property
    def size(self) -> int:
        """The length in :attr:`unit`."""
        return self.utf8_bytes if self.unit == "bytes" else self.characters

    def biggest(self, count: int = 3) -> list[tuple[str, int]]:
        """The ``count`` largest parts, largest first (ties in :data:`CATEGORIES` order)."""
        ranked = sorted(self.parts.items(), key=lambda item: (-item[1], CATEGORIES.index(item[0])))
        return ranked[:count]

    def to_dict(self, column_size: int | None = None) -> dict[str, object]:
        """JSON-ready: ``size``, ``unit``, ``characters``, ``utf8_bytes``, ``parts``, ``automatic``,
        and with a column size ``column_size`` and ``left`` (negative when over)."""
        data: dict[str, object] = {
            "size": self.size,
            "unit": self.unit,
            "characters": self.characters,
            "utf8_bytes": self.utf8_bytes,
            "parts": dict(self.parts),
            "automatic": [{"key": a.key, "value": a.value, "origin": a.origin, "size": a.size} for a in self.automatic],
        }
        if column_size is not None:
            data["column_size"] = column_size
            data["left"] = column_size - self.size
        return data


def _size(text: str, unit: str) -> int:
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


def _category(line: str) -> str:
    if not line.strip():
        return "blank lines"
    key, sep, _ = line.partition("=")
    category, ckey, _, _ = classify_key(key.strip())
    if not sep or category in ("other", "unknown"):
        return "other lines"
    if category == "volume":
        return "volumes"
    if category == "close":
        return "closing times"
    if ckey in AUTOMATIC_STORED_KEYS:
        return "automatic keys"
    if ckey == KEY_USERS:
        return "users"
    if ckey == KEY_TEACHERS:
        return "teachers"
    if ckey in _SETTINGS:
        return "image and limits"
    if ckey in RESERVED_KEYS:
        return "reserved keys"
    return "other lines"


def _automatic_key(line: str) -> str | None:
    key, sep, _ = line.partition("=")
    lowered = key.strip().lower()
    return lowered if sep and lowered in AUTOMATIC_STORED_KEYS else None


def _check_unit(unit: str) -> None:
    if unit not in _UNITS:
        raise ParamsError(f"unit {unit!r} is not one of {', '.join(_UNITS)}")


def stored_length(
    source: str | Params,
    *,
    automatic: Mapping[str, str | None] | None = None,
    typical: bool = True,
    unit: str = "characters",
) -> StoredLength:
    """Measure ``source`` (a parameter text, or a model, which is measured in its canonical text) as
    the LMS stores it.

    ``automatic`` maps automatic keys (:data:`AUTOMATIC_STORED_KEYS`) to the values the LMS will
    write (None: it removes the key); a key not given keeps the value the text has; a key in neither
    is counted with its :data:`TYPICAL_AUTOMATIC` value, unless ``typical`` is false (a site that
    writes no automatic keys). A leading BOM is not counted (it is not part of what is pasted).
    Raises :class:`~ipynb_tools.params.model.ParamsError` for an ``automatic`` key that is not an
    automatic key, a value with a line break, or an unknown ``unit``.
    """
    _check_unit(unit)
    given: dict[str, str | None] = dict(automatic or {})
    for key, value in given.items():
        if key not in AUTOMATIC_STORED_KEYS:
            raise ParamsError(f"{key!r} is not an automatic key ({', '.join(AUTOMATIC_STORED_KEYS)})")
        if value is not None and (not isinstance(value, str) or any(ch in value for ch in "\r\n")):
            raise ParamsError(f"the value of {key} must be one line of text, not {value!r}")
    text = format_params(source) if isinstance(source, Params) else source
    text = text.removeprefix("\ufeff")
    lines = split_lines(text)
    trailing = len(lines) > 1 and lines[-1] == ""
    if trailing or lines == [""]:
        lines = lines[:-1]

    # The LMS writes each automatic key once: of several lines for one key only the last (the one
    # the parser reads: the later line wins) is counted, in its place.
    last_line = {found: index for index, line in enumerate(lines) if (found := _automatic_key(line)) is not None}
    stored: list[str] = []
    counted: dict[str, AutomaticValue] = {}
    for index, line in enumerate(lines):
        found = _automatic_key(line)
        if found is not None and last_line[found] != index:
            continue
        if found is not None and found in given:
            replacement = given[found]
            counted[found] = AutomaticValue(found, replacement, "given", 0)
            if replacement is None:
                continue
            line = f"{found}={replacement}"
        elif found is not None:
            counted[found] = AutomaticValue(found, line.partition("=")[2].strip(), "text", 0)
        stored.append(line)
    for key in AUTOMATIC_STORED_KEYS:
        if key in counted:
            continue
        if key in given:
            value, origin = given[key], "given"
        elif typical:
            value, origin = TYPICAL_AUTOMATIC[key], "typical"
        else:
            value, origin = None, "absent"
        counted[key] = AutomaticValue(key, value, origin, 0)
        if value is not None:
            stored.append(f"{key}={value}")

    ends = [LINE_END] * len(stored)
    if stored and not trailing:
        ends[-1] = ""
    parts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for line, end in zip(stored, ends, strict=True):
        size = _size(line + end, unit)
        category = _category(line)
        parts[category] = parts.get(category, 0) + size
        found = _automatic_key(line)
        if found is not None:
            sizes[found] = sizes.get(found, 0) + size
    ordered = {c: parts[c] for c in CATEGORIES if c in parts}
    automatic_values = tuple(
        AutomaticValue(key, counted[key].value, counted[key].origin, sizes.get(key, 0)) for key in AUTOMATIC_STORED_KEYS
    )
    return StoredLength(
        "".join(line + end for line, end in zip(stored, ends, strict=True)), unit, ordered, automatic_values
    )


def is_near(size: int, column_size: int) -> bool:
    """True when ``size`` fits ``column_size`` with less than a tenth of it left (:data:`NEAR_DIVISOR`)."""
    left = column_size - size
    return left >= 0 and left * NEAR_DIVISOR < column_size


def _typical_note(measured: StoredLength) -> list[Message]:
    """How many automatic keys were counted with typical values (nothing when none)."""
    typical = sum(a.origin == "typical" and a.value is not None for a in measured.automatic)
    if not typical:
        return []
    return [
        Message(
            N_("; %(count)d automatic key(s) counted with typical values (--automatic KEY=VALUE gives the real ones)"),
            count=typical,
        )
    ]


def _check_column_size(column_size: int | None) -> None:
    if column_size is None:
        return
    if isinstance(column_size, bool) or not isinstance(column_size, int) or column_size < 1:
        raise ParamsError(f"column size {column_size!r} is not a positive whole number")


def _unit_word(unit: str) -> str:
    return "bytes" if unit == "bytes" else "characters"


def _unit_words(unit: str) -> tuple[Message, Message]:
    """The unit's word for an amount and for a column's size ("300 characters", "a 255-character column")."""
    if unit == "bytes":
        return Message(N_("bytes")), Message(N_("byte"))
    return Message(N_("characters")), Message(N_("character"))


def _finding(severity: str, *parts: Message) -> Finding:
    text = parts[0] if len(parts) == 1 else JoinedMessage(*parts)
    return Finding(severity, None, COLUMN, str(text), text)


@dataclass(frozen=True)
class StorageLimit:
    """A column to fit and how to count for it: ``column_size`` in ``unit``, the ``automatic``
    values the LMS will write, and whether missing automatic keys count with ``typical`` values.

    This is what ``params`` commands and :func:`ipynb_tools.params.validate.validate` take; the LMS
    adapter builds one from the column it reads from the database.
    """

    #: ``None``: a ``text`` column (Moodle 3.11 and later, :data:`UNLIMITED_WORDS`): counted, no limit.
    column_size: int | None = MOODLE_COLUMN_SIZE
    unit: str = "characters"
    automatic: Mapping[str, str | None] = field(default_factory=dict)
    typical: bool = True

    def __post_init__(self) -> None:
        _check_column_size(self.column_size)
        _check_unit(self.unit)

    def measure(self, source: str | Params) -> StoredLength:
        """:func:`stored_length` of ``source`` with this limit's counting rules."""
        return stored_length(source, automatic=self.automatic, typical=self.typical, unit=self.unit)

    def fits(self, source: str | Params) -> bool:
        """True when ``source`` as stored is at most :attr:`column_size` (always for a ``text`` column)."""
        return self.column_size is None or self.measure(source).size <= self.column_size

    def check(self, source: str | Params) -> list[Finding]:
        """One finding about ``source``'s stored length: an error when it is over the column (by how
        much, the biggest parts, and what ``params format --compact`` would give), a warning when
        less than a tenth of the column is left, else a note with what is left."""
        measured = self.measure(source)
        size, column = measured.size, self.column_size
        units, unit = _unit_words(self.unit)
        if column is None:
            return [
                _finding(
                    INFO,
                    Message(
                        N_("the text is %(size)d %(units)s as stored (a text column: no limit)"), size=size, units=units
                    ),
                )
            ]
        what = Message(
            N_("with the automatic keys") if any(a.value is not None for a in measured.automatic) else N_("as stored")
        )
        room = JoinedMessage(
            *(
                Message(N_("%(part)s %(amount)d"), part=Message(name), amount=amount)
                for name, amount in measured.biggest()
            ),
            separator=", ",
        )
        compact = self._compact_size(source)
        if size > column:
            parts = [
                Message(
                    N_(
                        "the text is %(size)d %(units)s %(what)s: %(over)d over the %(column)d-%(unit)s column "
                        "%(name)s (Moodle refuses it or cuts it); the room goes to %(room)s"
                    ),
                    size=size,
                    units=units,
                    what=what,
                    over=size - column,
                    column=column,
                    unit=unit,
                    name=COLUMN,
                    room=room,
                )
            ]
            if compact is not None and compact < size:
                if compact <= column:
                    parts.append(
                        Message(
                            N_("; 'params format --compact' writes the same meaning in %(compact)d (%(left)d left)"),
                            compact=compact,
                            left=column - compact,
                        )
                    )
                else:
                    parts.append(
                        Message(
                            N_("; even 'params format --compact' needs %(compact)d (%(over)d over)"),
                            compact=compact,
                            over=compact - column,
                        )
                    )
            return [_finding(ERROR, *parts, *_typical_note(measured))]
        if is_near(size, column):
            parts = [
                Message(
                    N_(
                        "the text is %(size)d of %(column)d %(units)s %(what)s: only %(left)d left; "
                        "the room goes to %(room)s"
                    ),
                    size=size,
                    column=column,
                    units=units,
                    what=what,
                    left=column - size,
                    room=room,
                )
            ]
            if compact is not None and compact < size:
                parts.append(Message(N_("; 'params format --compact' would leave %(left)d"), left=column - compact))
            return [_finding(WARNING, *parts, *_typical_note(measured))]
        return [
            _finding(
                INFO,
                Message(
                    N_("the text is %(size)d of %(column)d %(units)s %(what)s (%(left)d left)"),
                    size=size,
                    column=column,
                    units=units,
                    what=what,
                    left=column - size,
                ),
            )
        ]

    def check_change(self, before: str, after: str, source: str) -> list[Finding]:
        """The length finding for ``after``, the new text of a file that held ``before`` (an edit,
        or ``params format --in-place``).

        Raises :class:`StoredLengthError` naming ``source`` when ``after`` differs from ``before``,
        does not fit the column, and is not shorter: a change must not make (or keep as long) a
        text Moodle cannot store. A change that shortens a text still over the column is allowed
        (it helps: the error finding says how much is still over), and so is no change at all.
        """
        length = self.check(after)
        if after != before and has_errors(length) and self.measure(after).size >= self.measure(before).size:
            raise StoredLengthError(f"refusing the edit, nothing changed: {length[0].message}", source=source)
        return length

    def _compact_size(self, source: str | Params) -> int | None:
        from .compact import compact_text
        from .text import parse

        try:
            model = source if isinstance(source, Params) else parse(source)
            return self.measure(compact_text(model)).size
        except ParamsError:
            return None

    def describe(self, source: str | Params) -> str:
        """One line for people: ``stored length: 212 of 255 characters (43 left): automatic keys 205, ...``."""
        measured = self.measure(source)
        parts = ", ".join(f"{name} {amount}" for name, amount in measured.parts.items())
        typical = [a.key for a in measured.automatic if a.origin == "typical" and a.value is not None]
        note = f"; typical values for {', '.join(typical)}" if typical else ""
        word = _unit_word(self.unit)
        if self.column_size is None:
            return f"stored length: {measured.size} {word} (a text column: no limit): {parts}{note}"
        left = self.column_size - measured.size
        state = f"{left} left" if left >= 0 else f"{-left} OVER"
        return f"stored length: {measured.size} of {self.column_size} {word} ({state}): {parts}{note}"


def check_stored_length(
    source: str | Params,
    *,
    column_size: int | None = MOODLE_COLUMN_SIZE,
    automatic: Mapping[str, str | None] | None = None,
    typical: bool = True,
    unit: str = "characters",
) -> list[Finding]:
    """The finding about ``source``'s stored length against a column of ``column_size`` ``unit``
    (see :meth:`StorageLimit.check`; the arguments are :func:`stored_length`'s). The LMS adapter
    passes the size it reads from the database; ParamsError for a size that is not a positive int."""
    limit = StorageLimit(column_size, unit, dict(automatic or {}), typical)
    return limit.check(source)


def parse_column_size(raw: str, what: str) -> int | None:
    """A column size as people write it: ASCII digits (a positive whole number) or one of
    :data:`UNLIMITED_WORDS` (``text``: Moodle 3.11 and later, whose column is ``text``), which gives
    ``None``. ParamsError naming ``what`` (the option or setting) otherwise."""
    raw = raw.strip()
    if raw.lower() in UNLIMITED_WORDS:
        return None
    # ASCII digits only: str.isdigit() also accepts "²" (which int() refuses) and other scripts' digits
    if not _DIGITS.fullmatch(raw) or int(raw) < 1:
        raise ParamsError(f"{what}={raw!r} is neither a positive whole number of characters nor 'text'")
    return int(raw)


def site_column_size(column_size: str | int | None = None, environ: Mapping[str, str] | None = None) -> int | None:
    """The column size in force: ``column_size`` when given (``--column-size N|text``), else the site
    setting ``$IPYNB_TOOLS_PARAMS_COLUMN_SIZE``, else Moodle's 255 (the size before Moodle 3.11; SPEC 10).
    ``None`` means a ``text`` column: counted, no limit. ParamsError naming the option or the setting
    when the value is neither a positive whole number nor ``text``."""
    if isinstance(column_size, int):
        _check_column_size(column_size)
        return column_size
    if column_size is not None:
        return parse_column_size(column_size, "--column-size")
    env = os.environ if environ is None else environ
    raw = env.get(COLUMN_SIZE_ENV, "").strip()
    if not raw:
        return MOODLE_COLUMN_SIZE
    return parse_column_size(raw, COLUMN_SIZE_ENV)
