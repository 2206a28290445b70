"""The Edit, Connections and Settings work (ipynb_tools.console.editing) against real PostgreSQL and
MariaDB databases seeded as Moodle (tests/lms): the form as stored, a save that changes the row, a bad
value or a stale form that writes nothing, new warnings, another course's activity, hide/show."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from ipynb_tools.console.editing import LmsSite, StaleForm, check_form, connections, open_form, save_form, set_hidden
from ipynb_tools.lms.activities import HubTool
from ipynb_tools.lms.automatic import SiteKeys
from ipynb_tools.lms.database import open_database
from ipynb_tools.lms.errors import ActivityNotFound, ParamsRefused
from tests.lms.schema import COURSE, HUB_URL, OTHER_COURSE, WWWROOT

pytestmark = pytest.mark.database

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def lms(tmp_path) -> LmsSite:  # type: ignore[no-untyped-def]
    return LmsSite(
        hub=HubTool(urls=(HUB_URL,)),
        keys=SiteKeys(),
        listing_store=str(tmp_path / "settings.sqlite"),
    )


def test_save_changes_the_row_and_keeps_what_the_form_does_not_show(site, lms) -> None:  # type: ignore[no-untyped-def]
    with open_database(site.url, site.prefix, wwwroot=WWWROOT) as db:
        view = open_form(db, COURSE, 1, lms, TOKYO)
        assert (view.form.users, view.form.teachers) == ("*", "teacher1")
        assert view.preview.ok and view.preview.left is not None
        data = view.form.data() | {"memlimit": str(2 * 1024**3), "cpulimit": "0"}
        result = save_form(db, COURSE, 1, data, lms, TOKYO, made_from=view.activity.timemodified)
    assert result.written
    text, stamp = site.text(1)
    assert stamp == result.outcome.timemodified  # type: ignore[union-attr]
    lines = text.split("\r\n")
    assert "lms_memlimit=2147483648" in lines and "lms_cpulimit=0" in lines
    # the lines the form does not show, byte for byte; the automatic keys as the adapter writes them
    assert "my_note = keep me exactly  " in lines and "lms_future_key=kept" in lines
    assert "lms_sessioninfo=101,1" in lines and "lms_ltiname=課題1 Jupyter" in lines
    assert len(text) <= 255


def test_new_volume_and_closing_time_in_a_widened_column(make_site, lms) -> None:  # type: ignore[no-untyped-def]
    wide = make_site("TEXT")
    with open_database(wide.url, wide.prefix, wwwroot=WWWROOT) as db:
        view = open_form(db, COURSE, 1, lms, TOKYO)
        data = view.form.data() | {
            "vol-9-kind": "sub",
            "vol-9-name": "kadai2",
            "vol-9-access": "課題2提出用",
            "vol-9-close": "2030-01-01T00:00",
        }
        result = save_form(db, COURSE, 1, data, lms, TOKYO, made_from=view.activity.timemodified)
    assert result.written
    lines = (wide.text(1)[0] or "").split("\r\n")
    # 2030-01-01 00:00 in Asia/Tokyo
    assert "lms_sub_kadai2=課題2提出用" in lines and "lms_sub_kadai2_close=1893423600" in lines


def test_the_automatic_keys_count_against_the_column(site, lms) -> None:  # type: ignore[no-untyped-def]
    """With the site URL the adapter writes lms_serverurl/lms_serverpath too: the seeded text no longer
    fits varchar(255), and the form says so before anything is written."""
    with_url = LmsSite(lms.hub, SiteKeys(server_url=WWWROOT), lms.listing_store)
    before = site.text(1)
    with open_database(site.url, site.prefix, wwwroot=WWWROOT) as db:
        view = open_form(db, COURSE, 1, with_url, TOKYO)
        assert not view.preview.ok and view.preview.left is not None and view.preview.left < 0
        assert "automatic keys" in view.preview.findings[-1].message
        result = save_form(db, COURSE, 1, view.form.data(), with_url, TOKYO, made_from=view.activity.timemodified)
    assert result.outcome is None and site.text(1) == before


def test_a_bad_value_writes_nothing(site, lms) -> None:  # type: ignore[no-untyped-def]
    before = site.text(1)
    with open_database(site.url, site.prefix, wwwroot=WWWROOT) as db:
        view = open_form(db, COURSE, 1, lms, TOKYO)
        data = view.form.data() | {"memlimit": "1M", "image": "x\nlms_teachers=*"}
        result = save_form(db, COURSE, 1, data, lms, TOKYO, made_from=view.activity.timemodified)
        assert result.outcome is None and not result.written
        messages = [f.message for f in result.view.preview.findings if f.severity == "error"]
        assert any("cannot carry" in m for m in messages) and any("engine minimum" in m for m in messages)
        # the live check says the same, and writes nothing either
        assert not check_form(db, COURSE, 1, data, lms, TOKYO).preview.ok
    assert site.text(1) == before


def test_a_text_over_the_column_writes_nothing(site, lms) -> None:  # type: ignore[no-untyped-def]
    before = site.text(1)
    with open_database(site.url, site.prefix, wwwroot=WWWROOT) as db:
        view = open_form(db, COURSE, 1, lms, TOKYO)
        data = view.form.data()
        for i in range(10, 30):
            data |= {f"vol-{i}-kind": "vol", f"vol-{i}-name": f"v{i}", f"vol-{i}-access": f"課題{i}"}
        result = save_form(db, COURSE, 1, data, lms, TOKYO, made_from=view.activity.timemodified)
    assert result.outcome is None
    assert "over the 255-character column" in result.view.preview.findings[-1].message
    assert site.text(1) == before


def test_a_stale_form_writes_nothing(site, lms) -> None:  # type: ignore[no-untyped-def]
    with open_database(site.url, site.prefix, wwwroot=WWWROOT) as db:
        view = open_form(db, COURSE, 1, lms, TOKYO)
        site.execute("UPDATE {p}lti SET timemodified = timemodified + 5 WHERE id = 1")
        before = site.text(1)
        with pytest.raises(StaleForm):
            save_form(db, COURSE, 1, view.form.data(), lms, TOKYO, made_from=view.activity.timemodified)
        with pytest.raises(StaleForm):
            save_form(db, COURSE, 1, view.form.data(), lms, TOKYO, made_from=None)
    assert site.text(1) == before


def test_new_warnings_need_force(site, lms) -> None:  # type: ignore[no-untyped-def]
    with open_database(site.url, site.prefix, wwwroot=WWWROOT) as db:
        view = open_form(db, COURSE, 1, lms, TOKYO)
        data = view.form.data() | {"memlimit": str(100 * 1024**2)}  # under 200 MB: a warning
        with pytest.raises(ParamsRefused, match="new warning"):
            save_form(db, COURSE, 1, data, lms, TOKYO, made_from=view.activity.timemodified)
        assert "lms_memlimit" not in (site.text(1)[0] or "")
        result = save_form(db, COURSE, 1, data, lms, TOKYO, made_from=view.activity.timemodified, force=True)
    assert result.written and "lms_memlimit=104857600" in (site.text(1)[0] or "")


def test_another_courses_activity_is_not_found(site, lms) -> None:  # type: ignore[no-untyped-def]
    with open_database(site.url, site.prefix, wwwroot=WWWROOT) as db:
        with pytest.raises(ActivityNotFound):
            open_form(db, COURSE, 7, lms, TOKYO)
        with pytest.raises(ActivityNotFound):
            save_form(db, OTHER_COURSE, 1, {"users": "*"}, lms, TOKYO, made_from=1700000001)
        with pytest.raises(ActivityNotFound):
            set_hidden(db, COURSE, 7, True, lms)
    assert site.text(7)[0] == "lms_users=*"


def test_connections_and_hide_show(site, lms) -> None:  # type: ignore[no-untyped-def]
    with open_database(site.url, site.prefix, wwwroot=WWWROOT) as db:
        listed = connections(db, COURSE, lms)
        assert [a.lti_id for a in listed] == [1, 4, 3, 6]  # this hub's, in course (section) order, not the deleted 2
        assert not any(a.hidden for a in listed)
        assert set_hidden(db, COURSE, 3, True, lms) is True
        assert set_hidden(db, COURSE, 3, True, lms) is False
        assert [a.lti_id for a in connections(db, COURSE, lms) if a.hidden] == [3]
        assert set_hidden(db, COURSE, 3, False, lms) is True
        assert not any(a.hidden for a in connections(db, COURSE, lms))
