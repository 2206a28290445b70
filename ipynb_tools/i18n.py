"""Translations: the one home for message catalogues, language choice and gettext (issue 16, item 8).

Three gettext domains, each a catalogue per language under ``ipynb_tools/locale``::

    ipynb_tools/locale/<lang>/LC_MESSAGES/<domain>.po   (source, committed)
    ipynb_tools/locale/<lang>/LC_MESSAGES/<domain>.mo   (compiled by hatch_build.py at install/build time)

- ``ipynb_tools``: what the in-container commands and the CLI tell a student or teacher
  (``ipynb_submit``, ``ipynb_deploy``, ``setup`` notices, limit notices). Wrap with :func:`_` /
  :func:`ngettext`; the language comes from the process environment (``LANGUAGE``, ``LC_ALL``,
  ``LC_MESSAGES``, ``LANG``), which the spawner sets from its ``language`` trait.
- ``console``: the course console's web pages. The language comes from the request
  (:func:`languages_from_accept_language`) or a site setting, never from the server's environment.
  For Jinja2 (the console's base handler)::

      env = jinja2.Environment(extensions=["jinja2.ext.i18n"], ...)
      env.install_gettext_translations(translation("console", langs), newstyle=True)

  or per request, without touching a shared environment: pass ``gettext``/``ngettext`` of
  ``translation("console", langs)`` into the template context and call
  ``env.install_gettext_callables(...)`` on a per-language environment. In templates:
  ``{% trans %}...{% endtrans %}`` or ``{{ _("...") }}`` (newstyle: ``_("%(n)s files", n=3)``).
  In the console's Python code call the translation's ``gettext`` through a name Babel extracts
  (``_``, ``gettext``, ``ngettext``), e.g. ``_ = translation("console", langs).gettext``.
- ``click``: click's own parser and help messages (``Usage:``, ``Error: No such option ...``,
  ``Show this message and exit.``), whose msgids are click's: ``make messages`` extracts them from
  the installed click. Click translates through the standard library's ``gettext.gettext`` /
  ``gettext.ngettext`` (the process's current gettext domain), so a command-line entry point calls
  :func:`bind_click_catalogue` before it imports its click command; a program that imports
  ipynb_tools as a library keeps its own gettext domain.

English is the source language: every msgid is the English text, and the English text is what
the user sees when no catalogue matches (``NullTranslations``). A language list is cut at its
first English entry, so ``Accept-Language: en-US, ja;q=0.5`` gives English, not Japanese.

Machine-read output is never translated: JSON, CSV headers that scripts read, file names, tag
formats (``filename:``/``codenum:``), receipt fields that tests and graders parse
(docs/languages.md).

Cheap to import (in-container commands start fast): the standard library's gettext only; Babel is
needed only to build (hatch_build.py) and to extract (``make messages``), never by this module (the
console alone formats its dates and numbers with Babel at run time: ``console/formats.py``).

A library that cannot know its reader's language (the params findings) makes a :class:`Message`,
translated where it is shown.
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "CLICK_DOMAIN",
    "DOMAINS",
    "LOCALE_DIR",
    "N_",
    "JoinedMessage",
    "Message",
    "_",
    "available_languages",
    "bind_click_catalogue",
    "click_message",
    "container_environment",
    "languages_from_accept_language",
    "languages_from_environ",
    "ngettext",
    "translation",
]

#: The domain of click's own messages (its msgids are the installed click's: ``make messages``).
CLICK_DOMAIN = "click"

#: The gettext domains this package ships catalogues for.
DOMAINS: tuple[str, ...] = ("ipynb_tools", "console", CLICK_DOMAIN)

#: Where the catalogues are: ``<LOCALE_DIR>/<lang>/LC_MESSAGES/<domain>.mo``.
LOCALE_DIR: str = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")

#: The variables gettext reads, in its order of precedence (GNU gettext manual, "Locale Environment
#: Variables"; Python's ``gettext.find``): the first one set to a non-empty value decides.
ENVIRON_VARIABLES: tuple[str, ...] = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

#: The source language: the msgids are English, so English needs no catalogue.
SOURCE_LANGUAGE = "en"


def _normalize(tag: str) -> list[str]:
    """``ja_JP.UTF-8@x`` / ``ja-JP`` -> ``["ja_JP", "ja"]``; ``ja`` -> ``["ja"]``; junk -> ``[]``."""
    tag = tag.strip()
    for sep in (".", "@"):
        tag = tag.split(sep, 1)[0]
    tag = tag.replace("-", "_")
    if not tag:
        return []
    lang, _sep, region = tag.partition("_")
    if not lang.isascii() or not lang.isalpha() or not 2 <= len(lang) <= 8:
        return []
    lang = lang.lower()
    if region and region.isascii() and region.isalnum():
        return [f"{lang}_{region.upper()}", lang]
    return [lang]


def _candidates(tags: Iterable[str]) -> list[str]:
    """Normalized, de-duplicated candidates in order of preference, stopping at C/POSIX."""
    out: list[str] = []
    for tag in tags:
        if tag.strip() in ("C", "POSIX") or tag.strip().startswith(("C.", "POSIX.")):
            break
        for name in _normalize(tag):
            if name not in out:
                out.append(name)
    return out


def languages_from_environ(environ: Mapping[str, str] | None = None) -> list[str]:
    """The languages a process asks for, best first, as gettext chooses them.

    The first of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` set to a non-empty value is
    read (``LANGUAGE`` may list several, colon-separated: ``ja:en``); ``C``/``POSIX`` ends the list
    (English). Each entry gives its full form then its bare language: ``"ja_JP.UTF-8"`` ->
    ``["ja_JP", "ja"]``. ``environ`` defaults to ``os.environ``. Empty list: English.
    """
    env = os.environ if environ is None else environ
    for name in ENVIRON_VARIABLES:
        value = env.get(name)
        if value:
            return _candidates(value.split(":"))
    return []


def languages_from_accept_language(header: str | None) -> list[str]:
    """The languages of an HTTP ``Accept-Language`` header, best first (RFC 9110 section 12.5.4).

    ``"ja,en-US;q=0.9,en;q=0.8"`` -> ``["ja", "en_US", "en"]``. Entries with ``q=0``, ``*`` and
    malformed entries are dropped; equal weights keep the header's order. ``None``/empty -> ``[]``.
    """
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = -1.0
        if 0.0 < quality <= 1.0:
            weighted.append((-quality, index, tag))
    weighted.sort()
    out: list[str] = []
    for _q, _i, tag in weighted:
        # the full form where given, its bare language right after it ("en-US" then "en")
        for name in _normalize(tag):
            if name not in out:
                out.append(name)
    return out


def _up_to_english(languages: Sequence[str]) -> tuple[str, ...]:
    """The languages before the first English one (English is the msgids themselves)."""
    out: list[str] = []
    for lang in languages:
        names = _normalize(lang)
        if not names:
            continue
        if names[-1] == SOURCE_LANGUAGE:
            break
        out.extend(name for name in names if name not in out)
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _load(domain: str, languages: tuple[str, ...]) -> gettext.NullTranslations:
    if not languages:
        return gettext.NullTranslations()
    return gettext.translation(domain, LOCALE_DIR, languages=list(languages), fallback=True)


def translation(domain: str = "ipynb_tools", languages: Sequence[str] | None = None) -> gettext.NullTranslations:
    """The catalogue of ``domain`` for the first of ``languages`` that has one (cached).

    ``languages`` defaults to :func:`languages_from_environ` of the process environment. Tags may
    be locale names or language tags (``ja_JP.UTF-8``, ``ja-JP``, ``ja``); the list is cut at the
    first English one. No catalogue found: a ``gettext.NullTranslations`` (the English msgids).
    Raises ``ValueError`` for a domain this package has no catalogues for.
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown gettext domain {domain!r}; known: {', '.join(DOMAINS)}")
    if languages is None:  # the process environment: keyed by the variables' values (each _() call comes here)
        return _from_environ(domain, tuple(os.environ.get(name) for name in ENVIRON_VARIABLES))
    return _load(domain, _up_to_english(languages))


@functools.lru_cache(maxsize=16)
def _from_environ(domain: str, values: tuple[str | None, ...]) -> gettext.NullTranslations:
    environ = {name: value for name, value in zip(ENVIRON_VARIABLES, values, strict=True) if value is not None}
    return _load(domain, _up_to_english(languages_from_environ(environ)))


def available_languages(domain: str = "ipynb_tools") -> list[str]:
    """Languages with a compiled catalogue for ``domain`` (English, the source, is always available)."""
    try:
        entries = sorted(os.listdir(LOCALE_DIR))
    except OSError:
        return [SOURCE_LANGUAGE]
    found = [lang for lang in entries if os.path.isfile(os.path.join(LOCALE_DIR, lang, "LC_MESSAGES", f"{domain}.mo"))]
    return [SOURCE_LANGUAGE, *found]


def bind_click_catalogue() -> bool:
    """Make click's own messages speak the process's language: for command-line entry points only.

    Click marks its messages (``Usage:``, ``Options``, ``Error: No such option {name!r}.``,
    ``Try '{command} {option}' for help.``, ...) with the standard library's ``gettext.gettext`` and
    ``gettext.ngettext``, which look them up in the process's *current* gettext domain (``messages``
    unless a program changes it; Python's ``gettext.textdomain``). When this package's language
    rule (:func:`languages_from_environ`, the list cut at its first English entry) finds a
    catalogue of the ``click`` domain, this binds that domain to :data:`LOCALE_DIR`
    (``gettext.bindtextdomain``) and makes it the current one (``gettext.textdomain``), and returns
    True; else (English, ``C``, a language without a catalogue) it changes nothing and returns
    False, so click prints its English msgids.

    Process-wide, which is why only the console scripts call it (``ipynb_tools/cli/scripts.py``),
    first thing, before their click commands are imported: ``click.version_option`` translates its
    help when the command is defined. Importing ipynb_tools as a library never calls it, so a host
    program's own gettext domain is left alone. Click's lookup reads the same environment variables
    as :func:`translation` (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``) at each message.
    """
    if type(translation(CLICK_DOMAIN)) is gettext.NullTranslations:
        return False
    gettext.bindtextdomain(CLICK_DOMAIN, LOCALE_DIR)
    gettext.textdomain(CLICK_DOMAIN)
    return True


def click_message(msgid: str) -> str:
    """One of click's own messages (domain ``click``) in the process's language, for code that reuses it.

    For a heading click would print itself, e.g. the ``Commands`` of a group that lists its
    sub-commands without importing them (``ipynb_tools/cli/main.py``). ``msgid`` must be click's
    msgid (the ``click`` catalogue has it only while the installed click uses it); not extracted
    into the ``ipynb_tools`` domain.
    """
    return translation(CLICK_DOMAIN).gettext(msgid)


def container_environment(language: str) -> dict[str, str]:
    """The container environment that makes in-container messages speak ``language`` (the spawner's site language).

    ``"ja"`` / ``"ja_JP"`` / ``"ja-JP"`` -> ``{"LANGUAGE": "ja_JP:ja"}``-style values: ``LANGUAGE``
    only, which gettext reads before ``LC_ALL``/``LC_MESSAGES``/``LANG``; ``LANG`` is left to the
    image, because a ``LANG`` naming a locale the image lacks makes C programs (and Python's file
    name encoding) fall back to ASCII. ``""``: no setting (``{}``). Raises ``ValueError`` for a
    value that is no language tag.
    """
    if not language.strip():
        return {}
    names = _normalize(language)
    if not names or language.strip() in ("C", "POSIX"):
        raise ValueError(f"not a language tag: {language!r} (e.g. 'ja', 'ja_JP', 'en')")
    return {"LANGUAGE": ":".join(names)}


def _(message: str) -> str:
    """``message`` (English) in the process's language, domain ``ipynb_tools``.

    Reads the environment at each call (cheap: the catalogue is cached), so a test or a caller
    that changes ``LANG`` sees the change. Format AFTER translating, with named fields:
    ``_("%(path)s: not a notebook") % {"path": p}`` or ``_("{path}: ...").format(path=p)``.
    """
    return translation().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for ``n``, in the process's language (domain ``ipynb_tools``)."""
    return translation().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (a table entry translated at use)."""
    return message


class Message:
    """A message translated where it is shown, not where it is made: an ``N_``-marked English msgid and
    its named arguments (``%(name)s`` fields).

    A library that cannot know its reader's language (the params library's validation findings: the
    ``params`` CLI reads ``LANG``, the console the request's language) makes these; the edge renders
    them: ``str(message)`` is the English text (logs, JSON, exceptions), ``message.render(gettext)``
    the text in the language of ``gettext`` (e.g. ``translation("ipynb_tools", ["ja"]).gettext``).
    An argument that is itself a :class:`Message` is rendered in the same language (a finding that
    quotes a value reader's problem); other arguments are formatted as they are. Without arguments the
    msgid is not %-formatted (text with a ``%`` may be used as a message of its own).

    ``Message(N_("%(key)s is given again (first on line %(first)d)"), key="lms_users", first=3)``
    """

    __slots__ = ("args", "msgid")

    def __init__(self, msgid: str, /, **args: object) -> None:
        self.msgid = msgid
        self.args: dict[str, object] = args

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        """The text in the language of ``gettext`` (None: English, the msgids themselves)."""
        text = self.msgid if gettext is None else gettext(self.msgid)
        if not self.args:
            return text
        return text % {
            name: value.render(gettext) if isinstance(value, Message) else value for name, value in self.args.items()
        }

    def __str__(self) -> str:
        return self.render(None)

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.args!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.msgid, self.args) == (other.msgid, other.args)

    def __hash__(self) -> int:
        return hash(self.msgid)


class JoinedMessage(Message):
    """Messages shown one after the other, each translated on its own: clauses of one finding
    (``"the text is ... over ...; 'params format --compact' ..."``) or a list (``", "`` as ``separator``)."""

    __slots__ = ("parts", "separator")

    def __init__(self, *parts: Message, separator: str = "") -> None:
        super().__init__("")
        self.parts = parts
        self.separator = separator

    def render(self, gettext: Callable[[str], str] | None = None) -> str:
        return self.separator.join(part.render(gettext) for part in self.parts)

    def __repr__(self) -> str:
        return f"JoinedMessage(*{self.parts!r}, separator={self.separator!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JoinedMessage) and (self.parts, self.separator) == (other.parts, other.separator)

    def __hash__(self) -> int:
        return hash(self.parts)
