"""The work behind the console's Edit, Connections and Settings pages (issue 15; SPEC 10, 11), without
the web: read an activity's custom parameters through the LMS adapter, build the form, check a
submitted form, save it, create its volumes, and list/hide/show a course's LTI connections.

Saving goes through the LMS adapter's one write path (:func:`ipynb_tools.lms.store.edit_params`:
the automatic keys filled in, errors and new warnings refused, the column's real size, compare-and-set
with a read-back), with the whole text replaced by the form's compact text
(:func:`_replacement`), as the old module's Lti Edit rebuilt the text on save.
A form made from an older version of the activity (someone saved it in Moodle, or in another tab,
after the form was opened) is refused: :class:`StaleForm`.

Hidden activities (Lti Settings) live in the project's own database (:mod:`ipynb_tools.lms.listing`),
never in Moodle's tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from ..errors import IpynbToolsError
from ..lms.activities import NO_HUB, Activity, HubTool, list_activities, with_hidden
from ..lms.automatic import SiteKeys, automatic_values
from ..lms.database import MoodleDatabase
from ..lms.store import Edit, EditOutcome, StoredParams, plan_edit, read_params, write_plan
from ..params.findings import Finding
from ..params.model import Params
from ..params.storage import StorageLimit
from ..params.text import parse_with_findings
from .forms import FormData, ParamsForm, Preview, filter_images, form_from_params, params_from_form, preview

#: The environment variable holding the execution-log collector's token for ``lms_rpctoken`` (as
#: ``ipynb-tools moodle --rpc-token-env``'s default); unset: the key is left as it is.
RPC_TOKEN_ENV = "IPYNB_TOOLS_RPC_TOKEN"


class StaleForm(IpynbToolsError):
    """The activity was saved since the form was made from it: nothing written; reload the form."""


@dataclass(frozen=True)
class LmsSite:
    """How the console talks to the LMS: which tool is this hub (``hub``), the automatic keys' sources
    (``keys``), and where the hidden-activity settings are (``listing_store``, an execution-log
    store URL or path: :func:`ipynb_tools.lms.listing.store_url`)."""

    hub: HubTool = NO_HUB
    keys: SiteKeys = field(default_factory=SiteKeys)
    listing_store: str | None = None

    @classmethod
    def from_config(cls, config: Any, wwwroot: str | None, env: dict[str, str] | None = None) -> LmsSite:
        """From the console's settings (``lms_hub_urls``, ``lms_hub_domains``, ``lms_server_url``, ``db``)
        and the environment (``$IPYNB_TOOLS_RPC_TOKEN``, never a setting a page could show)."""
        environ = os.environ if env is None else env
        return cls(
            hub=HubTool(urls=tuple(config.lms_hub_urls), domains=tuple(config.lms_hub_domains)),
            keys=SiteKeys(
                server_url=config.lms_server_url or wwwroot or None, rpc_token=environ.get(RPC_TOKEN_ENV) or None
            ),
            listing_store=config.db or None,
        )


@dataclass(frozen=True)
class EditView:
    """Everything the Edit page shows: the activity as stored, the form (as stored or as submitted),
    its preview (text, stored length, findings) and the findings of the stored text."""

    stored: StoredParams
    params: Params
    form: ParamsForm
    preview: Preview
    stored_findings: tuple[Finding, ...]

    @property
    def activity(self) -> Activity:
        return self.stored.activity


def storage_limit(stored: StoredParams, site: LmsSite) -> StorageLimit | None:
    """The column's limit counting the automatic values the adapter will write for this activity (the
    real ones: the course and activity names, ``lms_sessioninfo``...), None for a column without one."""
    capacity = stored.column.capacity
    if capacity is None:
        return None
    return StorageLimit(capacity, stored.column.unit, automatic_values(stored.activity, site.keys), typical=False)


def engine_images(engine: Any, spec: str) -> list[str]:
    """The tags of the engine's images a teacher may choose (:func:`ipynb_tools.console.forms.filter_images`
    with the site's ``spec``). Raises the volumes library's EngineError when the engine does not answer."""
    from ..volumes.engine import calling

    with calling(engine, "listing images"):
        images = engine.api.images()  # the low-level list: one dict per image, its RepoTags
    return filter_images((tag for image in images for tag in (image.get("RepoTags") or ())), spec)


def _view(stored: StoredParams, site: LmsSite, zone: tzinfo, data: FormData | None) -> EditView:
    params, stored_findings = parse_with_findings(stored.activity.text, f"lti {stored.activity.lti_id}")
    if data is None:
        form = form_from_params(params, zone)
        shown = preview(params, storage=storage_limit(stored, site))
    else:
        edited, form_findings, form = params_from_form(data, params, zone)
        shown = preview(edited, form_findings, storage=storage_limit(stored, site))
        params = edited
    return EditView(stored, params, form, shown, tuple(stored_findings))


def open_form(db: MoodleDatabase, course: int, lti_id: int, site: LmsSite, zone: tzinfo) -> EditView:
    """The Edit page of LTI activity ``lti_id`` of ``course``: the stored text as a form.

    Raises :class:`~ipynb_tools.lms.errors.ActivityNotFound` (not of this course, being deleted) and
    the adapter's DatabaseError.
    """
    return _view(read_params(db, lti_id, course, hub=site.hub), site, zone, None)


def check_form(db: MoodleDatabase, course: int, lti_id: int, data: FormData, site: LmsSite, zone: tzinfo) -> EditView:
    """A submitted form checked against the stored activity, nothing written (live validation)."""
    return _view(read_params(db, lti_id, course, hub=site.hub), site, zone, data)


@dataclass(frozen=True)
class SaveResult:
    """What :func:`save_form` did: ``view`` (the form as submitted, with its findings), and ``outcome``
    when the adapter was asked to write (None: the form had errors, nothing was tried)."""

    view: EditView
    outcome: EditOutcome | None

    @property
    def written(self) -> bool:
        return self.outcome is not None and self.outcome.written


def save_form(
    db: MoodleDatabase,
    course: int,
    lti_id: int,
    data: FormData,
    site: LmsSite,
    zone: tzinfo,
    *,
    made_from: int | None,
    force: bool = False,
) -> SaveResult:
    """Save a submitted form: nothing is written when it has error findings, when the activity changed
    since the form was made from it (``made_from``, its ``timemodified``: :class:`StaleForm`), and
    whatever the adapter refuses (ParamsRefused for new warnings unless ``force``, TextTooLong,
    ConcurrentEdit, ActivityNotFound: raised as they are)."""
    stored = read_params(db, lti_id, course, hub=site.hub)
    if made_from is None or made_from != stored.activity.timemodified:
        raise StaleForm(
            f"LTI activity {lti_id} was saved by someone else since this form was opened; nothing was written: "
            "reload the page and make the change again"
        )
    view = _view(stored, site, zone, data)
    if not view.preview.ok:
        return SaveResult(view, None)
    # planned and written against the very version checked above (compare-and-set in write_plan)
    plan = plan_edit(stored, _replacement(view.preview.text), site.keys, force=force, table=db.tables.lti.name)
    if not plan.changed:
        return SaveResult(view, EditOutcome(plan, False, None))
    return SaveResult(view, EditOutcome(plan, True, write_plan(db, plan)))


def _replacement(text: str) -> Edit:
    """The edit that replaces the whole text by the form's ``text``. Its findings are the new text's own,
    which :func:`~ipynb_tools.lms.store.plan_edit` finds again (``replace_with`` hands them over too, and
    each was then counted twice: a warning the stored text already had read as a new one)."""

    def edit(_old: str) -> tuple[str, list[Finding]]:
        return text, []

    return edit


def create_volumes_now(text: str, course: int, host: str, engine: Any) -> list[Any]:
    """The old module's "make volumes": create the missing task and submit volumes ``text`` names for
    ``course`` on ``engine`` (:func:`ipynb_tools.lms.volumes.create_course_volumes`); returns the volumes
    library's CreateResult list. Raises EngineError, VolumeNameError."""
    from ..lms.volumes import create_course_volumes

    return create_course_volumes(text, course, host, engine=engine)


# -- connections and settings --------------------------------------------------------------------


def listing_site(db: MoodleDatabase) -> str:
    """How the hidden-activity settings tell Moodle sites apart (:func:`ipynb_tools.lms.listing.site_key`)."""
    from ..lms.listing import site_key

    return site_key(db.wwwroot, db.site)


def connections(db: MoodleDatabase, course: int, site: LmsSite) -> list[Activity]:
    """The course's LTI activities of this hub (all LTI tools when the console is not told which tool is
    this hub), in course order, each marked ``hidden`` as the Settings page keeps it."""
    from ..lms.listing import ListingStore

    activities = list_activities(db, course, hub=site.hub, all_tools=not site.hub.configured)
    with ListingStore(site.listing_store) as settings:
        return with_hidden(activities, settings.hidden(listing_site(db), course))


def set_hidden(db: MoodleDatabase, course: int, lti_id: int, hidden: bool, site: LmsSite) -> bool:
    """Hide (or show again) an activity of ``course`` in the Connections list; True when it changed.

    ActivityNotFound for an activity that is not the course's: a teacher hides only their own course's."""
    from ..lms.activities import get_activity
    from ..lms.listing import ListingStore

    get_activity(db, lti_id, course, hub=site.hub)
    with ListingStore(site.listing_store) as settings:
        return settings.set_hidden(listing_site(db), course, lti_id, hidden)
