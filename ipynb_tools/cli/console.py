"""``ipynb-tools console``: the course console, a JupyterHub service (docs/console.md)."""

from __future__ import annotations

from typing import Any

import click

from .errors import report_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    default="",
    metavar="URL",
    envvar="IPYNB_TOOLS_EXECLOG_DB",
    show_envvar=True,
    help="The execution-log database (SQLAlchemy URL or SQLite path); also the launches store unless --launches-db.",
)
@click.option(
    "--launches-db", default="", metavar="URL", help="The store of LTI launches the hub records (default: --db)."
)
@click.option(
    "--moodle-config",
    default="",
    metavar="PATH",
    envvar="IPYNB_TOOLS_MOODLE_CONFIG",
    show_envvar=True,
    help="The LMS adapter: the Moodle site's config.php (read, never run).",
)
@click.option(
    "--moodle-db",
    "lms_db",
    default="",
    metavar="URL",
    envvar="IPYNB_TOOLS_MOODLE_DB",
    show_envvar=True,
    help="The LMS adapter's database URL instead of --moodle-config (password from IPYNB_TOOLS_MOODLE_DB_PASSWORD).",
)
@click.option(
    "--moodle-prefix", "lms_prefix", default="", help="Moodle's table prefix (default: config.php's, else mdl_)."
)
@click.option(
    "--wwwroot", "lms_wwwroot", default="", metavar="URL", help="The Moodle site's URL (default: config.php's)."
)
@click.option(
    "--hub-url",
    "lms_hub_urls",
    multiple=True,
    metavar="URL",
    help="This hub's LTI launch URL as the LMS's tools name it (repeat): tells its activities from other tools'.",
)
@click.option("--hub-domain", "lms_hub_domains", multiple=True, help="This hub's tool domain in the LMS (repeat).")
@click.option("--server-url", "lms_server_url", default="", metavar="URL", help="lms_serverurl written on save.")
@click.option("--lms-host", default="", help="LMS host name in volume names (default: the host of the launches).")
@click.option("--engine-url", default="", metavar="URL", help="Container engine of the volumes (default: DOCKER_HOST).")
@click.option("--ssh-client", "engine_ssh_client", is_flag=True, help="For ssh:// engine URLs use the ssh command.")
@click.option(
    "--timezone", default=None, help="The site's time zone (IANA name; default IPYNB_TOOLS_TIMEZONE, else UTC)."
)
@click.option("--image-filter", default="", help="Offer only images containing this text on the Edit page.")
@click.option(
    "--teachers-by-lti-role", is_flag=True, help="Also a teacher by the LTI Instructor role (as the spawner)."
)
@click.option("--ip", default=None, help="Address to listen on (default: from JUPYTERHUB_SERVICE_URL, else 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: from JUPYTERHUB_SERVICE_URL, else 10101).")
@report_errors
def main(**options: Any) -> None:
    """Serve the course console (run by JupyterHub as a service; the hub's OAuth logs users in).

    The hub connection comes from the JUPYTERHUB_* environment the hub gives a managed service.
    """
    from ..console.app import serve
    from ..console.config import ConsoleConfig

    given = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items() if v is not None}
    serve(ConsoleConfig(**given))
