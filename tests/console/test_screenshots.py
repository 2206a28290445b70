"""Every page of the console in English and Japanese, kept as CI artifacts (test-artifacts/console/);
the language comes from the browser (Accept-Language) and the switch (?lang=) (issue 15)."""

from __future__ import annotations

import contextlib

import pytest

from ipynb_tools.volumes.course import create_volume
from ipynb_tools.volumes.engine import connect
from ipynb_tools.volumes.naming import LABEL_COURSE, VolumeKind
from tests.browser import artifact_dir

from .conftest import INSTRUCTOR, teacher_custom
from .hubconsole import HOST, ConsoleHub

pytestmark = pytest.mark.slow
COURSE = "91"

#: page file name -> (path, the heading it shows in English, in Japanese)
PAGES = {
    "home": ("", "Courses", "コース"),
    "overview": (f"course/{COURSE}/", "Overview", "概要"),
    "users": (f"course/{COURSE}/users", "Users", "ユーザ"),
    "volumes": (f"course/{COURSE}/volumes", "Volumes", "ボリューム"),
    "volume-delete": (
        f"course/{COURSE}/volumes/delete?volume=lms_vol_ex2_{COURSE}_{HOST}",
        "Delete a volume",
        "ボリュームの削除",
    ),
    "myserver": ("me", "My server", "自分のサーバ"),
}


@pytest.fixture
def volume(docker_engine):
    engine = connect(docker_engine.url)
    create_volume(engine, VolumeKind.TASK, "ex2", COURSE, HOST)
    try:
        yield
    finally:
        for found in docker_engine.client().volumes.list(filters={"label": f"{LABEL_COURSE}={COURSE}"}):
            with contextlib.suppress(Exception):  # best-effort cleanup
                found.remove(force=True)
        engine.close()


def test_every_page_in_both_languages(engine_login, engine_console_hub: ConsoleHub, volume) -> None:
    engine_login("hara", "Learner", teacher_custom("kudo"), course=COURSE).context.close()
    # a Japanese browser gets Japanese without asking
    page = engine_login("kudo", INSTRUCTOR, teacher_custom("kudo"), course=COURSE, locale="ja-JP")
    assert page.inner_text("h1") == "コース"
    shots = artifact_dir("console")
    for lang, column in (("en", 1), ("ja", 2)):
        page.goto(engine_console_hub.console_url + f"?lang={lang}")  # the switch, remembered in a cookie
        for name, entry in PAGES.items():
            reply = page.goto(engine_console_hub.console_url + entry[0])
            assert reply.status == 200, name
            assert page.inner_text("h1") == entry[column], (lang, name)
            assert page.get_attribute("html", "lang") == lang
            page.screenshot(path=str(shots / f"{name}-{lang}.png"), full_page=True)
