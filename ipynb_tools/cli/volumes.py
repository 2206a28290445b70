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


def _cluster(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a cluster: its shared storage (site configuration) and the swarm's engines."""
    options = [
        click.option(
            "--shared-root",
            default=None,
            metavar="PATH",
            envvar="IPYNB_TOOLS_SHARED_ROOT",
            show_envvar=True,
            help="Volumes on shared storage: the shared root every node has mounted at PATH "
            "(or, with --nfs-server, the NFS export path). Each volume is <PATH>/<full name>.",
        ),
        click.option(
            "--nfs-server",
            default=None,
            metavar="ADDR",
            envvar="IPYNB_TOOLS_NFS_SERVER",
            show_envvar=True,
            help="The engines mount the volumes from this NFS server themselves (type=nfs,o=addr=ADDR).",
        ),
        click.option(
            "--nfs-options",
            default=None,
            metavar="OPTS",
            envvar="IPYNB_TOOLS_NFS_OPTIONS",
            show_envvar=True,
            help="Further NFS mount options, comma-separated (e.g. nfsvers=4.1,hard).",
        ),
        click.option(
            "--local-root",
            default=None,
            metavar="PATH",
            envvar="IPYNB_TOOLS_SHARED_LOCAL_ROOT",
            show_envvar=True,
            help="Where this machine has the shared root mounted, to make and remove each volume's "
            "directory (default: --shared-root; needed with --nfs-server).",
        ),
        click.option(
            "--swarm",
            is_flag=True,
            help="The engine is a swarm manager: work over the whole swarm (each volume once, its nodes and services).",
        ),
        click.option(
            "--node-url",
            "node_urls",
            multiple=True,
            metavar="URL",
            help="With --swarm: the engine of another node (repeat for each), to list and remove its volumes; "
            "rm --swarm needs every node's.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _storage(shared_root: str | None, nfs_server: str | None, nfs_options: str | None, local_root: str | None) -> Any:
    from ..volumes.shared import SharedStorage

    return SharedStorage.from_settings(shared_root, nfs_server, nfs_options, local_root)


def _node_engines(urls: tuple[str, ...], swarm: bool, ssh_client: bool) -> list[Any]:
    from ..errors import UsageError
    from ..volumes.engine import connect

    if urls and not swarm:
        raise UsageError("--node-url needs --swarm")
    return [connect(url, use_ssh_client=ssh_client) for url in urls]


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
@_cluster
@report_errors
def ls_command(
    course: str,
    lms_host: str,
    engine_url: str | None,
    ssh_client: bool,
    as_json: bool,
    shared_root: str | None,
    nfs_server: str | None,
    nfs_options: str | None,
    local_root: str | None,
    swarm: bool,
    node_urls: tuple[str, ...],
) -> None:
    """List the course's task and submit volumes, and the containers using them.

    With --swarm: each volume once, the nodes that hold it and the services and containers using it.
    """
    from ..volumes.course import list_volumes

    storage = _storage(shared_root, nfs_server, nfs_options, local_root)
    if swarm:
        _ls_swarm(engine_url, ssh_client, course, lms_host, as_json, storage, node_urls)
        return
    _node_engines(node_urls, swarm, ssh_client)  # (refuses --node-url without --swarm)
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


def _ls_swarm(
    engine_url: str | None,
    ssh_client: bool,
    course: str,
    lms_host: str,
    as_json: bool,
    storage: Any,
    node_urls: tuple[str, ...],
) -> None:
    from ..volumes.cluster import list_cluster_volumes

    with _connect(engine_url, ssh_client, course, lms_host) as manager:
        nodes = _node_engines(node_urls, True, ssh_client)
        try:
            listing = list_cluster_volumes(manager, nodes, course, lms_host, storage=storage)
        finally:
            for node in nodes:
                node.close()
    if as_json:
        _print_json(
            {
                "nodes": [n.to_json() for n in listing.nodes],
                "asked": [n.id for n in listing.asked],
                "volumes": [v.to_json() for v in listing.volumes],
            }
        )
        return
    if not listing.volumes:
        click.echo(f"no task or submit volumes for course {course} on {lms_host} in the swarm", err=True)
    else:
        rows = [("KIND", "NAME", "NODES", "IN USE BY", "FULL NAME")]
        for v in listing.volumes:
            kind = v.kind_label if v.labelled else f"{v.kind_label} (unlabelled)"
            if v.shared is False:
                kind += " (not on the shared storage)"
            rows.append(
                (kind, v.name, ", ".join(str(n) for n in v.nodes) or "-", ", ".join(v.users) or "-", v.full_name)
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    for node in listing.unasked:
        click.echo(
            f"note: node {node} not asked (no --node-url for it): only volumes its running tasks use are known",
            err=True,
        )


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
@_cluster
@report_errors
def create_command(
    refs: tuple[str, ...],
    params_file: str | None,
    course: str,
    lms_host: str,
    engine_url: str | None,
    ssh_client: bool,
    as_json: bool,
    shared_root: str | None,
    nfs_server: str | None,
    nfs_options: str | None,
    local_root: str | None,
    swarm: bool,
    node_urls: tuple[str, ...],
) -> None:
    """Create volumes (a bare NAME creates its task and submit volume). Existing ones are kept.

    With --shared-root each volume's directory is made in the shared root and the volume points
    there; with --node-url the volume is also made on those nodes' engines (other nodes make it
    from the server's mount when a server starts there).
    """
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
    storage = _storage(shared_root, nfs_server, nfs_options, local_root)
    if swarm and storage is None:
        raise UsageError("--swarm needs the shared storage (--shared-root): node-local volumes are not shared")
    with _connect(engine_url, ssh_client, course, lms_host) as engine:
        nodes = _node_engines(node_urls, swarm, ssh_client)
        try:
            results = create_volumes(engine, wanted, storage=storage)
            for node in nodes:
                for r in create_volumes(node, wanted, storage=storage):
                    if r.note:
                        click.secho(f"warning: {r.full_name} on {node.url}: {r.note}", fg="yellow", err=True)
        finally:
            for node in nodes:
                node.close()
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
@click.option(
    "-f", "--force", is_flag=True, help="Remove the containers that use the volumes first (not with --swarm)."
)
@_common
@_cluster
@report_errors
def rm_command(
    refs: tuple[str, ...],
    force: bool,
    course: str,
    lms_host: str,
    engine_url: str | None,
    ssh_client: bool,
    as_json: bool,
    shared_root: str | None,
    nfs_server: str | None,
    nfs_options: str | None,
    local_root: str | None,
    swarm: bool,
    node_urls: tuple[str, ...],
) -> None:
    """Remove task/submit volumes of this course; refused if any is in use (unless --force).

    With --shared-root the volume's data (its directory in the shared root) goes too. With --swarm
    every node's engine must be given (--node-url for each node besides the manager); a volume any
    service or any node's container uses is refused; it is removed from every node.
    """
    from ..errors import UsageError
    from ..volumes.course import remove_volumes

    storage = _storage(shared_root, nfs_server, nfs_options, local_root)
    if swarm:
        if force:
            raise UsageError("--force cannot be used with --swarm: stop the users' servers in the hub instead")
        _rm_swarm(refs, course, lms_host, engine_url, ssh_client, as_json, storage, node_urls)
        return
    with _connect(engine_url, ssh_client, course, lms_host) as engine:
        _node_engines(node_urls, swarm, ssh_client)
        results = remove_volumes(engine, list(refs), course, lms_host, force=force, storage=storage)
    if as_json:
        _print_json([r.to_json() for r in results])
        return
    for r in results:
        for container in r.removed_containers:
            click.echo(f"removed container {container.name}")
        click.echo(f"removed {r.full_name}")


def _rm_swarm(
    refs: tuple[str, ...],
    course: str,
    lms_host: str,
    engine_url: str | None,
    ssh_client: bool,
    as_json: bool,
    storage: Any,
    node_urls: tuple[str, ...],
) -> None:
    from ..volumes.cluster import remove_cluster_volumes

    with _connect(engine_url, ssh_client, course, lms_host) as manager:
        nodes = _node_engines(node_urls, True, ssh_client)
        try:
            results = remove_cluster_volumes(manager, nodes, list(refs), course, lms_host, storage=storage)
        finally:
            for node in nodes:
                node.close()
    if as_json:
        _print_json([r.to_json() for r in results])
        return
    for r in results:
        where = ", ".join(str(n) for n in r.removed_from) or "no node"
        click.echo(
            f"removed {r.full_name} from {where}" + (" and its data in the shared root" if r.directory_removed else "")
        )


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
