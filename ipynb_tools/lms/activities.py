"""A course's LTI activities in course order, and which of them launch this JupyterHub (SPEC 10, 11:
the old module's Lti Connections).

Course order is Moodle's: sections by number, then a module's position in its section's
``sequence`` (comma-separated course module ids); a module missing from the sequence comes after
the listed ones (by id), a module without a section last. Modules being deleted
(``deletioninprogress``) are skipped. The tool an activity launches is its own ``toolurl`` or, for a
preconfigured tool, the type's ``baseurl``; the effective launch container follows Moodle's
``lti_get_launch_container``: 1 (default) means the tool type's ``launchcontainer`` setting, and a
default left over means 3 (embed without blocks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..i18n import N_, JoinedMessage, Message
from ..params.findings import ERROR, WARNING, Finding
from .database import MoodleDatabase
from .errors import ActivityNotFound, LmsError

#: mod_lti's launch containers (lib.php LTI_LAUNCH_CONTAINER_*).
LAUNCH_DEFAULT, LAUNCH_EMBED, LAUNCH_EMBED_NO_BLOCKS, LAUNCH_WINDOW, LAUNCH_REPLACE_MOODLE_WINDOW = 1, 2, 3, 4, 5
EMBEDDED_CONTAINERS = frozenset({LAUNCH_EMBED, LAUNCH_EMBED_NO_BLOCKS})


def _split_url(url: str) -> tuple[str, str, int | None, str] | None:
    """(scheme, host, port or None for the scheme's default, path without trailing '/'), or None."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    if port == {"http": 80, "https": 443}.get(scheme):
        port = None
    return scheme, parts.hostname.lower(), port, parts.path.rstrip("/")


@dataclass(frozen=True)
class HubTool:
    """How to recognise this JupyterHub among a course's LTI tools.

    ``urls``: launch URLs of the hub (``https://hub.example.org/hub/lti/launch``); a tool URL
    matches when scheme, host and port are the same and its path starts with the URL's path.
    ``domains``: host names (``hub.example.org``, ``*.example.org`` for sub-domains, ``host:port``);
    they match the tool URL's host or the tool type's ``tooldomain``.
    """

    urls: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for url in self.urls:
            if _split_url(url) is None:
                raise LmsError(f"hub URL {url!r} is not a URL like https://hub.example.org/hub/lti/launch")

    @property
    def configured(self) -> bool:
        return bool(self.urls or self.domains)

    def matches(self, tool_url: str | None, tool_domain: str | None) -> bool | None:
        """True when the tool is this hub, False when not, None when no hub is configured."""
        if not self.configured:
            return None
        tool = _split_url(tool_url) if tool_url else None
        for url in self.urls:
            want = _split_url(url)
            if tool is None or want is None:
                continue
            if tool[:3] == want[:3] and (tool[3] == want[3] or tool[3].startswith(want[3] + "/") or not want[3]):
                return True
        hosts = set()
        if tool is not None:
            hosts.add(tool[1])
            if tool[2] is not None:
                hosts.add(f"{tool[1]}:{tool[2]}")
        if tool_domain:
            hosts.add(tool_domain.strip().lower())
        for domain in (d.strip().lower() for d in self.domains):
            if domain.startswith("*."):
                if any(host.split(":")[0].endswith(domain[1:]) for host in hosts):
                    return True
            elif domain in hosts:
                return True
        return False


#: No hub configured: ``ours`` is None for every activity.
NO_HUB = HubTool()


@dataclass(frozen=True)
class Activity:
    """One LTI activity of a course, as Moodle stores it.

    ``text`` is ``instructorcustomparameters`` exactly (``raw_text`` keeps NULL as None);
    ``section`` is the section number (0 is the top section) and ``position`` the place in its
    ``sequence`` (0-based; None when missing from it); ``launch_container`` is the effective one.
    ``ours`` says whether the tool is this hub (None: no hub configured). ``findings`` are the
    parameter text's findings (:func:`ipynb_tools.params.validate.validate`); ``hidden`` is the
    listing setting (:mod:`ipynb_tools.lms.listing`).
    """

    course: int
    course_name: str
    cmid: int
    lti_id: int
    name: str
    section: int | None
    position: int | None
    visible: bool
    type_id: int | None
    type_name: str | None
    tool_url: str | None
    tool_domain: str | None
    launch_container: int
    raw_text: str | None
    timemodified: int
    ours: bool | None = None
    hidden: bool = False
    findings: tuple[Finding, ...] = field(default=(), compare=False)

    @property
    def text(self) -> str:
        return self.raw_text or ""

    @property
    def embedded(self) -> bool:
        """Shown inside Moodle's page (launch container 2 or 3): ``lms_iframe=1`` (SPEC 10)."""
        return self.launch_container in EMBEDDED_CONTAINERS

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == WARNING for f in self.findings)

    def summary(self) -> str:
        """One line about the parameters (people, image, volumes) and their findings."""
        return str(self.summary_message())

    def summary_message(self) -> Message:
        """:meth:`summary` as a message to translate where it is shown (the console's LTI connections)."""
        from ..params.summary import one_line_message
        from ..params.text import parse

        line = one_line_message(parse(self.text)) if self.text.strip() else Message(N_("no custom parameters"))
        counts = (
            Message(N_("%(errors)d error(s), %(warnings)d warning(s)"), errors=self.errors, warnings=self.warnings)
            if self.findings
            else Message(N_("no findings"))
        )
        return JoinedMessage(line, counts, separator="; ")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``cmid``, ``lti_id``, ``name``, ``section``, ``visible``, ``ours``, ``findings``
        (the number of errors and warnings), and the rest of the fields."""
        return {
            "course": self.course,
            "cmid": self.cmid,
            "lti_id": self.lti_id,
            "name": self.name,
            "section": self.section,
            "position": self.position,
            "visible": self.visible,
            "hidden": self.hidden,
            "ours": self.ours,
            "tool": {
                "type_id": self.type_id,
                "type_name": self.type_name,
                "url": self.tool_url,
                "domain": self.tool_domain,
            },
            "launch_container": self.launch_container,
            "embedded": self.embedded,
            "findings": self.errors + self.warnings,
            "errors": self.errors,
            "warnings": self.warnings,
            "summary": self.summary(),
            "timemodified": self.timemodified,
        }


def _sequence(text: str | None) -> list[int]:
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if part.isdigit():
            out.append(int(part))
    return out


def effective_launch_container(own: int | None, type_setting: str | None) -> int:
    """Moodle's ``lti_get_launch_container`` without the mobile case: 1 defers to the tool type's
    setting; a default left over is 3 (embed without blocks)."""
    container = own or LAUNCH_DEFAULT
    if container == LAUNCH_DEFAULT and type_setting is not None and str(type_setting).strip().isdigit():
        container = int(str(type_setting).strip())
    if container == LAUNCH_DEFAULT or container not in (2, 3, 4, 5):
        container = LAUNCH_EMBED_NO_BLOCKS
    return container


def _query(db: MoodleDatabase) -> sa.Select[Any]:
    t = db.tables
    cm, m, lti, cs, ty = t.course_modules, t.modules, t.lti, t.course_sections, t.lti_types
    return (
        sa.select(
            cm.c.id.label("cmid"),
            cm.c.course.label("cm_course"),
            cm.c.visible,
            cm.c.deletioninprogress,
            lti.c.id.label("lti_id"),
            lti.c.course.label("lti_course"),
            lti.c.name,
            lti.c.typeid,
            lti.c.toolurl,
            lti.c.instructorcustomparameters.label("text"),
            lti.c.launchcontainer,
            lti.c.timemodified,
            cs.c.section.label("section_number"),
            cs.c.sequence,
            ty.c.name.label("type_name"),
            ty.c.baseurl,
            ty.c.tooldomain,
        )
        .select_from(cm)
        .join(m, sa.and_(m.c.id == cm.c.module, m.c.name == "lti"))
        .join(lti, lti.c.id == cm.c.instance)
        .outerjoin(cs, cs.c.id == cm.c.section)
        .outerjoin(ty, ty.c.id == lti.c.typeid)
    )


def _course_name(db: MoodleDatabase, conn: sa.Connection, course: int) -> str:
    c = db.tables.course
    row = conn.execute(sa.select(c.c.fullname).where(c.c.id == course)).one_or_none()
    if row is None:
        raise ActivityNotFound(f"{db.site}: course {course} does not exist")
    return str(row.fullname or "")


def _type_containers(db: MoodleDatabase, conn: sa.Connection, type_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted({i for i in type_ids if i})
    if not ids:
        return {}
    tc = db.tables.lti_types_config
    rows = conn.execute(
        sa.select(tc.c.typeid, tc.c.value).where(tc.c.typeid.in_(ids), tc.c.name == "launchcontainer")
    ).all()
    return {int(r.typeid): str(r.value) for r in rows if r.value is not None}


def _activities(
    db: MoodleDatabase, conn: sa.Connection, course: int, rows: Sequence[Any], hub: HubTool
) -> list[Activity]:
    from ..params.validate import validate

    course_name = _course_name(db, conn, course)
    containers = _type_containers(db, conn, (r.typeid for r in rows))
    out = []
    for r in rows:
        sequence = _sequence(r.sequence)
        position = sequence.index(r.cmid) if r.cmid in sequence else None
        tool_url = r.toolurl if (r.toolurl or "").strip() else r.baseurl
        text = r.text
        out.append(
            Activity(
                course=course,
                course_name=course_name,
                cmid=int(r.cmid),
                lti_id=int(r.lti_id),
                name=str(r.name or ""),
                section=None if r.section_number is None else int(r.section_number),
                position=position,
                visible=bool(r.visible),
                type_id=int(r.typeid) if r.typeid else None,
                type_name=r.type_name,
                tool_url=tool_url or None,
                tool_domain=r.tooldomain or None,
                launch_container=effective_launch_container(
                    r.launchcontainer, containers.get(int(r.typeid)) if r.typeid else None
                ),
                raw_text=text,
                timemodified=int(r.timemodified or 0),
                ours=hub.matches(tool_url, r.tooldomain),
                findings=tuple(validate(text or "", source_name=f"lti {r.lti_id}")) if (text or "").strip() else (),
            )
        )
    return out


def _order(activity: Activity) -> tuple[Any, ...]:
    return (
        activity.section is None,
        activity.section or 0,
        activity.position is None,
        activity.position or 0,
        activity.cmid,
    )


def list_activities(
    db: MoodleDatabase, course: int, *, hub: HubTool = NO_HUB, all_tools: bool = False
) -> list[Activity]:
    """The LTI activities of ``course`` in course order, without modules being deleted; only those
    whose tool is this hub unless ``all_tools``. ActivityNotFound when the course does not exist;
    LmsError when no hub is configured and ``all_tools`` is false (nothing could be chosen)."""
    if not all_tools and not hub.configured:
        raise LmsError("which tool is this JupyterHub? give --hub-url or --hub-domain (or list --all-tools)")
    t = db.tables
    query = _query(db).where(
        t.course_modules.c.course == course, sa.func.coalesce(t.course_modules.c.deletioninprogress, 0) == 0
    )
    with db.connect("listing LTI activities") as conn:
        rows = conn.execute(query).all()
        activities = _activities(db, conn, course, rows, hub)
    chosen = [a for a in activities if all_tools or a.ours]
    return sorted(chosen, key=_order)


def get_activity(db: MoodleDatabase, lti_id: int, course: int, *, hub: HubTool = NO_HUB) -> Activity:
    """The activity of LTI instance ``lti_id``, which must belong to ``course`` and not be being
    deleted; ActivityNotFound (one line) otherwise."""
    t = db.tables
    with db.connect("reading the LTI activity") as conn:
        rows = conn.execute(_query(db).where(t.lti.c.id == lti_id)).all()
        if not rows:
            raise ActivityNotFound(f"{db.site}: there is no LTI activity {lti_id} ({t.lti.name}.id)")
        row = rows[0]
        if int(row.lti_course) != course or int(row.cm_course) != course:
            raise ActivityNotFound(f"LTI activity {lti_id} belongs to course {row.lti_course}, not to course {course}")
        live = [r for r in rows if not r.deletioninprogress]
        if not live:
            raise ActivityNotFound(f"LTI activity {lti_id} of course {course} is being deleted")
        return _activities(db, conn, course, live[:1], hub)[0]


def with_hidden(activities: Iterable[Activity], hidden: Iterable[int]) -> list[Activity]:
    """The activities with ``hidden`` set for the LTI ids in ``hidden``."""
    ids = set(hidden)
    return [replace(a, hidden=a.lti_id in ids) for a in activities]
