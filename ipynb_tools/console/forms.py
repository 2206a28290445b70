"""The console's parameter form: an activity's custom parameters (a :class:`~ipynb_tools.params.model.Params`)
as HTML form fields and back, the live findings, and the preview of the text that will be stored.

The form is the old module's Lti Edit (SPEC 11): users, teachers, the image chosen from the engine's
images as the site filters them, the default URL (Lab or Notebook), CPU, memory and activity limits as
choices (with "site default", i.e. the key left out, kept apart from "no limit", the value 0:
:mod:`ipynb_tools.params.resources`), the three volume kinds with their access names and user lists,
and the closing time of each submit volume as a ``datetime-local`` value in the site's zone
(:mod:`ipynb_tools.environ.closing`).

Field names of the submitted data (a flat mapping of strings, as a browser posts a form):

- ``users``, ``teachers``: user lists (comma, white space or Japanese comma separated);
- ``image`` (empty: the site default), ``defurl`` (empty, ``/lab`` or ``/tree``);
- ``cpulimit``, ``memlimit``, ``actlimit``: empty is the site default (the key is left out), ``0``
  is no limit, else CPUs, bytes and seconds; a value not among the choices is accepted when the
  params library reads it (``1.5``, ``2G``, ``90m``), so a stored value the choices lack survives;
- ``vol-<i>-kind`` (``vol``, ``sub``, ``prs``), ``vol-<i>-name``, ``vol-<i>-access``, ``vol-<i>-users``
  and, for a submit volume, ``vol-<i>-close`` (``YYYY-MM-DDTHH:MM[:SS]`` in the site's zone, empty:
  never closes), for ``i`` from 0; a row whose access name is empty is left out (SPEC 4: no access
  name, no entry) and so is an entirely empty row.

Nothing submitted is silently changed: a value with a character the text cannot carry (a line break,
``;``, ``$``... :data:`~ipynb_tools.params.model.FORBIDDEN`) is an error finding naming the field, not
stripped. Everything the form does not show (automatic keys, reserved keys, non-``lms_`` lines,
unknown ``lms_*`` keys, a closing time whose submit volume is not defined) is carried over from the
stored set unchanged. Findings are the params library's own (:func:`ipynb_tools.params.validate.validate`,
with the stored-length rule of :mod:`ipynb_tools.params.storage`, issue 18), each tied to the form
field it is about (:func:`field_of`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo

from ..environ.closing import ClosingTimeError, parse_close_time
from ..i18n import N_, Message
from ..params.compact import compact_text
from ..params.findings import ERROR, Finding, has_errors
from ..params.model import (
    CLOSE_SUFFIX,
    FORBIDDEN,
    KEY_ACTLIMIT,
    KEY_CPULIMIT,
    KEY_DEFURL,
    KEY_IMAGE,
    KEY_MEMLIMIT,
    KEY_TEACHERS,
    KEY_USERS,
    PREFIX,
    Params,
    ParamsError,
    VolumeParam,
    is_access_name,
    split_users,
)
from ..params.storage import StorageLimit, StoredLength
from ..params.text import classify_key
from ..params.validate import validate
from ..params.values import BadValue, parse_cpu, parse_memory, parse_seconds
from ..volumes.naming import VolumeKind

__all__ = [
    "ACTIVITY_CHOICES",
    "CPU_CHOICES",
    "DEFURL_CHOICES",
    "MAX_VOLUME_ROWS",
    "MEMORY_CHOICES",
    "Choice",
    "FormData",
    "ParamsForm",
    "Preview",
    "VolumeRow",
    "choices_with",
    "close_to_local",
    "field_of",
    "filter_images",
    "form_from_params",
    "params_from_form",
    "preview",
]

#: At most this many volume rows are read from one submission (a course has a handful; a 255-character
#: column holds about ten). Rows beyond are an error, not silently dropped.
MAX_VOLUME_ROWS = 500
#: A submitted field longer than this is an error (a whole parameter text is a few hundred characters).
MAX_FIELD_CHARS = 10_000
_ROW_RE = re.compile(r"vol-(\d{1,6})-(kind|name|access|users|close)")
_MIB = 1024 * 1024
_GIB = 1024 * _MIB


@dataclass(frozen=True)
class Choice:
    """One option of a select: the submitted ``value`` and a ``label`` (English; the page translates
    the words ``site default`` and ``no limit`` through its catalogue)."""

    value: str
    label: str


def _cpu_label(value: str) -> str:
    return f"{value} CPU"


def _memory_label(size: int) -> str:
    if size % _GIB == 0:
        return f"{size // _GIB} GiB"
    if size >= _GIB:
        return f"{size / _GIB:g} GiB"
    return f"{size // _MIB} MiB"


def _seconds_label(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


SITE_DEFAULT_CHOICE = Choice("", "site default")
NO_LIMIT_CHOICE = Choice("0", "no limit")

#: CPU limits offered (the old module's list: fractions of a CPU for a notebook, a few CPUs at most).
CPU_CHOICES: tuple[Choice, ...] = (
    SITE_DEFAULT_CHOICE,
    NO_LIMIT_CHOICE,
    *(Choice(v, _cpu_label(v)) for v in ("0.1", "0.2", "0.5", "1", "1.5", "2", "3", "4", "6", "8")),
)
#: Memory limits offered, in bytes: from 200 MB, the old module's first choice (below it the Jupyter
#: server does not start, SPEC 4), to 16 GiB.
MEMORY_CHOICES: tuple[Choice, ...] = (
    SITE_DEFAULT_CHOICE,
    NO_LIMIT_CHOICE,
    *(
        Choice(str(size), _memory_label(size))
        for size in (
            200 * _MIB,
            256 * _MIB,
            512 * _MIB,
            _GIB,
            _GIB + _GIB // 2,
            2 * _GIB,
            3 * _GIB,
            4 * _GIB,
            6 * _GIB,
            8 * _GIB,
            12 * _GIB,
            16 * _GIB,
        )
    ),
)
#: Activity limits offered, in seconds (how long a container may live; the spawner stops it then).
ACTIVITY_CHOICES: tuple[Choice, ...] = (
    SITE_DEFAULT_CHOICE,
    NO_LIMIT_CHOICE,
    *(
        Choice(str(s), _seconds_label(s))
        for s in (1800, 3600, 5400, 7200, 10800, 14400, 21600, 28800, 43200, 86400, 3 * 86400, 7 * 86400)
    ),
)
#: The default URL: the site's, JupyterLab or the classic Notebook tree (SPEC 4).
DEFURL_CHOICES: tuple[Choice, ...] = (SITE_DEFAULT_CHOICE, Choice("/lab", "JupyterLab"), Choice("/tree", "Notebook"))

FormData = Mapping[str, str]


@dataclass
class VolumeRow:
    """One volume of the form: ``kind`` the code (``vol``/``sub``/``prs``), ``users`` the list as text
    (empty: no per-volume list), ``close`` the ``datetime-local`` text of a submit volume's closing time
    in the site's zone (empty: never closes), ``index`` the row number of its field names."""

    index: int
    kind: str
    name: str
    access: str
    users: str = ""
    close: str = ""

    def field(self, part: str) -> str:
        """The form field name of ``part`` of this row (``vol-3-access``)."""
        return f"vol-{self.index}-{part}"

    @property
    def kind_label(self) -> str:
        """``task``, ``submit`` or ``personal`` ('' for a kind that is not one)."""
        try:
            return VolumeKind(self.kind).label
        except ValueError:
            return ""


@dataclass
class ParamsForm:
    """The form's values as text, as the page shows them and the browser posts them back."""

    users: str = ""
    teachers: str = ""
    image: str = ""
    defurl: str = ""
    cpulimit: str = ""
    memlimit: str = ""
    actlimit: str = ""
    volumes: list[VolumeRow] = field(default_factory=list)

    def data(self) -> dict[str, str]:
        """The flat field mapping a browser would post for this form (:func:`params_from_form` reads it)."""
        out = {
            "users": self.users,
            "teachers": self.teachers,
            "image": self.image,
            "defurl": self.defurl,
            "cpulimit": self.cpulimit,
            "memlimit": self.memlimit,
            "actlimit": self.actlimit,
        }
        for row in self.volumes:
            for part in ("kind", "name", "access", "users", "close"):
                out[row.field(part)] = getattr(row, part)
        return out


# -- closing times in the site's zone -------------------------------------------------------------


def close_to_local(unix: int, zone: tzinfo) -> str:
    """``unix`` seconds as a ``datetime-local`` value in ``zone``: ``2025-07-01T23:59`` (seconds added
    only when not zero). An out-of-range time gives the unix seconds as text (still read back)."""
    try:
        local = datetime.fromtimestamp(unix, UTC).astimezone(zone)
    except (OverflowError, OSError, ValueError):
        return str(unix)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


def _close_from_local(text: str, zone: tzinfo) -> int:
    """A submitted closing time: ``datetime-local`` (the site's zone), also unix seconds or ISO with an
    offset (the contract's one rule, :func:`ipynb_tools.environ.closing.parse_close_time`)."""
    return parse_close_time(text, zone=zone)


# -- Params -> form --------------------------------------------------------------------------------


def _number_text(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def form_from_params(params: Params, zone: tzinfo) -> ParamsForm:
    """The form of ``params``: one row per volume in force (a later entry for a (kind, NAME) replaces an
    earlier one, SPEC 4), each submit volume with its closing time in ``zone``."""
    rows = []
    for index, volume in enumerate(params.effective_volumes()):
        close = params.closes.get(volume.name) if volume.kind is VolumeKind.SUBMIT else None
        rows.append(
            VolumeRow(
                index=index,
                kind=str(volume.kind),
                name=volume.name,
                access=volume.access,
                users=",".join(volume.users or ()),
                close="" if close is None else close_to_local(close, zone),
            )
        )
    return ParamsForm(
        users=",".join(params.users),
        teachers=",".join(params.teachers),
        image=params.image or "",
        defurl=params.defurl or "",
        cpulimit=_number_text(params.cpulimit),
        memlimit=_number_text(params.memlimit),
        actlimit=_number_text(params.actlimit),
        volumes=rows,
    )


# -- form -> Params --------------------------------------------------------------------------------


def _error(field_name: str, message: Message | str) -> Finding:
    """An error finding about a form field; a :class:`~ipynb_tools.i18n.Message` is translated where the
    page shows it (the ``console`` domain's msgids here, the params library's in ``ipynb_tools``)."""
    text = message if isinstance(message, Message) else Message(message)
    return Finding(ERROR, None, field_name, str(text), text)


def _too_long(what: Message, raw: str) -> Message:
    return Message(
        N_("%(what)s is %(length)d characters long (at most %(most)d)"),
        what=what,
        length=len(raw),
        most=MAX_FIELD_CHARS,
    )


def _clean(field_name: str, raw: str, findings: list[Finding], what: Message) -> str | None:
    """``raw`` stripped, or None (and an error finding) when it holds what the text cannot carry."""
    if len(raw) > MAX_FIELD_CHARS:
        findings.append(_error(field_name, _too_long(what, raw)))
        return None
    bad = sorted({ch for ch in raw if ch in FORBIDDEN})
    if bad:
        shown = "".join(bad).encode("unicode_escape").decode("ascii")
        findings.append(
            _error(
                field_name,
                Message(
                    N_("%(what)s has characters a custom parameter cannot carry: %(chars)r"), what=what, chars=shown
                ),
            )
        )
        return None
    return raw.replace("\t", " ").strip()


def _users(field_name: str, raw: str, findings: list[Finding], what: Message) -> tuple[str, ...] | None:
    if len(raw) > MAX_FIELD_CHARS:
        findings.append(_error(field_name, _too_long(what, raw)))
        return None
    # line breaks and tabs separate names like spaces do (a pasted column of names); other forbidden
    # characters are refused
    users = split_users(raw)
    for user in users:
        if any(ch in FORBIDDEN for ch in user):
            bad = "".join(sorted({ch for ch in user if ch in FORBIDDEN})).encode("unicode_escape").decode("ascii")
            findings.append(
                _error(
                    field_name,
                    Message(
                        N_("%(what)s: %(user)r has characters a user name cannot have: %(chars)r"),
                        what=what,
                        user=user,
                        chars=bad,
                    ),
                )
            )
            return None
    return users


def _limit(
    field_name: str,
    raw: str,
    findings: list[Finding],
    reader: Callable[[str], float],
    what: Message,
) -> float | int | None:
    text = _clean(field_name, raw, findings, what)
    if text is None or text == "":
        return None
    try:
        value = reader(text)
    except BadValue as exc:
        findings.append(_error(field_name, exc.message))
        return None
    if value < 0:
        findings.append(
            _error(field_name, Message(N_("%(what)s %(value)r is negative (0 means no limit)"), what=what, value=text))
        )
        return None
    return value


def _rows(data: FormData, findings: list[Finding]) -> list[VolumeRow]:
    """The volume rows of ``data`` by index (at most :data:`MAX_VOLUME_ROWS`)."""
    parts: dict[int, dict[str, str]] = {}
    for key, value in data.items():
        match = _ROW_RE.fullmatch(key)
        if match:
            parts.setdefault(int(match.group(1)), {})[match.group(2)] = value
    if len(parts) > MAX_VOLUME_ROWS:
        findings.append(_error("volumes", f"{len(parts)} volume rows; at most {MAX_VOLUME_ROWS} are read"))
        return []
    return [
        VolumeRow(
            index=i,
            kind=p.get("kind", ""),
            name=p.get("name", ""),
            access=p.get("access", ""),
            users=p.get("users", ""),
            close=p.get("close", ""),
        )
        for i, p in sorted(parts.items())
    ]


def params_from_form(data: FormData, base: Params, zone: tzinfo) -> tuple[Params, list[Finding], ParamsForm]:
    """The parameter set the submitted ``data`` describes, built on ``base`` (the stored set: what the
    form does not show is carried over), the error findings of fields that could not be read (each
    with the field name as ``key``), and the form as submitted (to show again with the findings).

    With error findings, the returned set holds ``base``'s value for each field in error, so a preview
    can still be made; the caller must not save it (:func:`ipynb_tools.params.findings.has_errors`).
    """
    findings: list[Finding] = []

    def get(name: str) -> str:
        return str(data.get(name, "") or "")

    rows = _rows(data, findings)
    form = ParamsForm(
        users=get("users"),
        teachers=get("teachers"),
        image=get("image"),
        defurl=get("defurl"),
        cpulimit=get("cpulimit"),
        memlimit=get("memlimit"),
        actlimit=get("actlimit"),
        volumes=rows,
    )
    result = replace(base, volumes=[], closes={}, others=list(base.others), line_numbers={})

    users = _users("users", form.users, findings, Message(KEY_USERS))
    result.users = base.users if users is None else users
    teachers = _users("teachers", form.teachers, findings, Message(KEY_TEACHERS))
    result.teachers = base.teachers if teachers is None else teachers

    image = _clean("image", form.image, findings, Message(KEY_IMAGE))
    if image is not None:
        # "default" and empty both mean the site default; the key is left out for both
        result.image = None if image in ("", "default") else image
    defurl = _clean("defurl", form.defurl, findings, Message(KEY_DEFURL))
    if defurl is not None:
        result.defurl = defurl or None

    before = len(findings)
    cpu = _limit("cpulimit", form.cpulimit, findings, parse_cpu, Message(N_("CPU limit")))
    if len(findings) == before:
        result.cpulimit = None if cpu is None else float(cpu)
    before = len(findings)
    memory = _limit("memlimit", form.memlimit, findings, parse_memory, Message(N_("memory limit")))
    if len(findings) == before:
        result.memlimit = None if memory is None else int(memory)
    before = len(findings)
    seconds = _limit("actlimit", form.actlimit, findings, parse_seconds, Message(N_("activity limit")))
    if len(findings) == before:
        result.actlimit = None if seconds is None else int(seconds)

    defined_submits: set[str] = set()
    for row in rows:
        volume = _volume(row, findings)
        if volume is None:
            continue
        result.volumes.append(volume)
        if volume.kind is VolumeKind.SUBMIT:
            defined_submits.add(volume.name)
            close = _close(row, base, zone, findings)
            if close is not None:
                result.closes[volume.name] = close
    # a closing time the form has no row for (its submit volume is not defined) is carried over
    for name, when in base.closes.items():
        if name not in defined_submits and base.volume(VolumeKind.SUBMIT, name) is None:
            result.closes[name] = when
    shown = form_from_params(base, zone)
    result.others = [line for line in base.others if not _replaced_by_form(line, form, shown)]
    return result, findings, form


def _replaced_by_form(line: str, form: ParamsForm, shown: ParamsForm) -> bool:
    """True for a kept line whose value the parser could not read (``lms_memlimit=lots``,
    ``lms_sub_a_close=someday``) when the teacher changed its field from what the form showed (the
    field was shown empty): the new value replaces it. Left alone, the line stays, with its error."""
    key, sep, _ = line.partition("=")
    if not sep:
        return False
    category, ckey, _, _ = classify_key(key.strip())
    if category == "fixed" and ckey in _FIXED_FIELDS:
        name = _FIXED_FIELDS[ckey]
        return bool(getattr(form, name) != getattr(shown, name))
    if category == "close":
        before = {f"{PREFIX}{r.kind}_{r.name}": r.close for r in shown.volumes}
        for row in form.volumes:
            row_key = f"{PREFIX}{row.kind}_{row.name.strip()}"
            if row_key + CLOSE_SUFFIX == ckey and row.close != before.get(row_key, ""):
                return True
    return False
    category, ckey, _, _ = classify_key(key.strip())
    if category == "fixed":
        return ckey in _FIXED_FIELDS
    if category in ("volume", "close"):
        rows = {f"{PREFIX}{row.kind}_{row.name.strip()}" for row in form.volumes}
        return ckey.removesuffix(CLOSE_SUFFIX) in rows if category == "close" else ckey in rows
    return False


def _volume(row: VolumeRow, findings: list[Finding]) -> VolumeParam | None:
    """The entry of one row, or None: an empty row, an empty access name (no entry, SPEC 4) or an error."""
    if not any((row.name.strip(), row.access.strip(), row.users.strip(), row.close.strip())):
        return None
    try:
        kind = VolumeKind(row.kind)
    except ValueError:
        findings.append(
            _error(row.field("kind"), Message(N_("volume kind %(kind)r is not one of vol, sub, prs"), kind=row.kind))
        )
        return None
    name = row.name.strip()
    if not re.fullmatch(r"[a-z0-9]+", name):
        findings.append(
            _error(
                row.field("name"),
                Message(
                    N_("volume NAME %(name)r of a %(kind)s volume must be lowercase a-z and 0-9"),
                    name=name,
                    kind=kind.label,
                ),
            )
        )
        return None
    key = f"{PREFIX}{kind}_{name}"
    access = _clean(row.field("access"), row.access, findings, Message(N_("the access name of %(key)s"), key=key))
    if access is None or access == "":
        return None
    if not is_access_name(access):  # white space, '/', ':' or a leading full-width '－' (VolumeParam's rule)
        problem = N_("the access name %(access)r of %(key)s may not have white space, '/', ':' or a leading '－'")
        findings.append(_error(row.field("access"), Message(problem, access=access, key=key)))
        return None
    users = _users(row.field("users"), row.users, findings, Message(N_("the users of %(key)s"), key=key))
    if users is None:
        return None
    try:
        return VolumeParam(kind, name, access, users or None)
    except ParamsError as exc:
        findings.append(_error(row.field("access"), str(exc)))
        return None


def _close(row: VolumeRow, base: Params, zone: tzinfo, findings: list[Finding]) -> int | None:
    what = Message(N_("the closing time of %(key)s"), key=f"lms_sub_{row.name.strip()}")
    text = _clean(row.field("close"), row.close, findings, what)
    if not text:
        return None
    stored = base.closes.get(row.name.strip())
    if stored is not None and text == close_to_local(stored, zone):
        return stored  # unchanged: the stored second (a wall time a zone repeats reads back either way)
    try:
        return _close_from_local(text, zone)
    except ClosingTimeError as exc:
        findings.append(_error(row.field("close"), exc.args[0] if isinstance(exc.args[0], Message) else str(exc)))
        return None


# -- findings and preview --------------------------------------------------------------------------

_FIXED_FIELDS = {
    KEY_USERS: "users",
    KEY_TEACHERS: "teachers",
    KEY_IMAGE: "image",
    KEY_DEFURL: "defurl",
    KEY_CPULIMIT: "cpulimit",
    KEY_MEMLIMIT: "memlimit",
    KEY_ACTLIMIT: "actlimit",
}


def field_of(finding: Finding, form: ParamsForm) -> str | None:
    """The form field a finding is about: its own field name (findings of :func:`params_from_form`),
    the field of a fixed key (``lms_memlimit`` is ``memlimit``), the access (or close) field of the
    first row of a volume key, else None (the whole form: the stored length, a kept line...)."""
    key = finding.key
    if key is None:
        return None
    if key in _FIXED_FIELDS:
        return _FIXED_FIELDS[key]
    if key == "volumes" or _ROW_RE.fullmatch(key) or key in ("users", "teachers", "image", "defurl"):
        return key
    if key in ("cpulimit", "memlimit", "actlimit"):
        return key
    for row in form.volumes:
        base = f"{PREFIX}{row.kind}_{row.name.strip()}"
        if key == base:
            return row.field("access")
        if row.kind == VolumeKind.SUBMIT and key == base + CLOSE_SUFFIX:
            return row.field("close")
    return None


@dataclass(frozen=True)
class Preview:
    """What saving the form would store: ``text`` (the compact text, CRLF, :mod:`ipynb_tools.params.compact`),
    ``stored`` (its length as the LMS stores it, with the automatic keys), ``column_size`` (None: no
    limit) and ``findings`` (form errors, then the params library's, the stored-length finding last)."""

    text: str
    stored: StoredLength | None
    column_size: int | None
    findings: tuple[Finding, ...]

    @property
    def lines(self) -> list[str]:
        """The text's lines (without line ends)."""
        return self.text.split("\r\n") if self.text else []

    @property
    def left(self) -> int | None:
        """Characters (or bytes) left in the column; negative when over; None without a limit."""
        if self.column_size is None or self.stored is None:
            return None
        return self.column_size - self.stored.size

    @property
    def ok(self) -> bool:
        """True when the text may be saved (no error finding)."""
        return not has_errors(list(self.findings))

    def to_dict(self, form: ParamsForm | None = None, gettext: Callable[[str], str] | None = None) -> dict[str, object]:
        """JSON-ready for the live-validation endpoint: ``text``, ``lines``, ``size``, ``column_size``,
        ``left``, ``ok`` and ``findings`` (each with ``field`` when ``form`` is given, and ``shown``: its
        message in the language of ``gettext``, for the page to show; ``message`` stays English)."""
        return {
            "text": self.text,
            "lines": self.lines,
            "size": None if self.stored is None else self.stored.size,
            "column_size": self.column_size,
            "left": self.left,
            "ok": self.ok,
            "findings": [
                {
                    **f.to_dict(),
                    "field": field_of(f, form) if form is not None else None,
                    "shown": f.translated(gettext),
                }
                for f in self.findings
            ],
        }


def preview(
    params: Params,
    form_findings: Sequence[Finding] = (),
    *,
    storage: StorageLimit | None = None,
    now: float | None = None,
) -> Preview:
    """The text saving ``params`` stores and every finding about it.

    ``storage`` is the column and the automatic values the LMS adapter will write
    (:meth:`ipynb_tools.lms.database.ColumnLimit.storage` with the activity's automatic values); None
    measures nothing. The text is the compact one (the shortest with the same meaning, issue 18): the
    form rewrites the whole set, as the old module did on save.
    """
    try:
        text = compact_text(params)
    except ParamsError as exc:  # a set the text cannot say; params_from_form never builds one
        return Preview("", None, None, (*form_findings, _error("volumes", str(exc))))
    # the text's findings, as the LMS adapter finds them before writing (parsing it again reports the
    # lines kept as they are: unknown lms_* keys, lines without '=')
    findings = list(form_findings) + validate(text, now=now, source_name="<form>")
    stored = None
    column = None
    if storage is not None:
        stored = storage.measure(text)
        column = storage.column_size
        findings += storage.check(text)
    return Preview(text, stored, column, tuple(findings))


# -- images ----------------------------------------------------------------------------------------


def filter_images(tags: Iterable[str], spec: str) -> list[str]:
    """The images a teacher may choose (SPEC 11: the old module filtered the engine's images by a
    configured substring, ``-`` in front to exclude): ``spec`` is comma or space separated terms; an
    image is offered when it contains one of the plain terms (any image when there is none) and none of
    the ``-`` terms. ``<none>:<none>`` (untagged layers) never. Sorted, each once."""
    terms = [t for t in re.split(r"[,\s]+", spec or "") if t]
    wanted = [t for t in terms if not t.startswith("-")]
    excluded = [t[1:] for t in terms if t.startswith("-") and len(t) > 1]
    chosen = set()
    for tag in tags:
        if not tag or "<none>" in tag:
            continue
        if wanted and not any(term in tag for term in wanted):
            continue
        if any(term in tag for term in excluded):
            continue
        chosen.add(tag)
    return sorted(chosen)


def choices_with(choices: Sequence[Choice], current: str, label: str | None = None) -> list[Choice]:
    """``choices`` with ``current`` added (labelled ``label`` or itself) when it is not one of them, so a
    stored value the list lacks (``lms_cpulimit=1.25``, an image the filter leaves out) is shown and kept."""
    out = list(choices)
    if current and not any(c.value == current for c in out):
        out.append(Choice(current, label or current))
    return out
