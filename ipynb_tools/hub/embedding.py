"""Embedding in the LMS page (issue 16 item 6, SPEC 12): the settings that let Moodle frame the hub and
the user's server.

Moodle shows an activity inside an iframe when its launch container is "embed" (the launch then
carries ``lms_iframe=1``). Two browser rules stand in the way, and both are settings:

- **frame-ancestors.** JupyterHub and jupyter_server send ``Content-Security-Policy: frame-ancestors
  'none'`` (hub; single-user servers under JupyterHub) or ``'self'`` by default, so the browser refuses
  to show them in Moodle's page. The policy must name the LMS origin(s): ``frame-ancestors 'self'
  https://moodle.example.ac.jp`` (CSP Level 2, W3C; a header, since ``<meta>`` cannot carry it).
- **cookies in a third-party frame.** Inside Moodle's page the hub and the server are cross-site, so
  the browser drops (and refuses to set) cookies that are not ``SameSite=None; Secure`` (RFC 6265bis;
  Chromium since version 80). The old spawner set its hub's cookies that way (SPEC 12); ``Secure``
  means the hub must be served over HTTPS.

Where each setting goes (checked against JupyterHub 6 and jupyter_server 2):

- hub: ``c.JupyterHub.tornado_settings`` ``headers`` (the CSP) and ``cookie_options`` (every hub
  cookie; the hub's ``_xsrf`` cookie takes them too when ``xsrf_cookie_kwargs`` is unset). JupyterHub
  passes the same ``cookie_options`` to each spawner, which hands them to the single-user server as
  ``JUPYTERHUB_COOKIE_OPTIONS`` (its OAuth and state cookies): :func:`configure_hub` does it all.
- single-user server: the spawner passes :data:`FRAME_ANCESTORS_ENV` (the origins);
  the project's server extension (:mod:`ipynb_tools.serverext.embedding`) sets the server's CSP
  header and the ``SameSite=None; Secure`` options of its ``_xsrf`` and login cookies from it
  (:func:`singleuser_tornado_settings`), so an image needs no configuration of its own.

Nothing here imports JupyterHub or jupyter_server (the server extension imports it in the container).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import IpynbToolsError

#: The container variable that carries the allowed origins to the single-user server (space separated).
FRAME_ANCESTORS_ENV = "IPYNB_TOOLS_FRAME_ANCESTORS"

#: Tornado ``set_cookie`` options of every cookie a framed page needs (RFC 6265bis ``SameSite=None`` needs ``Secure``).
COOKIE_OPTIONS: Mapping[str, Any] = {"samesite": "None", "secure": True}

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class OriginError(IpynbToolsError):
    """An LMS origin that cannot go into a frame-ancestors policy: ``<origin>: <problem>``."""

    def __init__(self, origin: str, problem: str) -> None:
        self.origin = origin
        self.problem = problem
        super().__init__(f"LMS origin {origin!r}: {problem}")


def parse_origin(text: str, *, allow_wildcards: bool = False) -> str:
    """One LMS origin, checked and written the way browsers serialize it.

    ``text`` is ``scheme://host[:port]``: scheme ``https`` or ``http``, a DNS name, an IPv4 address or
    a bracketed IPv6 address, an optional port 1-65535; a single trailing ``/`` is dropped, any other
    path, a query, a fragment, user information, whitespace or quotes are refused. The result is lower
    case without the scheme's default port (``HTTPS://Moodle.Example.ac.jp:443/`` ->
    ``https://moodle.example.ac.jp``; an origin as RFC 6454 serializes it). ``*.example.ac.jp`` (one
    leading wildcard label, CSP's host-source form) only with ``allow_wildcards``; a bare ``*`` never.

    Raises :class:`OriginError`.
    """
    raw = text
    if not isinstance(text, str) or not text.strip():
        raise OriginError(str(raw), "empty; write scheme://host[:port]")
    text = text.strip()
    if any(c.isspace() or c in "'\";," for c in text):
        raise OriginError(raw, "contains a space, quote, comma or semicolon; give one origin per entry")
    if "://" not in text:
        raise OriginError(raw, "no scheme; write https://host[:port]")
    scheme, rest = text.split("://", 1)
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise OriginError(raw, f"scheme {scheme!r} is not https or http")
    if rest.endswith("/") and "/" not in rest[:-1]:
        rest = rest[:-1]
    if any(c in rest for c in "/?#"):
        raise OriginError(raw, "has a path, query or fragment; an origin is scheme://host[:port] only")
    if "@" in rest:
        raise OriginError(raw, "has user information (user@host); an origin is scheme://host[:port] only")
    wildcard = rest.startswith("*.")
    if wildcard and not allow_wildcards:
        raise OriginError(raw, "wildcard hosts are not allowed (allow them explicitly to use *.domain)")
    try:
        parts = urlsplit(f"{scheme}://{rest[2:] if wildcard else rest}")
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise OriginError(raw, f"not a valid host[:port] ({exc})") from None
    if not host:
        raise OriginError(raw, "no host")
    host = host.lower()
    if ":" in host:  # IPv6: urlsplit accepted it only in brackets
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise OriginError(raw, f"{host!r} is not an IPv6 address") from None
        if wildcard:
            raise OriginError(raw, "a wildcard needs a DNS name, not an address")
        host = f"[{host}]"
    elif not all(_LABEL.match(label) for label in host.split(".")):
        raise OriginError(raw, f"{host!r} is not a host name (letters, digits, hyphens, dots)")
    elif wildcard and _is_ipv4(host):
        raise OriginError(raw, "a wildcard needs a DNS name, not an address")
    if port == 0:
        raise OriginError(raw, "port 0 is not a port")
    origin = f"{scheme}://{'*.' if wildcard else ''}{host}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        origin += f":{port}"
    return origin


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def parse_origins(origins: Iterable[str] | str, *, allow_wildcards: bool = False) -> tuple[str, ...]:
    """Every origin through :func:`parse_origin`, duplicates dropped, order kept.

    A string is split at spaces (the form of :data:`FRAME_ANCESTORS_ENV`). Raises :class:`OriginError`.
    """
    items = origins.split() if isinstance(origins, str) else list(origins)
    result: list[str] = []
    for item in items:
        origin = parse_origin(item, allow_wildcards=allow_wildcards)
        if origin not in result:
            result.append(origin)
    return tuple(result)


@dataclass(frozen=True)
class Embedding:
    """The LMS origins allowed to frame the hub and the servers, and the settings they give.

    ``origins`` are already checked (build it with :meth:`of`).
    """

    origins: tuple[str, ...]

    @classmethod
    def of(cls, origins: Iterable[str] | str, *, allow_wildcards: bool = False) -> Embedding:
        """From the site's configured origins; raises :class:`OriginError`; at least one origin."""
        parsed = parse_origins(origins, allow_wildcards=allow_wildcards)
        if not parsed:
            raise OriginError("", "no LMS origin given; name the LMS, e.g. https://moodle.example.ac.jp")
        return cls(parsed)

    @property
    def content_security_policy(self) -> str:
        """``frame-ancestors 'self' <origins>``: the page itself and the LMS may frame it, nobody else."""
        return " ".join(["frame-ancestors", "'self'", *self.origins])

    def hub_tornado_settings(self, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``c.JupyterHub.tornado_settings``: ``base`` (the site's own settings, kept) plus the CSP header and
        the cookie options. JupyterHub gives ``cookie_options`` to every hub cookie (and the ``_xsrf``
        cookie when ``xsrf_cookie_kwargs`` is unset) and to each spawner (``JUPYTERHUB_COOKIE_OPTIONS``).
        """
        settings = dict(base or {})
        settings["headers"] = {
            **dict(settings.get("headers") or {}),
            "Content-Security-Policy": self.content_security_policy,
        }
        settings["cookie_options"] = {**dict(settings.get("cookie_options") or {}), **COOKIE_OPTIONS}
        if settings.get("xsrf_cookie_kwargs"):
            settings["xsrf_cookie_kwargs"] = {**dict(settings["xsrf_cookie_kwargs"]), **COOKIE_OPTIONS}
        return settings

    def singleuser_environment(self) -> dict[str, str]:
        """What the spawner adds to the container's environment: :data:`FRAME_ANCESTORS_ENV`."""
        return {FRAME_ANCESTORS_ENV: " ".join(self.origins)}

    def singleuser_tornado_settings(self) -> dict[str, Any]:
        """The single-user server's settings (``c.ServerApp.tornado_settings`` for an image configured by
        hand; the server extension applies the same from :data:`FRAME_ANCESTORS_ENV`): the CSP header, and
        ``SameSite=None; Secure`` for the ``_xsrf`` cookie (``xsrf_cookie_kwargs``) and the login cookie
        (``cookie_options``).
        """
        return {
            "headers": {"Content-Security-Policy": self.content_security_policy},
            "xsrf_cookie_kwargs": dict(COOKIE_OPTIONS),
            "cookie_options": dict(COOKIE_OPTIONS),
        }


def configure_hub(config: Any, origins: Iterable[str] | str, *, allow_wildcards: bool = False) -> Embedding:
    """Set a ``jupyterhub_config.py``'s embedding settings in one call (docs/jupyterhub.md, "Embedding in Moodle").

    ``config`` is the traitlets config (``c = get_config()``). Sets ``c.JupyterHub.tornado_settings``
    (merged with what the file set before) and ``c.LTIContainerSpawner.lms_origins`` (and
    ``lms_origins_wildcards``), which passes the origins to each server. Returns the :class:`Embedding`.
    Raises :class:`OriginError` (the hub then refuses to start, naming the origin).
    """
    embedding = Embedding.of(origins, allow_wildcards=allow_wildcards)
    hub = config.JupyterHub
    base = hub.tornado_settings if "tornado_settings" in hub else {}
    hub.tornado_settings = embedding.hub_tornado_settings(base)
    config.LTIContainerSpawner.lms_origins = list(embedding.origins)
    if allow_wildcards:
        config.LTIContainerSpawner.lms_origins_wildcards = True
    return embedding
