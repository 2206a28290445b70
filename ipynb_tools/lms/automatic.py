"""The keys the old module wrote by itself on every save (SPEC 10, "Lti Edit, on save").

``lms_course`` = the course's full name, ``lms_ltiname`` = the activity's name, ``lms_iframe`` = 1
when the effective launch container embeds the tool (2 or 3), ``lms_sessioninfo`` =
``<instance id>,<LTI id>``, ``lms_rpctoken`` = the execution-log collector's token,
``lms_serverurl`` = ``<scheme>://<host>:<port>`` of the site (port 443/80 filled in) and
``lms_serverpath`` = its path. They are set with :func:`ipynb_tools.params.edit.set_param`, so every
other line (non-``lms_`` keys, unknown ``lms_*`` keys) keeps its bytes and its place.

Differences from the old module, each to keep the 255-character column usable and nothing forged:
``lms_iframe`` is removed rather than written empty when the tool opens in a window (both read as
"not embedded"); a key whose source is not configured (no token, no site URL) is left as it is;
values lose the characters custom parameters never carry (``(``, ``&``...) instead of being
refused. The instance id was the old module's own instance; here it is the configured one, else the
one already in the text for this LTI id, else the activity's course module id.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..params.edit import set_param, unset_param
from ..params.model import KEY_IFRAME, KEY_SESSIONINFO, strip_forbidden
from ..params.text import parse
from .activities import Activity
from .errors import LmsError


@dataclass(frozen=True)
class SiteKeys:
    """Where the site-wide automatic values come from.

    ``server_url``: the URL the execution-log proxy posts to (the Moodle ``wwwroot``, or the
    ipynb-tools collector's URL); ``rpc_token``: the collector's token; ``instance_id``: the first
    number of ``lms_sessioninfo`` (see the module docstring). None means "leave the key as it is".
    """

    server_url: str | None = None
    rpc_token: str | None = None
    instance_id: int | None = None


def site_host(url: str) -> str:
    """The host name of a site URL (``https://lms.example.ac.jp/moodle`` gives ``lms.example.ac.jp``).
    LmsError, one line, when ``url`` is not a URL with a host."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        host = None
    if not host:
        raise LmsError(f"site URL {url!r} is not a URL like https://lms.example.ac.jp/moodle")
    return host


def server_url_parts(url: str) -> tuple[str, str]:
    """``(lms_serverurl, lms_serverpath)`` of a site URL: ``https://lms.example.ac.jp/moodle`` gives
    ``("https://lms.example.ac.jp:443", "/moodle")``. The port is always written (SPEC 9: the old
    proxy connects to port 0 without one). LmsError when ``url`` is not an http(s) URL."""
    bad = LmsError(f"site URL {url!r} is not an http(s) URL like https://lms.example.ac.jp/moodle")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise bad from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise bad
    scheme = parts.scheme.lower()
    port = port or (443 if scheme == "https" else 80)
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}", parts.path.rstrip("/")


def _clean(value: str) -> str:
    """A name as a value: without the characters values never carry, white space runs as one space."""
    return " ".join(strip_forbidden(value)[0].split())


def automatic_values(activity: Activity, site: SiteKeys) -> dict[str, str | None]:
    """Key -> value to write (None: remove the key); keys not in the result stay as they are."""
    values: dict[str, str | None] = {}
    instance = site.instance_id
    if instance is None:
        ids = parse(activity.text).session_ids
        if ids is not None and ids[1] == str(activity.lti_id) and ids[0].isdigit():
            instance = int(ids[0])
    values[KEY_SESSIONINFO] = f"{instance if instance is not None else activity.cmid},{activity.lti_id}"
    values["lms_course"] = _clean(activity.course_name)
    values["lms_ltiname"] = _clean(activity.name)
    if site.rpc_token is not None:
        values["lms_rpctoken"] = _clean(site.rpc_token)
    if site.server_url is not None:
        values["lms_serverurl"], values["lms_serverpath"] = server_url_parts(site.server_url)
    values[KEY_IFRAME] = "1" if activity.embedded else None
    return values


def fill_automatic(text: str, values: dict[str, str | None]) -> str:
    """``text`` with the automatic keys set (or removed), every other line unchanged."""
    current = parse(text)
    for key, value in values.items():
        present = any(line.partition("=")[0].strip().lower() == key for line in text.splitlines())
        if value is None:
            if present:
                text, _ = unset_param(text, key)
            continue
        if present and current.fixed_value(key) == (value if key != KEY_IFRAME else value == "1"):
            continue  # already right: keep the line's bytes
        text, _ = set_param(text, key, value)
    return text
