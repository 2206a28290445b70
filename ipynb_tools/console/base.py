"""The base of every console page: hub OAuth login, the access check, Jinja2 pages in the user's language.

:class:`ConsoleHandler` is JupyterHub's standard service machinery
(:class:`jupyterhub.services.auth.HubOAuthenticated`: the hub's OAuth login, its cookie, its
cross-site request forgery check) on a tornado ``RequestHandler``. Every page handler derives from it
(docs/DEVELOPING.md, "Console conventions"):

- ``viewer = await self.viewer()`` -- who is looking (:class:`ipynb_tools.console.access.Viewer`);
- ``await self.require_course(course)`` -- 403 with a page that reveals nothing unless the viewer
  may see ``course`` (the rule lives in :mod:`ipynb_tools.console.access`);
- ``self.render("page.html", **context)`` -- a Jinja2 template under ``templates/`` (extending
  ``base.html``) with ``_``/``gettext``/``ngettext`` of the ``console`` domain in the viewer's
  language, ``xsrf_form_html()`` for every form, ``url(path)`` for links under the service prefix,
  ``format_time(t)`` and ``formats`` (:class:`ipynb_tools.console.formats.Formats`: dates, numbers,
  sizes, yes/no for the page's language in the site's zone).

The language: ``?lang=ja|en`` (remembered in a cookie), else the cookie, else the browser's
``Accept-Language``; English when nothing matches.
"""

from __future__ import annotations

import functools
import gettext
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web

from ..i18n import N_, Message, languages_from_accept_language, translation
from ..params.findings import Finding
from .access import COURSE_REFUSED, AccessDenied, Viewer, require_course
from .formats import Formats
from .hubapi import HubAPIError
from .service import Console

#: The console's languages, the first is the fallback.
LANGUAGES = ("en", "ja")
LANGUAGE_COOKIE = "ipynb_tools_console_lang"
#: The domain of the console's messages (ipynb_tools/locale/<lang>/LC_MESSAGES/console.mo).
DOMAIN = "console"

#: The tabs whose pages need the LMS adapter (SPEC 11's Lti Connections and Lti Settings).
LMS_TABS = frozenset({"connections", "settings"})
#: The course tabs in the old module's order (SPEC 11); a tab shows when a page module registers it.
TAB_ORDER = ("overview", "connections", "settings", "volumes", "users", "dashboard", "charts", "submissions")


def translations(language: str) -> gettext.NullTranslations:
    """The ``console`` domain's catalogue for ``language`` (:func:`ipynb_tools.i18n.translation`)."""
    return translation(DOMAIN, [language])


@functools.cache
def finding_gettext(language: str) -> Callable[[str], str]:
    """How a params finding reads in ``language``: its msgid in the ``console`` catalogue (the Edit form's
    own findings, :mod:`ipynb_tools.console.forms`), else in ``ipynb_tools`` (the params library's, which
    the ``params`` CLI shares); English when neither has it (docs/languages.md)."""
    console, library = translations(language), translation("ipynb_tools", [language])

    def gettext(message: str) -> str:
        text = console.gettext(message)
        return text if text != message else library.gettext(message)

    return gettext


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: a valid ``?lang=``, else a valid cookie, else the first of ``Accept-Language``
    (:func:`ipynb_tools.i18n.languages_from_accept_language`: quality values, RFC 9110) the console
    speaks, else English."""
    for value in (query, cookie):
        if value in LANGUAGES:
            return value
    for tag in languages_from_accept_language(accept_language):
        primary = tag.split("_")[0].lower()
        if primary in LANGUAGES:
            return primary
    return LANGUAGES[0]


_environments: dict[str, Environment] = {}


def environment(language: str) -> Environment:
    """The Jinja2 environment of ``language`` (autoescaping, ``jinja2.ext.i18n`` with its translations)."""
    env = _environments.get(language)
    if env is None:
        env = Environment(
            loader=PackageLoader("ipynb_tools.console", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
        _environments[language] = env
    return env


class ConsoleHandler(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]  # jupyterhub is untyped
    """The base of every console page (see the module docstring)."""

    #: The course tab this page is (``overview``...), for the navigation; None outside a course.
    tab: str | None = None

    @property
    def hub_auth(self) -> Any:
        return self.settings["hub_auth"]

    @hub_auth.setter
    def hub_auth(self, value: Any) -> None:  # HubAuthenticated's setter; the app's instance is used
        pass

    @property
    def console(self) -> Console:
        console: Console = self.settings["console"]
        return console

    @property
    def log(self) -> logging.Logger:
        """The console's log (tornado's ``RequestHandler`` has none: every ``self.log`` of a page's error
        path was an AttributeError, a 500 instead of the page's 503)."""
        return logging.getLogger("ipynb_tools.console")

    def prepare(self) -> Awaitable[None] | None:
        self.language = choose_language(
            self.get_query_argument("lang", None),
            self.get_cookie(LANGUAGE_COOKIE),
            self.request.headers.get("Accept-Language"),
        )
        if self.get_query_argument("lang", None) in LANGUAGES:
            self.set_cookie(
                LANGUAGE_COOKIE,
                self.language,
                path=self.console.config.prefix,
                httponly=True,
                samesite="Lax",
                expires_days=365,
            )
        self._viewer: Viewer | None = None
        return None

    async def viewer(self) -> Viewer:
        """The logged-in user as the access rules see them (call from an ``@web.authenticated`` method)."""
        if self._viewer is None:
            model = self.current_user
            if not model:
                raise web.HTTPError(403)
            try:
                self._viewer = await self.console.viewer(str(model["name"]))
            except HubAPIError as exc:
                self.log.error("console: cannot ask the hub who %s is: %s", model.get("name"), exc)
                raise web.HTTPError(503) from None
        return self._viewer

    async def require_course(self, course: str) -> Viewer:
        """The viewer, when they may see ``course``; else 403 with the page that says only :data:`COURSE_REFUSED`."""
        viewer = await self.viewer()
        try:
            require_course(viewer, course)
        except AccessDenied:
            raise web.HTTPError(403) from None
        return viewer

    # -- pages ------------------------------------------------------------------------------
    def url(self, path: str = "") -> str:
        """``path`` under the service prefix (``url("course/98/")`` -> ``/services/console/course/98/``)."""
        return self.console.config.prefix + path.lstrip("/")

    def gettext(self, message: str) -> str:
        """``message`` in the page's language."""
        return translations(self.language).gettext(message)

    @property
    def formats(self) -> Formats:
        """Dates, numbers, sizes and yes/no in the page's language and the site's zone (:mod:`.formats`)."""
        return Formats(getattr(self, "language", LANGUAGES[0]), self.console.config.zone)

    def format_time(self, value: datetime | float | int | None) -> str:
        """A time in the site's zone for the page's language (``Nov 30, 2026, 6:05 PM``, ``2026年11月30日
        18:05``: :meth:`.formats.Formats.datetime`); a number is UTC microseconds; None -> ``-``."""
        return self.formats.datetime(value)

    def finding_text(self, finding: Finding) -> str:
        """A validation finding's message in the page's language (:func:`finding_gettext`)."""
        return finding.translated(finding_gettext(self.language))

    def message_text(self, message: Message) -> str:
        """A library's :class:`~ipynb_tools.i18n.Message` (an activity's summary...) in the page's language."""
        return message.render(finding_gettext(self.language))

    def tabs(self) -> list[str]:
        """The course tabs the app registered, in :data:`TAB_ORDER`; the LMS tabs (:data:`LMS_TABS`) only
        when the LMS adapter is configured (their pages are 404 without it)."""
        registered = set(self.settings.get("console_tabs", ()))
        if not self.console.config.has_lms:
            registered -= LMS_TABS
        return [tab for tab in TAB_ORDER if tab in registered]

    def template_context(self) -> dict[str, Any]:
        """What every template gets besides the page's own values."""
        return {
            "lang": self.language,
            "languages": LANGUAGES,
            "url": self.url,
            "static_url": self.static_url,
            "xsrf_form_html": self.xsrf_form_html,
            "format_time": self.format_time,
            "formats": self.formats,
            "finding_text": self.finding_text,
            "message_text": self.message_text,
            "viewer": self._viewer,
            "tabs": self.tabs(),
            "tab": self.tab,
            "path": self.request.path,
            "query": self.request.query,
        }

    def render_string(self, template_name: str, **kwargs: Any) -> bytes:
        template = environment(self.language).get_template(template_name)
        return template.render(**{**self.template_context(), **kwargs}).encode("utf-8")

    def render(self, template_name: str, **kwargs: Any) -> Any:
        """Render a Jinja2 template of ``templates/`` and finish the response with it."""
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        return self.finish(self.render_string(template_name, **kwargs))

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error page says only its status and one generic line: nothing about courses, users, secrets."""
        if not hasattr(self, "language"):
            self.language = LANGUAGES[0]
        message = {
            403: COURSE_REFUSED,
            404: N_("There is no such page."),
            503: N_("The hub does not answer; try again in a minute."),
        }.get(status_code, N_("Something went wrong."))
        try:
            self.finish(self.render_string("error.html", status=status_code, message=message))
        except Exception:  # noqa: BLE001 - an error page must never fail: plain text then
            self.finish(f"{status_code}\n")


class OAuthCallbackHandler(HubOAuthCallbackHandler):  # type: ignore[misc]  # jupyterhub is untyped
    """The hub's OAuth callback (``<prefix>oauth_callback``) with the app's own ``HubOAuth`` (the same
    instance the pages use: it holds the login's PKCE code verifier)."""

    @property
    def hub_auth(self) -> Any:
        return self.settings["hub_auth"]

    @hub_auth.setter
    def hub_auth(self, value: Any) -> None:
        pass


class NotFoundHandler(ConsoleHandler):
    """Any other path under the prefix: the same plain 404 page."""

    def prepare(self) -> Awaitable[None] | None:
        super().prepare()
        raise web.HTTPError(404)
