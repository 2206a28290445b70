"""``ipynb-tools logs``: the execution-log store: ``serve`` (the collector), ``import``, ``stats``, ``prune``."""

from __future__ import annotations

import json
from typing import Any

import click

from .errors import report_errors

DB_HELP = (
    "The store: a SQLAlchemy URL (sqlite:///..., postgresql://...) or a SQLite file path. [env IPYNB_TOOLS_EXECLOG_DB]"
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def logs() -> None:
    """Execution logs: collect every cell run, store, query (docs/execlog.md)."""


def filters_from(**given: Any) -> tuple[Any, Any]:
    """(Filters, time zone) from the options of :func:`filter_options`."""
    from ..execlog.query import Filters, parse_time, timezone

    zone = timezone(given.get("tz"))
    since = parse_time(given["since"], zone) if given.get("since") else None
    until = parse_time(given["until"], zone) if given.get("until") else None
    filters = Filters(
        course=given.get("course"),
        lti=given.get("lti"),
        user=given.get("user"),
        notebook=given.get("notebook"),
        since=since,
        until=until,
    )
    return filters, zone


def filter_options(func: Any) -> Any:
    """The filters ``stats`` and ``report`` share."""
    for decorator in reversed(
        [
            click.option("--course", default=None, help="Course (context id)."),
            click.option("--lti", default=None, help="LTI activity id (works for the old proxy's records too)."),
            click.option("--user", default=None, help="User name (as the hub knows it)."),
            click.option("--notebook", default=None, help="Notebook (its filename: tag, or its path)."),
            click.option("--since", default=None, help="From this ISO 8601 time (in --tz unless it has an offset)."),
            click.option("--until", default=None, help="Before this ISO 8601 time."),
            click.option(
                "--tz", default=None, help="Time zone (IANA name; default the site's IPYNB_TOOLS_TIMEZONE, else UTC)."
            ),
        ]
    ):
        func = decorator(func)
    return func


@logs.command("stats")
@click.option("--db", default=None, help=DB_HELP)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@report_errors
def stats_command(db: str | None, as_json: bool, **given: Any) -> None:
    """Totals, per numbered cell and per user, aggregated by the database."""
    from ..execlog.query import stats
    from ..execlog.store import Store

    filters, _zone = filters_from(**given)
    with Store.open(db, create=False) as store:
        figures = stats(store, filters)
    if as_json:
        click.echo(json.dumps(figures.to_json(), ensure_ascii=False, indent=1))
        return
    click.echo(f"executions {figures.executions}  ok {figures.ok}  error {figures.error}  users {figures.users}")
    for row in figures.per_codenum:
        number = row["codenum"] if row["codenum"] is not None else "-"
        click.echo(f"  {row['notebook'] or '-'} {number}: ok {row['ok']} error {row['error']}")
    for row in figures.per_user:
        click.echo(f"  {row['user'] or '-'}: ok {row['ok']} error {row['error']}")


@logs.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--db", default=None, help=DB_HELP)
@report_errors
def import_command(files: tuple[str, ...], db: str | None) -> None:
    """Load log files (JSON lines, the old proxy's form posts) into the store; records already there are skipped."""
    from ..execlog.importer import import_logs
    from ..execlog.store import Store

    with Store.open(db) as store:
        result = import_logs(store, files)
    click.echo(f"{result.given} record(s) read, {result.stored} stored, {result.duplicates} already there")


@logs.command("prune")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--before", required=True, help="Delete records dated before this ISO 8601 time.")
@click.option("--tz", default=None, help="Time zone of --before when it has no offset.")
@report_errors
def prune_command(db: str | None, before: str, tz: str | None) -> None:
    """Retention: delete client and server records older than --before."""
    from ..execlog.query import parse_time, timezone
    from ..execlog.records import parse_date
    from ..execlog.store import Store

    when = parse_time(before, timezone(tz))
    with Store.open(db, create=False) as store:
        count = store.delete_before(parse_date(when.isoformat()) or 0)
    click.echo(f"deleted {count} record(s) dated before {when.isoformat()}")


@logs.command("serve")
@click.option("--db", default=None, help=DB_HELP)
@click.option(
    "--listen", default=None, help="HOST:PORT to listen on (default: the hub service's url, else 127.0.0.1:8765)."
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="The collector's JupyterHub API token (standalone; as a hub service JUPYTERHUB_API_TOKEN is used).",
)
@click.option("--hub-api-url", default=None, help="The hub's API URL (default JUPYTERHUB_API_URL).")
@click.option(
    "--wstoken-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Tokens (one a line) the old proxy may send as wstoken; without it, old-proxy posts are refused.",
)
@click.option("--prefix", default=None, help="URL prefix (default JUPYTERHUB_SERVICE_PREFIX or /).")
@report_errors
def serve_command(
    db: str | None,
    listen: str | None,
    token_file: str | None,
    hub_api_url: str | None,
    wstoken_file: str | None,
    prefix: str | None,
) -> None:
    """Run the collector: JupyterHub-authenticated records and the old proxy's posts, into the store."""
    from ..execlog.collector import CollectorConfig, serve

    config = CollectorConfig.build(
        db=db,
        listen=listen,
        token_file=token_file,
        hub_api_url=hub_api_url,
        wstoken_file=wstoken_file,
        prefix=prefix,
    )
    serve(config, announce=lambda text: click.echo(text, err=True))
