"""``ipynb-tools moodle``: a course's LTI activities and their custom parameters, in Moodle's own
database (docs/lms.md). Parses options, calls :mod:`ipynb_tools.lms`, prints.

Size (over ~450 lines): one module per command (docs/DEVELOPING.md, ``cli/``); the group's nine
subcommands share the connection and hub options, and each one only parses, calls and prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from .errors import report_errors

CONTEXT = {"help_option_names": ["-h", "--help"]}
#: Commands whose values may start with '-' (a teacher-only access name such as ``-教材``): an
#: argument that is not one of the command's options is taken as a value, not refused as an option.
VALUES = {**CONTEXT, "ignore_unknown_options": True}


def _options(func: Callable[..., Any], options: list[Callable[..., Any]]) -> Callable[..., Any]:
    for option in reversed(options):
        func = option(func)
    return func


def _connection(func: Callable[..., Any]) -> Callable[..., Any]:
    """Where the Moodle database is, and which course."""
    return _options(
        func,
        [
            click.option(
                "--moodle-config",
                metavar="PATH",
                envvar="IPYNB_TOOLS_MOODLE_CONFIG",
                show_envvar=True,
                help="The site's config.php (read, never run): database, prefix, wwwroot.",
            ),
            click.option(
                "--db",
                "db_url",
                metavar="URL",
                envvar="IPYNB_TOOLS_MOODLE_DB",
                show_envvar=True,
                help="SQLAlchemy URL instead of --moodle-config: postgresql://user@host/moodle, "
                "mysql+pymysql://user@host/moodle. Its password may come from IPYNB_TOOLS_MOODLE_DB_PASSWORD.",
            ),
            click.option(
                "--prefix",
                envvar="IPYNB_TOOLS_MOODLE_PREFIX",
                show_envvar=True,
                help="Table prefix (default: config.php's, else mdl_).",
            ),
            click.option(
                "--wwwroot",
                metavar="URL",
                envvar="IPYNB_TOOLS_MOODLE_WWWROOT",
                show_envvar=True,
                help="The site's URL (default: config.php's): lms_serverurl/lms_serverpath, the LMS host name.",
            ),
            click.option("--course", required=True, type=int, help="The Moodle course id (the LTI context_id)."),
        ],
    )


def _hub(func: Callable[..., Any]) -> Callable[..., Any]:
    return _options(
        func,
        [
            click.option(
                "--hub-url",
                "hub_urls",
                multiple=True,
                metavar="URL",
                envvar="IPYNB_TOOLS_HUB_URL",
                show_envvar=True,
                help="This JupyterHub's LTI launch URL (repeat for several); tools under it are 'ours', "
                "and edits refuse the activities of other tools.",
            ),
            click.option(
                "--hub-domain",
                "hub_domains",
                multiple=True,
                metavar="HOST",
                envvar="IPYNB_TOOLS_HUB_DOMAIN",
                show_envvar=True,
                help="This JupyterHub's host name (*.example.org for sub-domains); repeat for several.",
            ),
        ],
    )


def _edit_options(func: Callable[..., Any]) -> Callable[..., Any]:
    return _options(
        func,
        [
            click.option("--force", is_flag=True, help="Write even when the edit brings new warnings (never errors)."),
            click.option("--dry-run", "-n", is_flag=True, help="Print the diff and findings; write nothing."),
            click.option(
                "--server-url",
                metavar="URL",
                envvar="IPYNB_TOOLS_LMS_SERVER_URL",
                show_envvar=True,
                help="What lms_serverurl/lms_serverpath say (where execution logs go); default: the wwwroot.",
            ),
            click.option(
                "--rpc-token-env",
                metavar="VAR",
                default="IPYNB_TOOLS_RPC_TOKEN",
                show_default=True,
                help="Environment variable holding the collector's token for lms_rpctoken (unset: kept as is).",
            ),
            click.option(
                "--instance-id", type=int, help="First number of lms_sessioninfo (default: kept, else the cmid)."
            ),
            click.option(
                "--create-volumes",
                is_flag=True,
                help="After writing, create the task and submit volumes of the new text (the old 'make volumes').",
            ),
            click.option(
                "--engine-url",
                metavar="URL",
                help="Container engine for --create-volumes (default: DOCKER_HOST, else the local socket).",
            ),
            click.option("--lms-host", help="LMS host name in volume names (default: the wwwroot's host)."),
        ],
    )


def _open(moodle_config: str | None, db_url: str | None, prefix: str | None, wwwroot: str | None) -> Any:
    import os

    from ..lms.database import open_moodle

    return open_moodle(
        moodle_config=moodle_config,
        db=db_url,
        prefix=prefix,
        wwwroot=wwwroot,
        password=os.environ.get("IPYNB_TOOLS_MOODLE_DB_PASSWORD"),
    )


def _site_name(db: Any) -> str:
    """How the listing settings tell Moodle sites apart (:func:`ipynb_tools.lms.listing.site_key`)."""
    from ..lms.listing import site_key

    return site_key(db.wwwroot, db.site)


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _kind(value: str) -> str:
    """A volume kind's code from its code or label (:meth:`ipynb_tools.volumes.naming.VolumeKind.parse`)."""
    from ..volumes.naming import VolumeKind, VolumeNameError

    try:
        return str(VolumeKind.parse(value).value)
    except VolumeNameError:
        raise click.BadParameter(f"{value!r} is not one of vol/task, sub/submit, prs/personal") from None


@click.group(context_settings=CONTEXT)
def moodle() -> None:
    """A course's LTI activities and their custom parameters, in Moodle's own database.

    \b
    The database is given by the site's config.php (--moodle-config, read without running
    PHP) or an SQLAlchemy URL (--db with --prefix). The password is never printed.
    Editing commands use the same edits as 'ipynb-tools params', fill the automatic keys,
    refuse texts with errors (new warnings need --force) or that do not fit the column,
    print the diff, and write in one transaction that refuses when the activity was
    changed in Moodle meanwhile.
    """


@moodle.command("ltis", context_settings=CONTEXT)
@_connection
@_hub
@click.option("--all-tools", is_flag=True, help="Also list activities of other LTI tools.")
@click.option("--hidden", "with_hidden", is_flag=True, help="Also list the activities hidden with 'moodle hide'.")
@click.option(
    "--store",
    metavar="URL|PATH",
    help="The settings database (default: $IPYNB_TOOLS_EXECLOG_DB, else ./execlog.sqlite).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@report_errors
def ltis(
    moodle_config: str | None,
    db_url: str | None,
    prefix: str | None,
    wwwroot: str | None,
    course: int,
    hub_urls: tuple[str, ...],
    hub_domains: tuple[str, ...],
    all_tools: bool,
    with_hidden: bool,
    store: str | None,
    as_json: bool,
) -> None:
    """The course's LTI activities in course order (Lti Connections)."""
    from ..lms.activities import HubTool, list_activities
    from ..lms.activities import with_hidden as mark_hidden
    from ..lms.listing import ListingStore

    hub = HubTool(urls=hub_urls, domains=hub_domains)
    with _open(moodle_config, db_url, prefix, wwwroot) as db:
        activities = list_activities(db, course, hub=hub, all_tools=all_tools)
        site = _site_name(db)
    with ListingStore(store) as settings:
        activities = mark_hidden(activities, settings.hidden(site, course))
    if not with_hidden:
        activities = [a for a in activities if not a.hidden]
    if as_json:
        _print_json([a.to_dict() for a in activities])
        return
    for a in activities:
        flags = [] if a.visible else ["not visible to students"]
        if a.hidden:
            flags.append("hidden here")
        if a.ours is False:
            flags.append("other tool")
        where = f"section {a.section}" if a.section is not None else "no section"
        tool = a.type_name or (a.tool_url or "?")
        click.echo(
            f"lti {a.lti_id} (cm {a.cmid}, {where}) {a.name} [{tool}]{' (' + ', '.join(flags) + ')' if flags else ''}"
        )
        click.echo(f"    {a.summary()}")
    if not activities:
        click.echo(f"course {course}: no LTI activities to list", err=True)


@moodle.group("params", context_settings=CONTEXT)
def params_group() -> None:
    """Show and edit one activity's custom parameters (LTI_ID is <prefix>lti.id)."""


@params_group.command("show", context_settings=CONTEXT)
@click.argument("lti_id", type=int)
@_connection
@click.option("--json", "as_json", is_flag=True, help="Print JSON: text, findings, model, column room.")
@report_errors
def params_show(
    lti_id: int,
    moodle_config: str | None,
    db_url: str | None,
    prefix: str | None,
    wwwroot: str | None,
    course: int,
    as_json: bool,
) -> None:
    """Print the stored text, its findings and the room left in the column."""
    from ..lms.store import read_params
    from ..params.text import parse

    with _open(moodle_config, db_url, prefix, wwwroot) as db:
        stored = read_params(db, lti_id, course)
        table = db.tables.lti.name
    a = stored.activity
    column = stored.column
    room = (
        f"{column.size_of(a.text)} of {column.capacity} {column.unit} used, {stored.left} left"
        if column.capacity is not None
        else f"{len(a.text)} characters (the column has no practical limit)"
    )
    if as_json:
        _print_json(
            {
                "lti_id": a.lti_id,
                "cmid": a.cmid,
                "name": a.name,
                "text": a.raw_text,
                "timemodified": a.timemodified,
                "findings": [f.to_dict() for f in a.findings],
                "params": parse(a.text).to_dict(),
                "column": {"table": table, "type": column.type_name, "size": column.capacity, "unit": column.unit},
                "left": stored.left,
            }
        )
        return
    click.echo(f"# lti {a.lti_id} (cm {a.cmid}): {a.name}; {room}")
    for line in a.text.splitlines():
        click.echo(line)
    for finding in a.findings:
        click.echo(finding.format(f"lti {a.lti_id}"), err=True)


def _edit(
    lti_id: int,
    edit: Callable[[str], Any],
    *,
    moodle_config: str | None,
    db_url: str | None,
    prefix: str | None,
    wwwroot: str | None,
    course: int,
    force: bool,
    dry_run: bool,
    server_url: str | None,
    rpc_token_env: str,
    instance_id: int | None,
    create_volumes: bool,
    engine_url: str | None,
    lms_host: str | None,
    hub_urls: tuple[str, ...],
    hub_domains: tuple[str, ...],
) -> None:
    """Run one edit and print: the diff on stdout, findings and the outcome on stderr."""
    import contextlib
    import os

    from ..lms.activities import HubTool
    from ..lms.automatic import SiteKeys
    from ..lms.store import edit_params
    from ..lms.volumes import create_course_volumes
    from ..lms.volumes import lms_host as host_of
    from ..volumes.engine import connect

    with contextlib.ExitStack() as stack:
        db = stack.enter_context(_open(moodle_config, db_url, prefix, wwwroot))
        site = SiteKeys(
            server_url=server_url or db.wwwroot,
            rpc_token=os.environ.get(rpc_token_env) or None,
            instance_id=instance_id,
        )
        host = host_of(db.wwwroot, lms_host) if create_volumes else None
        # the engine must answer before anything is written, not only after
        engine = stack.enter_context(connect(engine_url)) if create_volumes and not dry_run else None
        hub = HubTool(urls=hub_urls, domains=hub_domains)
        outcome = edit_params(db, lti_id, course, edit, site, force=force, dry_run=dry_run, hub=hub)
        _print_outcome(lti_id, outcome, dry_run)
        if engine is not None and host is not None:
            for result in create_course_volumes(outcome.plan.after, course, host, engine=engine):
                state = "created" if result.created else "exists"
                click.echo(f"volume {result.full_name}: {state}{'; ' + result.note if result.note else ''}", err=True)


def _print_outcome(lti_id: int, outcome: Any, dry_run: bool) -> None:
    """The diff on stdout; findings, the room left and what was done on stderr."""
    plan = outcome.plan
    for line in plan.diff():
        click.echo(line)
    for finding in [*plan.edit_findings, *plan.findings]:
        if finding.severity != "info":
            click.echo(finding.format(f"lti {lti_id}"), err=True)
    length = plan.length_finding()
    if length is not None and length.severity == "warning":
        click.echo(length.format(f"lti {lti_id}"), err=True)
    room = "" if plan.left is None else f"; {plan.left} {plan.stored.column.unit} left in the column"
    if not plan.changed:
        click.echo(f"lti {lti_id}: nothing to change{room}", err=True)
    elif dry_run:
        click.echo(f"lti {lti_id}: dry run, nothing written{room}", err=True)
    else:
        click.echo(f"lti {lti_id}: written (timemodified {outcome.timemodified}){room}", err=True)


@params_group.command("set", context_settings=VALUES)
@click.argument("lti_id", type=int)
@click.argument("key")
@click.argument("value")
@_connection
@_edit_options
@_hub
@report_errors
def params_set(lti_id: int, key: str, value: str, **options: Any) -> None:
    """Set KEY to VALUE (an empty access name removes a volume), as 'params set' does."""
    from ..params.edit import set_param

    if key.startswith("-"):  # values may start with '-' here (VALUES); a key never does: a mistyped option
        raise click.UsageError(f"KEY {key!r} starts with '-': a mistyped option? (only a VALUE may start with '-')")

    _edit(lti_id, lambda text: set_param(text, key, value), **options)


@params_group.command("unset", context_settings=CONTEXT)
@click.argument("lti_id", type=int)
@click.argument("key")
@_connection
@_edit_options
@_hub
@report_errors
def params_unset(lti_id: int, key: str, **options: Any) -> None:
    """Remove every KEY line, as 'params unset' does."""
    from ..params.edit import unset_param

    _edit(lti_id, lambda text: unset_param(text, key), **options)


@params_group.command("add-volume", context_settings=VALUES)
@click.argument("lti_id", type=int)
@click.argument("kind", callback=lambda ctx, param, value: _kind(value))
@click.argument("name")
@click.argument("access")
@click.option("--user", "-u", "users", multiple=True, help="A user allowed to mount it (repeat; commas also work).")
@_connection
@_edit_options
@_hub
@report_errors
def params_add_volume(lti_id: int, kind: str, name: str, access: str, users: tuple[str, ...], **options: Any) -> None:
    """Add lms_KIND_NAME=ACCESS[:users] (KIND: vol/task, sub/submit, prs/personal)."""
    from ..params.edit import add_volume
    from ..params.model import split_users

    listed = [u for item in users for u in split_users(item)] or None
    _edit(lti_id, lambda text: add_volume(text, kind, name, access, listed), **options)


@params_group.command("remove-volume", context_settings=CONTEXT)
@click.argument("lti_id", type=int)
@click.argument("kind", callback=lambda ctx, param, value: _kind(value))
@click.argument("name")
@click.option("--keep-close", is_flag=True, help="Keep lms_sub_NAME_close of a submit volume.")
@_connection
@_edit_options
@_hub
@report_errors
def params_remove_volume(lti_id: int, kind: str, name: str, keep_close: bool, **options: Any) -> None:
    """Remove lms_KIND_NAME (and a submit volume's closing time)."""
    from ..params.edit import remove_volume

    _edit(lti_id, lambda text: remove_volume(text, kind, name, keep_close=keep_close), **options)


@params_group.command("replace", context_settings=CONTEXT)
@click.argument("lti_id", type=int)
@click.option("--from", "source", required=True, metavar="FILE", help="The new text ('-': standard input).")
@_connection
@_edit_options
@_hub
@report_errors
def params_replace(lti_id: int, source: str, **options: Any) -> None:
    """Replace the whole text by FILE's (the automatic keys are filled in again)."""
    import sys

    from ..lms.store import replace_with
    from ..params.text import decode_params, read_params_text

    if source == "-":
        text, name = decode_params(sys.stdin.buffer.read(), "<stdin>"), "<stdin>"
    else:
        text, name = read_params_text(source), source
    _edit(lti_id, replace_with(text, name), **options)


def _visibility(
    lti_id: int,
    hide: bool,
    moodle_config: str | None,
    db_url: str | None,
    prefix: str | None,
    wwwroot: str | None,
    course: int,
    store: str | None,
) -> None:
    from ..lms.activities import get_activity
    from ..lms.listing import ListingStore

    with _open(moodle_config, db_url, prefix, wwwroot) as db:
        activity = get_activity(db, lti_id, course)  # it must be this course's
        site = _site_name(db)
    with ListingStore(store) as settings:
        changed = settings.set_hidden(site, course, lti_id, hide)
    state = "hidden from" if hide else "shown in"
    click.echo(f"lti {lti_id} ({activity.name}): {state} the listing{'' if changed else ' already'}")


_STORE = click.option(
    "--store",
    metavar="URL|PATH",
    help="The settings database (default: $IPYNB_TOOLS_EXECLOG_DB, else ./execlog.sqlite).",
)


@moodle.command("hide", context_settings=CONTEXT)
@click.argument("lti_id", type=int)
@_connection
@_STORE
@report_errors
def hide(lti_id: int, **options: Any) -> None:
    """Hide an activity from 'moodle ltis' (Lti Settings; kept outside Moodle)."""
    _visibility(lti_id, True, **options)


@moodle.command("show", context_settings=CONTEXT)
@click.argument("lti_id", type=int)
@_connection
@_STORE
@report_errors
def show(lti_id: int, **options: Any) -> None:
    """Show a hidden activity in 'moodle ltis' again."""
    _visibility(lti_id, False, **options)
