"""Embedding in the LMS page (issue 16 item 6): origins, the hub's and the server's settings, the spawner.

A real jupyter_server framed by the LMS in Chromium: tests/hub/test_embedding_server.py; a real hub
and the user's container: tests/hub/test_embedding_browser.py.
"""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
from traitlets import TraitError
from traitlets.config import Config

from ipynb_tools.hub.embedding import (
    COOKIE_OPTIONS,
    FRAME_ANCESTORS_ENV,
    Embedding,
    OriginError,
    configure_hub,
    parse_origin,
    parse_origins,
)
from ipynb_tools.serverext.embedding import apply_embedding

from .test_spawner import COURSE, lti11, make_spawner

MOODLE = "https://moodle.example.ac.jp"


@pytest.mark.parametrize(
    "given,origin",
    [
        ("https://moodle.example.ac.jp", MOODLE),
        ("HTTPS://Moodle.Example.AC.JP:443/", MOODLE),  # case, default port, one trailing slash
        ("  https://moodle.example.ac.jp  ", MOODLE),
        ("http://lms.example.ac.jp:80", "http://lms.example.ac.jp"),
        ("https://127.0.0.2:8443", "https://127.0.0.2:8443"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("https://lms-01.example.ac.jp:8443", "https://lms-01.example.ac.jp:8443"),
    ],
)
def test_origins_are_written_as_browsers_serialize_them(given: str, origin: str) -> None:
    assert parse_origin(given) == origin


@pytest.mark.parametrize(
    "given,words",
    [
        ("", "empty"),
        ("moodle.example.ac.jp", "no scheme"),
        ("ftp://moodle.example.ac.jp", "not https or http"),
        ("https://moodle.example.ac.jp/moodle", "path"),
        ("https://moodle.example.ac.jp/?x=1", "path, query"),
        ("https://moodle.example.ac.jp#top", "fragment"),
        ("https://admin@moodle.example.ac.jp", "user information"),
        ("https://*.example.ac.jp", "wildcard hosts are not allowed"),
        ("*", "no scheme"),
        ("https://*", "not a host name"),
        ("https://moodle.example.ac.jp 'unsafe-inline'", "space, quote"),
        ("https://moodle.example.ac.jp;script-src", "semicolon"),
        ("https://a,https://b", "comma"),
        ("https://moodle.example.ac.jp:99999", "not a valid host[:port]"),
        ("https://moodle.example.ac.jp:0", "port 0"),
        ("https://moodle_x.example.ac.jp", "not a host name"),
        ("https://", "no host"),
        ("https://[zz::1]", "not a valid host"),
    ],
)
def test_bad_origins_are_refused_with_the_reason(given: str, words: str) -> None:
    with pytest.raises(OriginError) as caught:
        parse_origin(given)
    assert words in str(caught.value)
    assert repr(given) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_wildcards_only_when_allowed_and_never_bare() -> None:
    assert parse_origin("https://*.Example.ac.jp", allow_wildcards=True) == "https://*.example.ac.jp"
    for bad in ("https://*", "https://*.10.0.0.1", "https://*.[::1]"):
        with pytest.raises(OriginError):
            parse_origin(bad, allow_wildcards=True)


def test_origins_from_a_list_or_the_environment_form() -> None:
    assert parse_origins(["https://a.example", "HTTPS://A.example/", "https://b.example:8443"]) == (
        "https://a.example",
        "https://b.example:8443",
    )
    assert parse_origins("https://a.example  https://b.example") == ("https://a.example", "https://b.example")
    with pytest.raises(OriginError, match="no LMS origin"):
        Embedding.of([])


def test_the_policy_names_self_and_the_lms_only() -> None:
    embedding = Embedding.of([MOODLE, "https://moodle2.example.ac.jp:8443"])
    assert embedding.content_security_policy == (
        "frame-ancestors 'self' https://moodle.example.ac.jp https://moodle2.example.ac.jp:8443"
    )


def test_hub_settings_keep_the_sites_own() -> None:
    base = {
        "headers": {"X-Site": "1", "Content-Security-Policy": "frame-ancestors 'none'"},
        "cookie_options": {"expires_days": 1},
        "slow_ms": 500,
    }
    settings = Embedding.of([MOODLE]).hub_tornado_settings(base)
    assert settings["headers"] == {"X-Site": "1", "Content-Security-Policy": f"frame-ancestors 'self' {MOODLE}"}
    assert settings["cookie_options"] == {"expires_days": 1, "samesite": "None", "secure": True}
    assert settings["slow_ms"] == 500
    assert "xsrf_cookie_kwargs" not in settings  # JupyterHub then gives the _xsrf cookie the cookie_options
    assert base["headers"]["Content-Security-Policy"] == "frame-ancestors 'none'"  # not modified
    explicit = Embedding.of([MOODLE]).hub_tornado_settings({"xsrf_cookie_kwargs": {"path": "/hub/"}})
    assert explicit["xsrf_cookie_kwargs"] == {"path": "/hub/", "samesite": "None", "secure": True}


def test_configure_hub_sets_the_hub_and_the_spawner() -> None:
    c = Config()
    c.JupyterHub.tornado_settings = {"headers": {"X-Site": "1"}}
    embedding = configure_hub(c, ["HTTPS://Moodle.example.ac.jp/"])
    assert embedding.origins == (MOODLE,)
    assert c.JupyterHub.tornado_settings["headers"]["X-Site"] == "1"
    assert c.JupyterHub.tornado_settings["headers"]["Content-Security-Policy"] == f"frame-ancestors 'self' {MOODLE}"
    assert c.JupyterHub.tornado_settings["cookie_options"] == dict(COOKIE_OPTIONS)
    assert c.LTIContainerSpawner.lms_origins == [MOODLE]
    fresh = Config()
    configure_hub(fresh, MOODLE)
    assert fresh.JupyterHub.tornado_settings["cookie_options"] == dict(COOKIE_OPTIONS)
    with pytest.raises(OriginError, match="path"):
        configure_hub(Config(), ["https://moodle.example.ac.jp/mod/lti"])


# -- the spawner -------------------------------------------------------------------------------
def test_spawner_passes_the_origins_and_the_cookie_options_to_the_server() -> None:
    s = make_spawner(lms_origins=["HTTPS://Moodle.example.ac.jp:443"])
    assert s.lms_origins == [MOODLE]
    s.prepare(lti11(**COURSE, lms_iframe="1"))
    assert s.environment[FRAME_ANCESTORS_ENV] == MOODLE
    assert s.environment["SITE_VAR"] == "1"  # the site's environment is kept
    # JupyterHub hands Spawner.cookie_options to the server as JUPYTERHUB_COOKIE_OPTIONS
    env = s.get_env()
    assert json.loads(env["JUPYTERHUB_COOKIE_OPTIONS"]) == {"samesite": "None", "secure": True}
    assert env[FRAME_ANCESTORS_ENV] == MOODLE


def test_spawner_without_origins_passes_nothing() -> None:
    s = make_spawner()
    s.prepare(lti11(**COURSE))
    assert FRAME_ANCESTORS_ENV not in s.environment
    assert "JUPYTERHUB_COOKIE_OPTIONS" not in s.get_env()


def test_spawner_refuses_a_bad_origin_in_its_config() -> None:
    with pytest.raises(TraitError, match=r"lms_origins: LMS origin 'https://\*.example.ac.jp': wildcard"):
        make_spawner(lms_origins=["https://*.example.ac.jp"])
    s = make_spawner(lms_origins=["https://*.example.ac.jp"], lms_origins_wildcards=True)
    assert s.lms_origins == ["https://*.example.ac.jp"]


# -- the server extension's part (a real ServerApp is framed in tests/hub/test_embedding_server.py) ----
def fake_serverapp() -> SimpleNamespace:
    return SimpleNamespace(
        web_app=SimpleNamespace(
            settings={"headers": {"X-JupyterHub-Version": "6"}, "xsrf_cookie_kwargs": {"path": "/u/"}}
        ),
        identity_provider=SimpleNamespace(cookie_options={"expires_days": 2}),
        log=logging.getLogger("test-embedding"),
    )


def test_server_settings_from_the_environment() -> None:
    app = fake_serverapp()
    applied = apply_embedding(app, {FRAME_ANCESTORS_ENV: f"{MOODLE} https://127.0.0.2:8443"})
    assert applied is not None and applied.origins == (MOODLE, "https://127.0.0.2:8443")
    settings = app.web_app.settings
    assert settings["headers"]["Content-Security-Policy"] == f"frame-ancestors 'self' {MOODLE} https://127.0.0.2:8443"
    assert settings["headers"]["X-JupyterHub-Version"] == "6"
    assert settings["xsrf_cookie_kwargs"] == {"path": "/u/", "samesite": "None", "secure": True}
    assert app.identity_provider.cookie_options == {"expires_days": 2, "samesite": "None", "secure": True}
    assert settings["cookie_options"] == app.identity_provider.cookie_options


def test_server_without_or_with_a_bad_value_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    app = fake_serverapp()
    before = json.dumps(app.web_app.settings, sort_keys=True)
    assert apply_embedding(app, {}) is None
    with caplog.at_level(logging.ERROR, logger="test-embedding"):
        assert apply_embedding(app, {FRAME_ANCESTORS_ENV: "https://moodle.example.ac.jp/path"}) is None
    assert json.dumps(app.web_app.settings, sort_keys=True) == before
    assert "cannot be framed" in caplog.text and "path" in caplog.text
