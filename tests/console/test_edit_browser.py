"""The Connections, Settings, Edit and Submissions pages in real headless Chromium (issue 15): a teacher
who arrived from Moodle through a signed LTI launch on a real hub edits an activity's parameters in a
real Moodle database (the LMS tests' private PostgreSQL with the seeded Moodle tables), and the row
changes; a bad value shows its finding and saves nothing; a teacher of another course gets 403 on POST
too; a POST without the XSRF token is refused; hide/show; "create volumes now" on the private Docker
engine; the submissions of a real submit volume, with the CSV and Excel downloads. Screenshots of each
page in English and Japanese (artifact_dir("console"))."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ipynb_tools.volumes.naming import LABEL_COURSE
from tests.browser import artifact_dir
from tests.hub.hubrun import HubStartError
from tests.lms import conftest as lms_fixtures
from tests.lms.schema import COURSE, HUB_URL, OTHER_COURSE, WWWROOT
from tests.lms.servers import PASSWORD
from tests.requirements import unavailable

from .conftest import INSTRUCTOR, teacher_custom
from .hubconsole import HOST, ConsoleHub, start_console_hub

pytestmark = [pytest.mark.slow, pytest.mark.database, pytest.mark.engine]

GRADING = Path(__file__).resolve().parents[1] / "data" / "grading"
TEACHER = "teacher1"  # lms_teachers of the seeded activity 1 (tests/lms/schema.py)
OTHER_TEACHER = "yamada"


@pytest.fixture(scope="module")
def moodle(postgres_server: Any) -> Iterator[lms_fixtures.MoodleSite]:
    site = lms_fixtures._make_site(postgres_server, "VARCHAR(255)")
    yield site
    site.close()


@pytest.fixture(scope="module")
def edit_hub(
    tmp_path_factory: pytest.TempPathFactory, moodle: lms_fixtures.MoodleSite, docker_engine: Any
) -> Iterator[ConsoleHub]:
    """A hub whose console has the LMS adapter (the seeded Moodle database, its password in the
    environment only) and the private Docker engine."""
    url = moodle.server.url(moodle.database, password=None)
    try:
        hub = start_console_hub(
            tmp_path_factory.mktemp("edit-hub"),
            console_args=[
                "--moodle-prefix",
                moodle.prefix,
                "--wwwroot",
                WWWROOT,
                "--hub-url",
                HUB_URL,
                "--engine-url",
                docker_engine.url,
            ],
            environment={"IPYNB_TOOLS_MOODLE_DB": url, "IPYNB_TOOLS_MOODLE_DB_PASSWORD": PASSWORD},
        )
    except HubStartError as exc:
        unavailable(str(exc))
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def enter(chromium: Any, edit_hub: ConsoleHub) -> Iterator[Callable[..., Any]]:
    """``enter(user, course, locale=...)``: a page logged in on the console through a teacher's launch."""
    contexts: list[Any] = []

    def _enter(user: str, course: str, *, locale: str = "en-US") -> Any:
        context = chromium.new_context(locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_content(edit_hub.launch_form(user, INSTRUCTOR, teacher_custom(user), course=course))
        page.wait_for_url(f"{edit_hub.console_url}**", timeout=60_000)
        page.wait_for_load_state()
        return page

    yield _enter
    for context in contexts:
        context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(artifact_dir("console") / f"{name}.png"), full_page=True)


def xsrf(page: Any) -> str:
    """The page's XSRF token (tornado's cookie value is a valid token)."""
    return str(page.locator("input[name=_xsrf]").first.get_attribute("value"))


def wait_checked(page: Any, before: int) -> None:
    page.wait_for_function(
        f"Number(document.getElementById('params-form').dataset.checked || '0') > {before}", timeout=15_000
    )


def checked(page: Any) -> int:
    return int(page.evaluate("Number(document.getElementById('params-form').dataset.checked || '0')"))


def test_connections_settings_and_edit_save(enter: Any, edit_hub: ConsoleHub, moodle: Any) -> None:
    page = enter(TEACHER, str(COURSE))
    base = edit_hub.console_url
    page.goto(f"{base}course/{COURSE}/connections")
    # the LMS tabs are there because the LMS adapter is configured (docs/console.md)
    assert page.locator("nav.tabs a[href$='/connections']").count() == 1
    assert page.locator("nav.tabs a[href$='/settings']").count() == 1
    rows = page.locator("#connections tbody tr")
    assert [rows.nth(i).get_attribute("data-lti") for i in range(rows.count())] == ["1", "4", "3", "6"]
    shot(page, "connections-en")

    # Settings: hide activity 3, it leaves the Connections list; show it again
    page.goto(f"{base}course/{COURSE}/settings")
    page.locator("tr[data-lti='3'] button").click()
    page.wait_for_url("**/settings?changed=3")
    assert "hidden" in page.locator("tr[data-lti='3']").inner_text()
    shot(page, "settings-en")
    page.goto(f"{base}course/{COURSE}/connections")
    assert page.locator("tr[data-lti='3']").count() == 0
    page.goto(f"{base}course/{COURSE}/settings")
    page.locator("tr[data-lti='3'] button").click()
    page.wait_for_url("**/settings?changed=3")
    assert "shown" in page.locator("tr[data-lti='3']").inner_text()

    # Activity 1 with the automatic keys the adapter writes (lms_serverurl... of the wwwroot) is over
    # Moodle's 255 characters: the form says so before anything is written
    page.goto(f"{base}course/{COURSE}/edit/1")
    assert "over the 255-character column" in page.inner_text("#findings")
    assert re.search(r"\(\d+ too many\)$", page.inner_text("#length")), page.inner_text("#length")  # not '-19 left'

    # Edit activity 4: the form as stored; a change shows in the live preview; Save writes the row
    page.goto(f"{base}course/{COURSE}/connections")
    page.locator("tr[data-lti='4'] a.button").click()
    page.wait_for_url(f"**/course/{COURSE}/edit/4")
    assert page.input_value("#f-users") == "alice,bob" and page.input_value("#f-teachers") == "teacher1"
    before = checked(page)
    page.select_option("#f-memlimit", str(2 * 1024**3))
    wait_checked(page, before)
    assert "lms_memlimit=2147483648" in page.inner_text("#preview")
    assert "left" in page.inner_text("#length")
    shot(page, "edit-en")
    page.click("#save")
    page.wait_for_url("**/edit/4?saved=1")
    assert page.locator("#saved").count() == 1
    lines = (moodle.text(4)[0] or "").split("\r\n")
    assert "lms_memlimit=2147483648" in lines and "lms_vol_data=-資料" in lines
    # the automatic keys the old module wrote on save: embedded (launch container 2), the site's URL
    assert "lms_iframe=1" in lines and "lms_serverurl=https://lms.example.ac.jp:443" in lines
    assert page.input_value("#f-memlimit") == str(2 * 1024**3)


def test_a_bad_value_shows_its_finding_and_saves_nothing(enter: Any, edit_hub: ConsoleHub, moodle: Any) -> None:
    page = enter(TEACHER, str(COURSE))
    page.goto(f"{edit_hub.console_url}course/{COURSE}/edit/4")
    stored = moodle.text(4)
    before = checked(page)
    page.fill("#f-users", "alice;rm -rf bob")
    wait_checked(page, before)
    assert "cannot have" in page.inner_text("ul.field-findings[data-field=users]")
    page.click("#save")
    page.wait_for_load_state()
    assert page.locator("#problem").count() == 1
    assert "cannot have" in page.inner_text("#findings")
    shot(page, "edit-refused-en")
    assert moodle.text(4) == stored


def test_teacher_of_another_course_and_missing_xsrf(enter: Any, edit_hub: ConsoleHub, moodle: Any) -> None:
    stored = moodle.text(1)
    other = enter(OTHER_TEACHER, str(OTHER_COURSE))
    base = edit_hub.console_url
    assert other.goto(f"{base}course/{COURSE}/edit/1").status == 403
    other.goto(f"{base}course/{OTHER_COURSE}/settings")  # a page of their own with a form: an XSRF token
    token = xsrf(other)
    answer = other.request.post(
        f"{base}course/{COURSE}/edit/1",
        form={"_xsrf": token, "action": "save", "timemodified": str(stored[1]), "users": "*", "teachers": "yamada"},
    )
    assert answer.status == 403
    assert "yamada" not in (moodle.text(1)[0] or "")
    assert other.request.post(f"{base}course/{COURSE}/edit/1/check", form={"_xsrf": token}).status == 403
    # the other course's activity under their own course id: no such activity there, nothing written or hidden
    mine = f"{base}course/{OTHER_COURSE}/"
    assert other.goto(mine + "edit/1").status == 404
    form = {"_xsrf": token, "action": "save", "timemodified": str(stored[1]), "users": "*", "teachers": "yamada"}
    assert other.request.post(mine + "edit/1", form=form).status == 404
    assert other.request.post(mine + "edit/1/check", form={"_xsrf": token}).status == 404
    assert other.request.post(mine + "settings", form={"_xsrf": token, "lti_id": "1", "hidden": "1"}).status == 404
    assert moodle.text(1) == stored
    # a lti id str.isdigit() takes and int() refuses ('²'): a 400, not a 500
    assert other.request.post(mine + "settings", form={"_xsrf": token, "lti_id": "²", "hidden": "1"}).status == 400

    teacher = enter(TEACHER, str(COURSE))
    teacher.goto(f"{base}course/{COURSE}/edit/4")
    stored4 = moodle.text(4)
    form = {"action": "save", "timemodified": str(stored4[1]), "users": "*", "teachers": "teacher1,mallory"}
    answer = teacher.request.post(f"{base}course/{COURSE}/edit/4", form=form, max_redirects=0)
    assert answer.status == 403  # no _xsrf: tornado refuses before the handler runs
    assert moodle.text(4) == stored4
    # the very same request with the page's token is saved: the token was the only thing missing
    answer = teacher.request.post(
        f"{base}course/{COURSE}/edit/4", form={**form, "_xsrf": xsrf(teacher)}, max_redirects=0
    )
    assert answer.status == 303
    assert "lms_teachers=teacher1,mallory" in (moodle.text(4)[0] or "").split("\r\n")
    assert moodle.text(1) == stored


def test_japanese_pages(enter: Any, edit_hub: ConsoleHub) -> None:
    page = enter(TEACHER, str(COURSE), locale="ja-JP")
    base = edit_hub.console_url
    page.goto(f"{base}course/{COURSE}/connections")
    assert "編集" in page.inner_text("main")
    # each activity's one-line summary in Japanese (params/summary.py, lms Activity.summary_message)
    summary = page.inner_text("tr[data-lti='1']")
    assert "ユーザ *; 教師 teacher1; 課題 kadai1, 提出 kadai1; エラー 0 件、警告 1 件" in summary, summary
    shot(page, "connections-ja")
    page.goto(f"{base}course/{COURSE}/settings")
    shot(page, "settings-ja")
    page.goto(f"{base}course/{COURSE}/edit/1")
    assert "保存" in page.inner_text("#save")
    # the params library's findings in Japanese (findings.py + the ipynb_tools catalogue): activity 1 with
    # the automatic keys is over Moodle's 255-character column
    findings = page.inner_text("#findings")
    assert "255 文字の列 instructorcustomparameters を" in findings and "超えています" in findings, findings
    assert "over the" not in findings
    # the activity limits in Japanese units (Babel's CLDR units), not '30 min' / '1 d'
    limits = page.locator("#f-actlimit option").all_inner_texts()
    assert {"30 分", "90 分", "1 時間", "1 日", "7 日"} <= set(limits), limits
    assert not any(re.search(r"[a-z]", label) for label in limits), limits
    # over the column: 'N 文字超過', never 'remaining -N'; on the page and in the live check's text (edit.js)
    assert re.search(r"（\d+ 文字超過）$", page.inner_text("#length")), page.inner_text("#length")
    before = checked(page)
    page.select_option("#f-cpulimit", "2")
    wait_checked(page, before)
    assert re.search(r"（\d+ 文字超過）$", page.inner_text("#length")), page.inner_text("#length")
    # hostile text in a volume row: quoted as typed (no format through gettext), the page no wider for it
    before = checked(page)
    page.fill("input[name=vol-1-name]", "x" * 120)
    page.fill("input[name=vol-1-access]", "a{0}%(x)s%s")
    wait_checked(page, before)
    assert "lms_sub_" + "x" * 120 in page.inner_text("#findings"), page.inner_text("#findings")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "edit-ja")

    # live findings (the check endpoint's "shown" text) and a save refused for a new warning, in Japanese
    page.goto(f"{base}course/{COURSE}/edit/4")
    before = checked(page)
    page.fill("#f-users", "alice,ｃａｒｏｌ")  # a name typed with the input method on: a new warning
    wait_checked(page, before)
    live = page.inner_text("ul.field-findings[data-field=users]")
    assert "全角文字が含まれており、Moodle のログイン名には一致しません" in live, live
    assert "'carol' のことですか" in live, live
    check = page.request.post(
        f"{base}course/{COURSE}/edit/4/check",
        form={"_xsrf": xsrf(page), "users": "ｃａｒｏｌ", "teachers": "teacher1"},
        headers={"Accept-Language": "ja"},
    ).json()
    warning = next(f for f in check["findings"] if f["field"] == "users")
    assert "full-width characters" in warning["message"] and "全角文字" in warning["shown"]  # JSON stays English
    page.click("#save")
    page.wait_for_load_state()
    problem = page.inner_text("#problem")
    assert "何も保存されませんでした。この変更で新しい警告が 1 件出ます" in problem and "全角文字" in problem, problem
    assert page.locator("[name=force]").count() >= 1  # "save even with the new warnings" is offered
    shot(page, "edit-refused-ja")


def test_create_volumes_now_and_submissions(enter: Any, edit_hub: ConsoleHub, moodle: Any, docker_engine: Any) -> None:
    client = docker_engine.client()
    task_name, submit_name = f"lms_vol_kadai1_{COURSE}_{HOST}", f"lms_sub_kadai1_{COURSE}_{HOST}"
    for name in (task_name, submit_name):
        for volume in client.volumes.list(filters={"name": name}):
            volume.remove(force=True)

    page = enter(TEACHER, str(COURSE))
    base = edit_hub.console_url
    page.goto(f"{base}course/{COURSE}/edit/1")
    page.click("#create-volumes")
    page.wait_for_load_state()
    assert task_name in page.inner_text("#message") and submit_name in page.inner_text("#message")
    found = {v.name: v for v in client.volumes.list() if v.name in (task_name, submit_name)}
    assert set(found) == {task_name, submit_name}
    assert found[submit_name].attrs["Labels"][LABEL_COURSE] == str(COURSE)

    # students' hand-ins in the submit volume, the task notebook in the task volume (as root on the host)
    task_dir = Path(found[task_name].attrs["Mountpoint"])
    submit_dir = Path(found[submit_name].attrs["Mountpoint"])
    shutil.copy(GRADING / "task" / "kadai-1.ipynb", task_dir)
    for notebook in (GRADING / "submit").glob("*.ipynb"):
        shutil.copy(notebook, submit_dir)

    page.goto(f"{base}course/{COURSE}/submissions")
    assert page.inner_text("h1") == "Submissions"
    per_user = page.locator("#per-user tbody tr")
    assert {per_user.nth(i).locator("td").first.inner_text() for i in range(per_user.count())} >= {"alice", "bob"}
    assert page.locator("#per-cell tbody tr").count() >= 4
    # numbers line up on the right (td.num lost to table.list td's left alignment before)
    assert page.locator("#per-cell td.num").count() > 0
    assert page.eval_on_selector("#per-cell td.num", "td => getComputedStyle(td).textAlign") == "right"
    shot(page, "submissions-en")

    csv = page.request.get(f"{base}course/{COURSE}/submissions/kadai1.csv")
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    header, *lines = csv.text().splitlines()
    assert header.split(",")[:3] == ["user", "notebook", "codenum"]
    assert any(line.startswith("alice,kadai-1.ipynb,3,") for line in lines)

    import openpyxl

    xlsx = page.request.get(f"{base}course/{COURSE}/submissions/kadai1.xlsx")
    assert xlsx.status == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.body()))
    assert "per_user" in book.sheetnames
    users = {row[0] for row in book["per_user"].iter_rows(min_row=2, values_only=True)}
    assert {"alice", "bob"} <= users

    rendered = page.request.get(f"{base}course/{COURSE}/submissions/kadai1/0")
    assert rendered.status == 200 and "sandbox" in rendered.headers["content-security-policy"]

    assert page.inner_text("#per-user th[data-column=user]") == "Student"
    ja = enter(TEACHER, str(COURSE), locale="ja-JP")
    ja.goto(f"{base}course/{COURSE}/submissions")
    # Japanese headers (the downloads keep theirs: above) and yes/no as words, not True/False
    headers = ja.locator("#per-user thead th").all_inner_texts()
    assert headers[:3] == ["学生", "ノートブック数", "セル数"], headers
    assert ja.inner_text("#handins th[data-column=submitted_at]") == "提出日時"
    in_task = ja.locator("#handins tbody td:nth-child(7)").all_inner_texts()
    assert in_task and set(in_task) <= {"はい", "いいえ"}, in_task
    assert "True" not in ja.inner_text("#handins") and "False" not in ja.inner_text("#handins")
    shot(ja, "submissions-ja")

    # another course's teacher gets nothing of this course's submissions
    other = enter(OTHER_TEACHER, str(OTHER_COURSE))
    assert other.request.get(f"{base}course/{COURSE}/submissions/kadai1.csv").status == 403
