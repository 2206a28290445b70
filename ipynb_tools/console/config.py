"""The console's settings (issue 15): one traitlets ``Configurable``, filled by ``ipynb-tools console``.

Every value a page needs from the site is here, with its help text; the command line
(:mod:`ipynb_tools.cli.console`) only maps options onto these traits. The hub connection comes
from the standard environment a JupyterHub-managed service gets (``JUPYTERHUB_API_URL``,
``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_SERVICE_PREFIX``, ``JUPYTERHUB_SERVICE_URL``); an external
service sets the same variables itself (docs/console.md).

Secrets (the hub API token, the LMS database password, engine TLS/ssh credentials) stay in this
object on the server side: no page renders them (tests/console/test_security.py checks).
"""

from __future__ import annotations

import os
from datetime import tzinfo
from urllib.parse import urlparse

from traitlets import Bool, Integer, List, Unicode, default
from traitlets.config import Configurable

from ..environ.closing import site_timezone
from ..environ.variables import IPYNB_TOOLS_TIMEZONE
from ..launch import DEFAULT_TEACHER_ROLES

#: The prefix of a service named ``console`` (JupyterHub serves services under /services/<name>/).
DEFAULT_PREFIX = "/services/console/"
DEFAULT_PORT = 10101


class ConsoleConfig(Configurable):
    """The course console's site settings (a JupyterHub service; docs/console.md)."""

    db = Unicode(
        "",
        config=True,
        help="""The execution-log database (a SQLAlchemy URL or a SQLite path), as for `ipynb-tools logs serve --db`:
        the dashboard and charts read it.""",
    )
    launches_db = Unicode(
        "",
        config=True,
        help="""The store of LTI launches the hub has seen (ipynb_tools.console.launches; a SQLAlchemy URL or a
        SQLite path). Empty: the same database as `db` (its own table, console_launches). The hub writes it
        from its post_auth_hook; the console reads who teaches which course from it.""",
    )
    moodle_config = Unicode(
        "",
        config=True,
        help="""The LMS adapter (docs/lms.md): the Moodle site's config.php (read, never run). Empty, and
        lms_db empty: the console works without the LMS (no Connections/Edit pages, activities from launches).""",
    )
    lms_db = Unicode(
        "",
        config=True,
        help="""The LMS adapter's database as a SQLAlchemy URL instead of moodle_config (its password from
        IPYNB_TOOLS_MOODLE_DB_PASSWORD, never on the command line).""",
    )
    lms_prefix = Unicode("", config=True, help="Moodle's table prefix (default: config.php's, else mdl_).")
    lms_wwwroot = Unicode("", config=True, help="The Moodle site's URL (default: config.php's).")
    lms_hub_urls = List(
        Unicode(),
        config=True,
        help="""How the LMS adapter tells this hub's LTI activities from other tools': the hub's launch URLs
        (https://hub.example.ac.jp/hub/lti/launch), as `moodle ltis --hub-url`. Empty, and lms_hub_domains
        empty: every LTI activity of the course is listed.""",
    )
    lms_hub_domains = List(Unicode(), config=True, help="The hub's tool domains, as `moodle ltis --hub-domain`.")
    lms_server_url = Unicode(
        "", config=True, help="lms_serverurl written on save (default: the Moodle site's wwwroot), as `moodle params`."
    )
    lms_host = Unicode(
        "",
        config=True,
        help="""The LMS host name in volume names (lms_<kind>_<NAME>_<course>_<host>), as
        LTIContainerSpawner.lms_host. Empty: the host the course's launches carried.""",
    )
    engine_url = Unicode(
        "",
        config=True,
        help="""The container engine of the volumes (Docker or Podman's Docker API): unix:///path, tcp://host:port,
        ssh://user@host. Empty: DOCKER_HOST (and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH), else the local socket.""",
    )
    engine_ssh_client = Bool(False, config=True, help="For ssh:// engine URLs use the ssh command, not paramiko.")
    hub_api_url = Unicode(
        config=True,
        help="The hub's REST API (default: $JUPYTERHUB_API_URL, set by the hub for a managed service).",
    )
    hub_api_token = Unicode(
        config=True,
        help="""The console service's API token (default: $JUPYTERHUB_API_TOKEN). Its role needs the scopes
        list:users, read:users, read:servers, servers (docs/console.md). Never shown on a page.""",
    )
    service_prefix = Unicode(
        config=True,
        help="The console's URL prefix (default: $JUPYTERHUB_SERVICE_PREFIX, else /services/console/).",
    )
    ip = Unicode(
        config=True, help="Address to listen on (default: the host of $JUPYTERHUB_SERVICE_URL, else 127.0.0.1)."
    )
    port = Integer(config=True, help="Port to listen on (default: the port of $JUPYTERHUB_SERVICE_URL, else 10101).")
    timezone = Unicode(
        config=True,
        help="""The site's time zone (an IANA name such as Asia/Tokyo) for every time a page shows and every date
        a form reads (default: $IPYNB_TOOLS_TIMEZONE, else UTC; the rule of ipynb_tools.environ.closing).""",
    )
    image_filter = Unicode(
        "",
        config=True,
        help="""The images the Edit page offers: those containing this text (as LTIContainerSpawner.image_filter;
        a leading '-' in a pattern excludes, SPEC 11). Empty: all images of the engine.""",
    )
    teachers_by_lti_role = Bool(
        False,
        config=True,
        help="""As LTIContainerSpawner.teachers_by_lti_role: also a teacher by an LTI role in teacher_roles
        (the console reads the rule's result the hub recorded at the launch; this is used for launches recorded
        without one). Off: only lms_teachers (SPEC 12).""",
    )
    teacher_roles = List(
        Unicode(),
        default_value=list(DEFAULT_TEACHER_ROLES),
        config=True,
        help="With teachers_by_lti_role: the LTI roles that make a teacher.",
    )
    page_size = Integer(50, config=True, help="Rows per page of the Users page.")

    @default("hub_api_url")
    def _hub_api_url(self) -> str:
        return os.environ.get("JUPYTERHUB_API_URL", "")

    @default("hub_api_token")
    def _hub_api_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    @default("service_prefix")
    def _service_prefix(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or DEFAULT_PREFIX

    @default("ip")
    def _ip(self) -> str:
        url = os.environ.get("JUPYTERHUB_SERVICE_URL")
        return (urlparse(url).hostname if url else None) or "127.0.0.1"

    @default("port")
    def _port(self) -> int:
        url = os.environ.get("JUPYTERHUB_SERVICE_URL")
        return (urlparse(url).port if url else None) or DEFAULT_PORT

    @default("timezone")
    def _timezone(self) -> str:
        return os.environ.get(IPYNB_TOOLS_TIMEZONE, "")

    @property
    def prefix(self) -> str:
        """``service_prefix`` with exactly one ``/`` at each end."""
        return "/" + self.service_prefix.strip("/") + "/" if self.service_prefix.strip("/") else "/"

    @property
    def zone(self) -> tzinfo:
        """The site's zone (:func:`ipynb_tools.environ.closing.site_timezone`); EnvironmentContractError if unknown."""
        return site_timezone({IPYNB_TOOLS_TIMEZONE: self.timezone})

    @property
    def launches_url(self) -> str:
        """Where the launches store is: ``launches_db``, else ``db``."""
        return self.launches_db or self.db

    @property
    def has_lms(self) -> bool:
        """The LMS adapter is configured."""
        return bool(self.moodle_config or self.lms_db)
