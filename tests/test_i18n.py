"""Translations (ipynb_tools/i18n.py, issue 16 item 8): language choice, fallbacks, and complete catalogues.

The completeness check extracts every message from the source with Babel's own extractor (the
same mapping file, babel.cfg, that ``make messages`` uses) and requires, for each language's
catalogue, a non-empty, non-fuzzy translation whose placeholders are the msgid's. The checker is
tested on catalogues that lack an entry, so a test that cannot fail is not what guards it.

The ``click`` domain's messages are extracted from the INSTALLED click's source, so a click that
gains (or rewords) a message fails the completeness test until ``make messages`` and a translation.
"""

from __future__ import annotations

import gettext
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import click
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ipynb_tools import i18n

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ipynb_tools"
LOCALE = PACKAGE / "locale"
#: which part of the package feeds which domain (the Makefile's messages target says the same)
DOMAIN_DIRS: dict[str, tuple[Path, tuple[str, ...]]] = {
    "ipynb_tools": (PACKAGE, ("console", "locale")),
    "console": (PACKAGE / "console", ()),
    i18n.CLICK_DOMAIN: (Path(click.__file__).resolve().parent, ()),  # click's own messages, from the installed click
}


# -- the checker ---------------------------------------------------------------------------------
_PERCENT = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc%]")
_BRACES = re.compile(r"(?<!\{)\{(\w*)[^{}]*\}(?!\})")


def placeholders(text: str) -> list[str]:
    """The format fields of a message, sorted: ``%(name)s`` -> ``%(name)``, ``%s`` -> ``%``, ``{x}`` -> ``{x}``."""
    found = [f"%({m.group(1)})" if m.group(1) else "%" for m in _PERCENT.finditer(text) if m.group(0) != "%%"]
    found += [f"{{{m.group(1)}}}" for m in _BRACES.finditer(text)]
    return sorted(found)


def extract(domain: str) -> dict[str | tuple[str, ...], list[str]]:
    """Every message of ``domain`` in the source: msgid (tuple for plurals) -> where it is."""
    top, skip = DOMAIN_DIRS[domain]
    if not top.is_dir():
        return {}
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)

    def keep(directory: str) -> bool:
        name = os.path.basename(directory)
        return not name.startswith((".", "_")) and name not in skip

    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(top), method_map, options_map, directory_filter=keep
    ):
        key = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def catalogue_problems(catalog: Catalog, messages: dict[str | tuple[str, ...], list[str]]) -> list[str]:
    """What is wrong with ``catalog`` for the extracted ``messages``: one line per problem, empty when complete.

    A message is missing, untranslated (empty msgstr, any plural form empty), fuzzy, or its
    translation's placeholders differ from the msgid's; an entry the source no longer has is stale.
    """
    problems: list[str] = []
    for msgid, where in messages.items():
        key = msgid if isinstance(msgid, str) else msgid[0]
        entry: Message | None = catalog.get(key)
        label = f"{key!r} ({where[0]})"
        if entry is None:
            problems.append(f"missing: {label}")
            continue
        strings = list(entry.string) if isinstance(entry.string, (list, tuple)) else [entry.string]
        if not all(strings):
            problems.append(f"untranslated: {label}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {label}")
        else:
            ids = [msgid] if isinstance(msgid, str) else list(msgid)
            expected = placeholders(ids[-1])
            for text in strings:
                if placeholders(text) != expected:
                    problems.append(f"placeholders differ: {label}: {placeholders(text)} != {expected}")
    known = {m if isinstance(m, str) else m[0] for m in messages}
    for entry in catalog:
        key = entry.id if isinstance(entry.id, str) else entry.id[0]
        if key and key not in known:
            problems.append(f"stale (not in the source): {key!r}")
    return problems


def languages() -> list[str]:
    return sorted(p.name for p in LOCALE.iterdir() if (p / "LC_MESSAGES").is_dir())


def read_catalogue(lang: str, domain: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as po:
        return read_po(po, locale=lang, domain=domain, abort_invalid=True)


def catalogue(entries: Iterable[tuple[str, str]], *, fuzzy: Iterable[str] = ()) -> Catalog:
    cat = Catalog(locale="ja", domain="ipynb_tools")
    fuzzy = set(fuzzy)
    for msgid, msgstr in entries:
        cat.add(msgid, msgstr, flags=("fuzzy",) if msgid in fuzzy else ())
    return cat


# -- the checker can fail ------------------------------------------------------------------------
def test_checker_reports_a_missing_an_empty_a_fuzzy_and_a_stale_entry() -> None:
    messages = {
        "submitted": ["a.py:1"],
        "closed at %(time)s": ["a.py:2"],
        "no target": ["a.py:3"],
        "fine": ["a.py:4"],
    }
    cat = catalogue(
        [("closed at %(time)s", ""), ("no target", "対象なし"), ("fine", "良い"), ("gone", "消えた")],
        fuzzy=["no target"],
    )
    problems = catalogue_problems(cat, messages)
    assert problems == [
        "missing: 'submitted' (a.py:1)",
        "untranslated: 'closed at %(time)s' (a.py:2)",
        "fuzzy: 'no target' (a.py:3)",
        "stale (not in the source): 'gone'",
    ]
    complete = catalogue([(m, "訳 %(time)s" if "%(time)s" in m else "訳") for m in messages])
    assert catalogue_problems(complete, messages) == []


def test_checker_reports_placeholders_that_differ() -> None:
    messages = {"%(path)s: closed at %(time)s": ["a.py:1"], "{n} files": ["a.py:2"]}
    cat = catalogue([("%(path)s: closed at %(time)s", "%(time)s に締め切り: %(pat)s"), ("{n} files", "ファイル")])
    problems = catalogue_problems(cat, messages)
    assert len(problems) == 2
    assert problems[0].startswith("placeholders differ: '%(path)s: closed at %(time)s'")
    assert problems[1].startswith("placeholders differ: '{n} files'")
    # reordered fields are fine: that is why the messages use named fields
    ok = catalogue([("%(path)s: closed at %(time)s", "%(time)s に締め切り: %(path)s"), ("{n} files", "{n} 個")])
    assert catalogue_problems(ok, messages) == []


def test_placeholders() -> None:
    assert placeholders("%(a)s and %s, 100%% {b} {{literal}} {c:>3}") == ["%", "%(a)", "{b}", "{c}"]


# -- the real catalogues are complete ----------------------------------------------------------
@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_every_message_has_a_translation(domain: str) -> None:
    messages = extract(domain)
    for lang in languages():
        problems = catalogue_problems(read_catalogue(lang, domain), messages)
        assert not problems, f"{lang}/{domain}.po (run `make messages`, then translate):\n" + "\n".join(problems)


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_compiled_catalogues_are_those_of_the_po(domain: str) -> None:
    """The .mo the program reads is the .po's (else: `make messages` or reinstall, hatch_build.py compiles)."""
    for lang in languages():
        mo = LOCALE / lang / "LC_MESSAGES" / f"{domain}.mo"
        assert mo.is_file(), f"{mo} missing: run `make messages` (or reinstall: hatch_build.py compiles)"
        with mo.open("rb") as fp:
            compiled = gettext.GNUTranslations(fp)
        expected = gettext.GNUTranslations(io.BytesIO(_mo_bytes(read_catalogue(lang, domain))))
        # the header (msgid "") carries read times: compare the messages
        got = {k: v for k, v in compiled._catalog.items() if k != ""}  # type: ignore[attr-defined]
        want = {k: v for k, v in expected._catalog.items() if k != ""}  # type: ignore[attr-defined]
        assert got == want, f"{mo} is not its .po compiled: run `make messages`"


def _mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def test_japanese_is_shipped() -> None:
    assert "ja" in i18n.available_languages("ipynb_tools")
    assert "ja" in i18n.available_languages(i18n.CLICK_DOMAIN)


def test_no_japanese_message_starts_with_a_particle() -> None:
    """A file's problem ('is a directory', 'has ... that is not a list') is shown after '<path>: ':
    'dir.ipynb: はディレクトリです' is broken Japanese; 'dir.ipynb: ディレクトリです' reads as a label."""
    catalog = read_catalogue("ja", "ipynb_tools")
    starts = [
        message.id
        for message in catalog
        if message.id
        and isinstance(message.string, str)
        and re.match(r"(は|が|を|の|に|で|と|も)[^\u3040-\u309f]|には", message.string)
    ]
    assert starts == []


# -- click's own messages (domain click) -------------------------------------------------------------
def test_click_messages_come_from_the_installed_click() -> None:
    """The extraction the completeness test relies on finds click's messages (an empty one would pass anything)."""
    messages = extract(i18n.CLICK_DOMAIN)
    assert len(messages) >= 50
    for msgid in (
        "Usage:",
        "Options",
        "Show this message and exit.",
        "No such option {name!r}.",
        "Invalid value for {param_hint}: {message}",
        "Missing argument",
        "Try '{command} {option}' for help.",
        "{value!r} is not a valid {number_type}.",
        "Error: {message}",
    ):
        assert msgid in messages, msgid
    assert ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})") in messages
    files = {where.split(":")[0] for found in messages.values() for where in found}
    assert "core.py" in files and files <= {p.name for p in DOMAIN_DIRS[i18n.CLICK_DOMAIN][0].glob("*.py")}


def test_a_click_message_we_do_not_translate_fails_the_check() -> None:
    """A click upgrade's new message, or a translation removed, is reported: the guard can fail."""
    messages = extract(i18n.CLICK_DOMAIN)
    catalog = read_catalogue("ja", i18n.CLICK_DOMAIN)
    assert catalogue_problems(catalog, messages) == []
    gained = {**messages, "Option {name!r} is new in click 9.": ["click/core.py:1"]}
    assert catalogue_problems(catalog, gained) == ["missing: 'Option {name!r} is new in click 9.' (click/core.py:1)"]
    catalog.delete("Usage:")
    assert [p for p in catalogue_problems(catalog, messages) if p.startswith("missing: 'Usage:'")]


def _in_a_process(code: str, **environ: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in i18n.ENVIRON_VARIABLES}
    env.update(environ)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


BIND = (
    "import gettext, click; from ipynb_tools import i18n; bound = i18n.bind_click_catalogue();"
    "print(bound, gettext.textdomain(), gettext.gettext('Usage:'), gettext.ngettext('Got unexpected extra argument"
    " ({args})', 'Got unexpected extra arguments ({args})', 2).format(args='a b'), sep='|')"
)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ja_JP.UTF-8"}, "True|click|使い方:|余分な引数があります（a b）"),
        ({"LANGUAGE": "fr:ja", "LANG": "C.UTF-8"}, "True|click|使い方:|余分な引数があります（a b）"),
        ({"LANG": "C"}, "False|messages|Usage:|Got unexpected extra arguments (a b)"),
        # English first: this package's rule (gettext alone would go on to ja for click's messages)
        ({"LANGUAGE": "en:ja", "LANG": "ja_JP.UTF-8"}, "False|messages|Usage:|Got unexpected extra arguments (a b)"),
        ({"LANG": "xx_XX.UTF-8"}, "False|messages|Usage:|Got unexpected extra arguments (a b)"),
    ],
)
def test_bind_click_catalogue(environ: dict[str, str], expected: str) -> None:
    assert _in_a_process(BIND, **environ) == expected


def test_importing_the_commands_leaves_the_gettext_domain_alone() -> None:
    """A program that imports ipynb_tools (its commands too) keeps its gettext domain: only console scripts bind it."""
    code = (
        "import gettext; import ipynb_tools.cli.submit, ipynb_tools.cli.deploy, ipynb_tools.cli.main;"
        "import ipynb_tools.cli.scripts;"
        "print(gettext.textdomain(), gettext.gettext('Usage:'))"
    )
    assert _in_a_process(code, LANG="ja_JP.UTF-8") == "messages Usage:"


def test_click_message_reuses_clicks_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in i18n.ENVIRON_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert i18n.click_message("Commands") == "コマンド"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert i18n.click_message("Commands") == "Commands"


# -- language choice -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ja_JP.UTF-8"}, ["ja_JP", "ja"]),
        ({"LANG": "ja_JP.eucJP"}, ["ja_JP", "ja"]),
        ({"LC_MESSAGES": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, ["ja_JP", "ja"]),
        ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8"}, ["en_US", "en"]),
        ({"LANGUAGE": "fr:ja", "LANG": "en_US.UTF-8"}, ["fr", "ja"]),
        ({"LANGUAGE": "", "LANG": "ja"}, ["ja"]),
        ({"LANG": "C"}, []),
        ({"LANG": "C.UTF-8"}, []),
        ({"LANGUAGE": "ja:C:fr"}, ["ja"]),
        ({"LANG": "POSIX"}, []),
        ({}, []),
    ],
)
def test_languages_from_environ(environ: dict[str, str], expected: list[str]) -> None:
    assert i18n.languages_from_environ(environ) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ja,en-US;q=0.9,en;q=0.8", ["ja", "en_US", "en"]),
        ("en-US,en;q=0.9,ja;q=0.8", ["en_US", "en", "ja"]),
        ("en;q=0.5, ja-JP", ["ja_JP", "ja", "en"]),
        ("ja;q=0, en", ["en"]),
        ("*, ja;q=0.1", ["ja"]),
        ("ja;q=abc, fr", ["fr"]),
        ("", []),
        (None, []),
    ],
)
def test_languages_from_accept_language(header: str | None, expected: list[str]) -> None:
    assert i18n.languages_from_accept_language(header) == expected


def _japanese_msgid() -> tuple[str, str]:
    """One real entry of the Japanese catalogue (msgid, msgstr)."""
    for entry in read_catalogue("ja", "ipynb_tools"):
        if entry.id and isinstance(entry.id, str) and entry.string:
            return entry.id, str(entry.string)
    pytest.fail("the Japanese catalogue has no entry")


@pytest.mark.parametrize(
    ("languages", "japanese"),
    [
        (["ja"], True),
        (["ja_JP.UTF-8"], True),
        (["ja-JP"], True),
        (["fr", "ja"], True),  # no French catalogue: the next language
        (["en_US", "ja"], False),  # English first: the msgids
        (["xx"], False),  # unknown: English
        ([], False),
    ],
)
def test_translation_chooses_the_first_language_with_a_catalogue(languages: list[str], japanese: bool) -> None:
    msgid, msgstr = _japanese_msgid()
    got = i18n.translation("ipynb_tools", languages).gettext(msgid)
    assert got == (msgstr if japanese else msgid)


def test_translation_refuses_an_unknown_domain() -> None:
    with pytest.raises(ValueError, match="unknown gettext domain 'nope'"):
        i18n.translation("nope", ["ja"])


def test_underscore_follows_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    msgid, msgstr = _japanese_msgid()
    for name in i18n.ENVIRON_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert i18n._(msgid) == msgstr
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert i18n._(msgid) == msgid
    monkeypatch.setenv("LANGUAGE", "xx:ja")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert i18n._(msgid) == msgstr


def test_import_is_light() -> None:
    """Importing ipynb_tools.i18n (every in-container command does) brings in no Babel, no heavy module."""
    code = (
        "import sys; import ipynb_tools.i18n as m; m._('x');"
        "bad = [n for n in ('babel', 'jinja2', 'pandas', 'nbformat', 'docker') if n in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
