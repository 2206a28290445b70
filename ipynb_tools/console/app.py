"""The console's tornado application: the page modules' handlers under the service prefix (issue 15).

Each page module under :mod:`ipynb_tools.console.pages` exports ``HANDLERS`` (URL patterns relative
to the prefix, handler classes) and may export ``TABS`` (the course tabs it provides, names of
:data:`ipynb_tools.console.base.TAB_ORDER`). :data:`PAGE_MODULES` lists them: one line per module.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubOAuth
from tornado import web

from .base import NotFoundHandler, OAuthCallbackHandler
from .config import ConsoleConfig
from .service import Console

#: The page modules (one line each); their HANDLERS are served in this order.
PAGE_MODULES = [
    "ipynb_tools.console.pages.home",
    "ipynb_tools.console.pages.overview",
    "ipynb_tools.console.pages.myserver",
    "ipynb_tools.console.pages.users",
    "ipynb_tools.console.pages.volumes",
    "ipynb_tools.console.pages.dashboard",
    "ipynb_tools.console.pages.connections",
    "ipynb_tools.console.pages.edit",
    "ipynb_tools.console.pages.submissions",
]

STATIC = Path(__file__).with_name("static")


def collect_handlers(modules: list[str] = PAGE_MODULES) -> tuple[list[tuple[str, type]], set[str]]:
    """Every page module's ``HANDLERS`` (patterns relative to the prefix) and the tabs they provide."""
    handlers: list[tuple[str, type]] = []
    tabs: set[str] = set()
    for name in modules:
        module = importlib.import_module(name)
        handlers.extend(module.HANDLERS)
        tabs.update(getattr(module, "TABS", ()))
    return handlers, tabs


def make_hub_auth(config: ConsoleConfig) -> Any:
    """JupyterHub's OAuth client of this service (client id, callback URL... from the ``JUPYTERHUB_*``
    environment the hub gives a managed service; docs/console.md for an external one)."""
    return HubOAuth(
        api_url=config.hub_api_url,
        api_token=config.hub_api_token,
        base_url=config.prefix,
        cache_max_age=60,
    )


def make_app(config: ConsoleConfig, *, console: Console | None = None, **settings: Any) -> web.Application:
    """The console as a tornado ``Application`` (not listening yet); ``console`` for tests.

    Settings: XSRF cookies on (every form carries ``xsrf_form_html()``), static files under
    ``<prefix>static/``, the hub's OAuth callback at ``<prefix>oauth_callback``.
    """
    prefix = config.prefix
    handlers, tabs = collect_handlers()
    routes: list[Any] = [(prefix + "oauth_callback", OAuthCallbackHandler)]
    routes += [(prefix + pattern.lstrip("/"), handler) for pattern, handler in handlers]
    routes.append((prefix + ".*", NotFoundHandler))
    return web.Application(
        routes,
        console=console if console is not None else Console(config),
        console_tabs=frozenset(tabs),
        hub_auth=make_hub_auth(config),
        cookie_secret=os.environ.get("JUPYTERHUB_COOKIE_SECRET") or secrets.token_bytes(32),
        xsrf_cookies=True,
        static_path=str(STATIC),
        static_url_prefix=prefix + "static/",
        default_handler_class=NotFoundHandler,
        **settings,
    )


def check(config: ConsoleConfig) -> None:
    """Refuse settings the console cannot run with: one line each (UsageError, EnvironmentContractError)."""
    from ..errors import UsageError

    if not config.hub_api_url or not config.hub_api_token:
        raise UsageError(
            "no hub API URL or token: run it as a JupyterHub service (JUPYTERHUB_API_URL, "
            "JUPYTERHUB_API_TOKEN; docs/console.md)"
        )
    if not config.launches_url:
        raise UsageError("give --db URL (the execution-log database; it also holds the launches)")
    config.zone  # noqa: B018 - raises for an unknown time zone name


def serve(config: ConsoleConfig, announce: Callable[[str], None] = print) -> None:
    """Check the settings, listen on ``config.ip:config.port`` and serve until SIGINT/SIGTERM."""
    import signal

    check(config)

    async def main() -> None:
        app = make_app(config)
        server = app.listen(config.port, config.ip, xheaders=True)
        announce(f"ipynb-tools console: serving on http://{config.ip}:{config.port}{config.prefix}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()
        app.settings["console"].close()

    asyncio.run(main())
