"""``ipynb-tools volumes ls|create|rm|inspect``: a course's task and submit volumes on the engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from .errors import report_errors

CONTEXT = {"help_option_names": ["-h", "--help"]}


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every sub-command takes: which course, which LMS host, which engine, output form."""
    options = [
        click.option(
            "--course",
            required=True,
            envvar="IPYNB_TOOLS_COURSE",
            show_envvar=True,
            help="Course id (the LTI context_id).",
        ),
        click.option(
            "--host",
            "lms_host",
            required=True,
            envvar="IPYNB_TOOLS_LMS_HOST",
            show_envvar=True,
            help="LMS host name, e.g. el.mml.tuis.ac.jp.",
        ),
        click.option(
            "--engine-url",
            default=None,
            metavar="URL",
            help="unix:///path, tcp://host:port or ssh://user@host[:port] "
            "(default: DOCKER_HOST and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, else the local socket).",
        ),
        click.option(
            "--ssh-client",
            is_flag=True,
            help="For ssh:// URLs use the ssh command (and ~/.ssh/config) instead of paramiko.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _connect(engine_url: str | None, ssh_client: bool, course: str, lms_host: str) -> Any:
    """Check the course and host (no engine needed for that), then connect."""
    from ..volumes.engine import connect
    from ..volumes.naming import check_course, check_host

    check_course(course)
    check_host(lms_host)
    return connect(engine_url, use_ssh_client=ssh_client)


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@click.group(context_settings=CONTEXT)
def volumes() -> None:
    """Create, list, inspect and remove a course's task and submit volumes.

    \b
    Volumes are named lms_<kind>_<NAME>_<course>_<host> and labelled with course, host,
    kind and NAME. A volume is given as NAME (its task and submit volumes), vol_NAME,
    sub_NAME, or its full name. Personal (prs) volumes are directories in each user's
    home and are never created or removed here.
    """


@volumes.command("ls", context_settings=CONTEXT)
@_common
@report_errors
def ls_command(course: str, lms_host: str, engine_url: str | None, ssh_client: bool, as_json: bool) -> None:
    """List the course's task and submit volumes, and the containers using them."""
    from ..volumes.course import list_volumes

    with _connect(engine_url, ssh_client, course, lms_host) as engine:
        found = list_volumes(engine, course, lms_host)
    if as_json:
        _print_json([v.to_json() for v in found])
        return
    if not found:
        click.echo(f"no task or submit volumes for course {course} on {lms_host}", err=True)
        return
    rows = [("KIND", "NAME", "CREATED", "IN USE BY", "FULL NAME")]
    for v in found:
        kind = v.kind_label if v.labelled else f"{v.kind_label} (unlabelled)"
        rows.append((kind, v.name, v.created or "-", ", ".join(str(c) for c in v.used_by) or "-", v.full_name))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])


@volumes.command("create", context_settings=CONTEXT)
@click.argument("refs", nargs=-1, metavar="[NAME | vol_NAME | sub_NAME | FULL_NAME]...")
@click.option(
    "--params",
    "params_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Create the task and submit volumes this LTI custom-parameter file names (lms_vol_*, lms_sub_*).",
)
@_common
@report_errors
def create_command(
    refs: tuple[str, ...],
    params_file: str | None,
    course: str,
    lms_host: str,
    engine_url: str | None,
    ssh_client: bool,
    as_json: bool,
) -> None:
    """Create volumes (a bare NAME creates its task and submit volume). Existing ones are kept."""
    from ..errors import UsageError
    from ..volumes.course import create_volumes, names_from_refs, volumes_for_params

    if not refs and params_file is None:
        raise UsageError("name the volumes to create, or give --params FILE")
    wanted = names_from_refs(refs, course, lms_host)
    skipped: list[str] = []
    if params_file is not None:
        try:
            from ..params.text import read_params_file
        except ModuleNotFoundError as exc:
            raise UsageError(f"--params needs ipynb_tools.params.text, which is not installed ({exc.name})") from None
        params = read_params_file(params_file)
        wanted += volumes_for_params(params, course, lms_host)
        skipped = [v.key for v in params.volumes if not v.kind.on_engine]
    with _connect(engine_url, ssh_client, course, lms_host) as engine:
        results = create_volumes(engine, wanted)
    if as_json:
        _print_json([r.to_json() for r in results])
    else:
        for r in results:
            click.echo(f"{'created' if r.created else 'exists '} {r.full_name}")
        for key in skipped:
            click.echo(f"skipped {key}: personal volumes are directories made at container start", err=True)
    for r in results:
        if r.note:
            click.secho(f"warning: {r.full_name}: {r.note}", fg="yellow", err=True)


@volumes.command("rm", context_settings=CONTEXT)
@click.argument("refs", nargs=-1, required=True, metavar="NAME | vol_NAME | sub_NAME | FULL_NAME...")
@click.option("-f", "--force", is_flag=True, help="Remove the containers that use the volumes first.")
@_common
@report_errors
def rm_command(
    refs: tuple[str, ...],
    force: bool,
    course: str,
    lms_host: str,
    engine_url: str | None,
    ssh_client: bool,
    as_json: bool,
) -> None:
    """Remove task/submit volumes of this course; refused if any is in use (unless --force)."""
    from ..volumes.course import remove_volumes

    with _connect(engine_url, ssh_client, course, lms_host) as engine:
        results = remove_volumes(engine, list(refs), course, lms_host, force=force)
    if as_json:
        _print_json([r.to_json() for r in results])
        return
    for r in results:
        for container in r.removed_containers:
            click.echo(f"removed container {container.name}")
        click.echo(f"removed {r.full_name}")


@volumes.command("inspect", context_settings=CONTEXT)
@click.argument("ref", metavar="NAME | vol_NAME | sub_NAME | FULL_NAME")
@_common
@report_errors
def inspect_command(
    ref: str, course: str, lms_host: str, engine_url: str | None, ssh_client: bool, as_json: bool
) -> None:
    """Show one volume (a bare NAME shows its task and submit volume)."""
    from ..volumes.course import inspect_volume

    with _connect(engine_url, ssh_client, course, lms_host) as engine:
        found = inspect_volume(engine, ref, course, lms_host)
    if as_json:
        _print_json([v.to_json() for v in found])
        return
    for index, v in enumerate(found):
        if index:
            click.echo("")
        data = v.to_json()
        for key in ("full_name", "kind_label", "name", "course", "host", "created", "driver", "mountpoint"):
            click.echo(f"{key}: {data[key]}")
        for key, value in sorted(v.labels.items()):
            click.echo(f"label {key}: {value}")
        click.echo("used_by: " + (", ".join(str(c) for c in v.used_by) or "-"))
