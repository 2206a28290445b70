"""An activity's custom parameters where Moodle keeps them (``<prefix>lti.instructorcustomparameters``):
read them, and write an edit safely (SPEC 10, issue 14).

An edit is any function of the ``params`` library (``set_param``, ``unset_param``, ``add_volume``,
``remove_volume``, or a whole new text): :func:`plan_edit` applies it to the stored text, fills the
automatic keys (:mod:`ipynb_tools.lms.automatic`), and refuses, with nothing written,

- a text with error findings, and warnings the edit brings in unless ``force`` (warnings the text
  already had do not stop an edit);
- a text that does not fit the column's real size (Moodle declares ``char(255)``; MariaDB/MySQL
  outside strict mode would cut it silently), saying how much is over.

:func:`write_plan` then writes in one transaction: it locks the row (``SELECT ... FOR UPDATE``, a
bounded wait), compares the text byte for byte and ``timemodified`` with what the plan was made
from (someone saving the activity in Moodle in between: :class:`ConcurrentEdit`, nothing written),
updates the text and ``timemodified`` (with ``timemodified`` in the ``WHERE`` too), reads the text
back and rolls back unless it is exactly what was meant.
"""

from __future__ import annotations

import difflib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..params.findings import ERROR, WARNING, Finding
from ..params.validate import validate
from .activities import NO_HUB, Activity, HubTool, get_activity
from .automatic import SiteKeys, automatic_values, fill_automatic
from .database import PARAMS_COLUMN, ColumnLimit, MoodleDatabase
from .errors import ActivityNotFound, ConcurrentEdit, DatabaseError, ParamsRefused, TextTooLong

#: An edit: the stored text -> (new text, what the edit noticed); the ``params.edit`` functions with
#: their arguments bound, or :func:`replace_with`.
Edit = Callable[[str], tuple[str, list[Finding]]]


def replace_with(text: str, source: str = "<new text>") -> Edit:
    """The edit that replaces the whole text by ``text`` (``moodle params replace --from FILE``)."""
    from ..params.text import parse_with_findings

    def edit(_old: str) -> tuple[str, list[Finding]]:
        return text, parse_with_findings(text, source)[1]

    return edit


@dataclass(frozen=True)
class StoredParams:
    """An activity and the column its text lives in."""

    activity: Activity
    column: ColumnLimit

    @property
    def left(self) -> int | None:
        """Characters (bytes for a MySQL TEXT) left in the column; None: no limit."""
        return self.column.left(self.activity.text)


@dataclass(frozen=True)
class Plan:
    """An edit ready to write: the text before and after, the diff, and the findings of the new text
    (``new_warnings``: those the edit brought in)."""

    stored: StoredParams
    after: str
    findings: tuple[Finding, ...]
    new_warnings: tuple[Finding, ...]
    edit_findings: tuple[Finding, ...] = field(default=())

    @property
    def before(self) -> str:
        return self.stored.activity.text

    @property
    def changed(self) -> bool:
        return self.after != self.before

    @property
    def left(self) -> int | None:
        """Room left in the column after the new text (None: no limit)."""
        return self.stored.column.left(self.after)

    def length_finding(self) -> Finding | None:
        """The params library's finding about the new text's stored length (a warning when less
        than a tenth of the column is left), or None when the column has no limit."""
        limit = self.stored.column.storage()
        found = limit.check(self.after) if limit is not None else []
        return found[0] if found else None

    def diff(self) -> list[str]:
        """A unified diff of the lines (line endings not shown), empty when nothing changes."""
        name = f"lti {self.stored.activity.lti_id}"
        return list(
            difflib.unified_diff(
                self.before.splitlines(), self.after.splitlines(), f"{name} (stored)", f"{name} (new)", lineterm=""
            )
        )


def read_params(db: MoodleDatabase, lti_id: int, course: int, *, hub: HubTool = NO_HUB) -> StoredParams:
    """The activity (text, timemodified, findings) and the real column type."""
    activity = get_activity(db, lti_id, course, hub=hub)
    with db.connect("reading the column type") as conn:
        column = db.params_column(conn)
    return StoredParams(activity, column)


def _identity(finding: Finding) -> tuple[str, str | None, str]:
    return finding.severity, finding.key, finding.message


def check_fits(text: str, column: ColumnLimit, table: str) -> None:
    """TextTooLong when ``text`` does not fit ``column``, with the params library's message (by how much,
    what takes the room, whether the compact form would fit: :mod:`ipynb_tools.params.storage`)."""
    limit = column.storage()
    if limit is None:
        return
    for finding in limit.check(text):
        if finding.severity == ERROR:
            raise TextTooLong(
                f"{finding.message}; {table}.{PARAMS_COLUMN} is {column.type_name} in this database; "
                "nothing was written",
                finding=finding,
            )


def plan_edit(stored: StoredParams, edit: Edit, site: SiteKeys, *, force: bool = False, table: str = "lti") -> Plan:
    """Apply ``edit`` and the automatic keys to the stored text and check the result (see the module
    docstring). ParamsError (from the edit), ParamsRefused or TextTooLong when it cannot be written;
    ParamsRefused also for an activity whose tool is known not to be this hub (``activity.ours`` False:
    read with a configured :class:`HubTool`)."""
    activity = stored.activity
    if activity.ours is False:
        tool = activity.type_name or activity.tool_url or "another tool"
        raise ParamsRefused(
            f"LTI activity {activity.lti_id} ({activity.name}) launches {tool}, not this JupyterHub: its custom "
            "parameters (and lms_rpctoken) would go to that tool; nothing was written"
        )
    before = activity.text
    edited, edit_findings = edit(before)
    after = fill_automatic(edited, automatic_values(stored.activity, site))
    findings = validate(after, source_name=f"lti {stored.activity.lti_id}")
    errors = [f for f in findings if f.severity == ERROR]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ParamsRefused(
            f"LTI activity {stored.activity.lti_id}: the new text has an error: "
            f"{'' if first.line is None else f'line {first.line}: '}{first.message}{more}; nothing was written",
            finding=first,
        )
    old = Counter(_identity(f) for f in validate(before) if f.severity == WARNING)
    new_warnings = []
    # replace_with's findings are the new text's parse findings, which validate(after) gives again:
    # counted twice, a warning the stored text already had looked new and needed --force.
    seen_in_after = {_identity(f) for f in findings}
    merged = [*findings, *(f for f in edit_findings if _identity(f) not in seen_in_after)]
    for finding in merged:
        if finding.severity != WARNING:
            continue
        if old[_identity(finding)] > 0:
            old[_identity(finding)] -= 1
        else:
            new_warnings.append(finding)
    if new_warnings and not force:
        first = new_warnings[0]
        raise ParamsRefused(
            f"LTI activity {stored.activity.lti_id}: the edit brings {len(new_warnings)} new warning(s), first: "
            f"{first.message}; nothing was written (--force writes it anyway)",
            finding=first,
            new_warnings=len(new_warnings),
        )
    check_fits(after, stored.column, table)
    return Plan(stored, after, tuple(findings), tuple(new_warnings), tuple(edit_findings))


def write_plan(db: MoodleDatabase, plan: Plan, *, now: int | None = None) -> int:
    """Write ``plan.after`` with compare-and-set in one transaction; returns the new ``timemodified``.

    ConcurrentEdit when the stored text or ``timemodified`` is no longer what the plan was made from;
    DatabaseError when the database keeps something else than what was written (rolled back).
    """
    lti = db.tables.lti
    activity = plan.stored.activity
    stamp = int(time.time()) if now is None else now
    with db.transaction("writing the custom parameters") as conn:
        row = conn.execute(
            sa.select(lti.c.instructorcustomparameters.label("text"), lti.c.timemodified, lti.c.course)
            .where(lti.c.id == activity.lti_id)
            .with_for_update()
        ).one_or_none()
        if row is None or int(row.course) != activity.course:
            raise ActivityNotFound(f"LTI activity {activity.lti_id} is gone from course {activity.course}")
        if row.text != activity.raw_text or int(row.timemodified or 0) != activity.timemodified:
            raise ConcurrentEdit(
                f"LTI activity {activity.lti_id} was changed since it was read (saved in Moodle at "
                f"{row.timemodified}); nothing was written: read it again and redo the edit"
            )
        timemodified = lti.c.timemodified == activity.timemodified
        if activity.timemodified == 0:
            timemodified = sa.or_(timemodified, lti.c.timemodified.is_(None))
        result = conn.execute(
            sa.update(lti)
            .where(lti.c.id == activity.lti_id, timemodified)
            .values({PARAMS_COLUMN: plan.after, "timemodified": stamp})
        )
        if result.rowcount != 1:
            raise ConcurrentEdit(f"LTI activity {activity.lti_id} was changed while writing; nothing was written")
        back = conn.execute(sa.select(lti.c.instructorcustomparameters).where(lti.c.id == activity.lti_id)).scalar_one()
        if back != plan.after:
            raise DatabaseError(
                f"{db.site}: the database kept {len(back or '')} of the {len(plan.after)} characters written "
                f"to {lti.name}.{PARAMS_COLUMN} (truncated or re-encoded); rolled back, nothing was written"
            )
    return stamp


@dataclass(frozen=True)
class EditOutcome:
    """What :func:`edit_params` did: the plan (diff, findings, room left) and whether it was written."""

    plan: Plan
    written: bool
    timemodified: int | None


def edit_params(
    db: MoodleDatabase,
    lti_id: int,
    course: int,
    edit: Edit,
    site: SiteKeys,
    *,
    force: bool = False,
    dry_run: bool = False,
    hub: HubTool = NO_HUB,
) -> EditOutcome:
    """Read, plan, and (unless ``dry_run`` or nothing changes) write an edit of one activity's text.
    With ``hub`` configured, an activity of another tool is refused (:func:`plan_edit`)."""
    stored = read_params(db, lti_id, course, hub=hub)
    plan = plan_edit(stored, edit, site, force=force, table=db.tables.lti.name)
    if dry_run or not plan.changed:
        return EditOutcome(plan, False, None)
    return EditOutcome(plan, True, write_plan(db, plan))
