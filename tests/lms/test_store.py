"""Editing an activity's custom parameters in real PostgreSQL and MariaDB databases: round trips,
automatic keys, refusals, the column's real size, compare-and-set against a concurrent save."""

from __future__ import annotations

import threading
import time
from functools import partial

import pytest
import sqlalchemy as sa

from ipynb_tools.lms import store
from ipynb_tools.lms.automatic import SiteKeys
from ipynb_tools.lms.database import ColumnLimit, open_database
from ipynb_tools.lms.errors import ConcurrentEdit, DatabaseError, ParamsRefused, TextTooLong
from ipynb_tools.lms.store import edit_params, plan_edit, read_params, replace_with, write_plan
from ipynb_tools.params.edit import add_volume, remove_volume, set_param, unset_param
from ipynb_tools.params.model import ParamsError

from .schema import COURSE, TEXT_1, TEXT_4
from .servers import PASSWORD

pytestmark = pytest.mark.database

SITE = SiteKeys()
#: Every line of TEXT_1 an edit of lms_image must leave byte for byte.
KEPT = [
    "lms_users=*",
    "lms_teachers=teacher1",
    "lms_vol_kadai1=課題1",
    "lms_sub_kadai1=課題1提出用",
    "my_note = keep me exactly  ",
    "lms_future_key=kept",
]


def test_set_round_trip_keeps_every_other_line(site):
    with open_database(site.url, site.prefix) as db:
        outcome = edit_params(db, 1, COURSE, partial(set_param, key="lms_image", value="jupyter/scipy"), SITE)
    assert outcome.written
    text, stamp = site.text(1)
    assert stamp == outcome.timemodified and abs(stamp - time.time()) < 60
    lines = text.split("\r\n")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    # the untouched lines, in their order, with their bytes (spaces, unknown keys, non-lms_ lines)
    assert [line for line in lines if line in KEPT] == KEPT
    assert "lms_image=jupyter/scipy" in lines
    # automatic keys as the old module wrote them; the type's launch container 4 is not embedded
    assert "lms_sessioninfo=101,1" in lines
    assert "lms_ltiname=課題1 Jupyter" in lines  # '(' and ')' never go into a value
    assert "lms_course=Python 入門 2026 演習" in lines
    assert not any(line.startswith("lms_iframe") for line in lines)
    assert any(line.startswith(("-lms_image", "+lms_image")) for line in outcome.plan.diff())
    assert outcome.plan.left == 255 - len(text)


def test_japanese_access_name_and_lf_text(site):
    with open_database(site.url, site.prefix) as db:
        edit_params(db, 4, COURSE, partial(add_volume, kind="sub", name="kadai2", access="課題２提出用・第二"), SITE)
    text, _ = site.text(4)
    assert text.startswith(TEXT_4)  # LF endings and every byte of the old lines kept
    assert "lms_sub_kadai2=課題２提出用・第二\n" in text
    assert "lms_iframe=1\n" in text  # launch container 2: embedded
    with open_database(site.url, site.prefix) as db:
        assert read_params(db, 4, COURSE).activity.text == text


def test_unset_and_remove_volume_and_replace(site, tmp_path):
    with open_database(site.url, site.prefix) as db:
        edit_params(db, 1, COURSE, partial(remove_volume, kind="sub", name="kadai1"), SITE)
        edit_params(db, 1, COURSE, partial(unset_param, key="lms_future_key"), SITE)
        text, _ = site.text(1)
        assert (
            "lms_sub_kadai1" not in text and "lms_future_key" not in text and "my_note = keep me exactly  \r\n" in text
        )
        with pytest.raises(ParamsError, match="there is no lms_vol_nothere"):
            edit_params(db, 1, COURSE, partial(remove_volume, kind="vol", name="nothere"), SITE)
        edit_params(db, 1, COURSE, replace_with("lms_users=a\nlms_teachers=t\n"), SITE)
    text, _ = site.text(1)
    assert text.startswith("lms_users=a\nlms_teachers=t\n") and "lms_sessioninfo=101,1\n" in text


def test_site_keys_and_existing_instance_id(site):
    site.execute("UPDATE {p}lti SET instructorcustomparameters = :t WHERE id = 4", t="lms_sessioninfo=77,4\n")
    keys = SiteKeys(server_url="https://collector.example.ac.jp/moodle/", rpc_token="tok123")
    with open_database(site.url, site.prefix) as db:
        edit_params(db, 4, COURSE, partial(set_param, key="lms_users", value="*"), keys)
    text, _ = site.text(4)
    assert "lms_sessioninfo=77,4\n" in text  # the old module's instance id is kept for the same LTI id
    assert "lms_serverurl=https://collector.example.ac.jp:443\n" in text
    assert "lms_serverpath=/moodle\n" in text and "lms_rpctoken=tok123\n" in text
    with open_database(site.url, site.prefix) as db:
        edit_params(db, 4, COURSE, partial(set_param, key="lms_users", value="x"), SiteKeys(instance_id=5))
    assert "lms_sessioninfo=5,4\n" in site.text(4)[0]
    assert "lms_rpctoken=tok123\n" in site.text(4)[0]  # no token configured: left as it was


def test_refuses_errors_and_new_warnings(site):
    before = site.text(1)
    with open_database(site.url, site.prefix) as db:
        with pytest.raises(ParamsRefused, match=r"has an error: line .*negative"):
            edit_params(db, 1, COURSE, partial(set_param, key="lms_cpulimit", value="-2"), SITE)
        with pytest.raises(ParamsRefused, match=r"1 new warning.*over 64.*--force"):
            edit_params(db, 1, COURSE, partial(set_param, key="lms_cpulimit", value="100"), SITE)
        assert site.text(1) == before
        assert edit_params(db, 1, COURSE, partial(set_param, key="lms_cpulimit", value="100"), SITE, force=True).written
        # the warning is now the text's own: another edit does not need --force
        assert edit_params(db, 1, COURSE, partial(set_param, key="lms_image", value="x"), SITE).written
        # activity 3 already has an error (lms_cpulimit=-1): no edit writes until it is fixed
        with pytest.raises(ParamsRefused, match="error"):
            edit_params(db, 3, COURSE, partial(set_param, key="lms_image", value="x"), SITE, force=True)
        assert edit_params(db, 3, COURSE, partial(set_param, key="lms_cpulimit", value="1"), SITE).written


def test_replacing_with_a_text_that_keeps_an_old_warning_needs_no_force(site):
    """``moodle params replace`` counted the new text's warnings twice (the parse's and validate's),
    so a warning the stored text already had (activity 1's unknown ``lms_future_key``) looked new."""
    text = site.text(1)[0]
    with open_database(site.url, site.prefix) as db:
        stored = read_params(db, 1, COURSE)
        plan = plan_edit(stored, replace_with(text), SITE)
        assert any("lms_future_key" in f.message for f in plan.findings)
        assert plan.new_warnings == ()
        # a warning the replacement really brings in still needs --force
        with pytest.raises(ParamsRefused, match="new warning"):
            plan_edit(stored, replace_with(text + "lms_imgae=x\r\n"), SITE)


def test_dry_run_and_unchanged_write_nothing(site):
    before = site.text(1)
    with open_database(site.url, site.prefix) as db:
        outcome = edit_params(db, 1, COURSE, partial(set_param, key="lms_image", value="x"), SITE, dry_run=True)
        assert not outcome.written and outcome.plan.changed and site.text(1) == before
        edit_params(db, 1, COURSE, partial(set_param, key="lms_image", value="x"), SITE)
        after = site.text(1)
        again = edit_params(db, 1, COURSE, partial(set_param, key="lms_image", value="x"), SITE)
        assert not again.written and not again.plan.changed and site.text(1) == after


def _long_text(length: int) -> str:
    base = "lms_users=*\r\nlms_teachers=t\r\nnote="
    return base + "あ" * (length - len(base))


def test_column_size_is_read_from_the_database(make_site):
    narrow, wide = make_site(), make_site("TEXT")
    with open_database(narrow.url, narrow.prefix) as db:
        stored = read_params(db, 1, COURSE)
        assert stored.column.chars == 255 and stored.left == 255 - len(TEXT_1)
        with pytest.raises(TextTooLong) as caught:
            edit_params(db, 1, COURSE, replace_with(_long_text(300)), SITE)
    message = str(caught.value)
    assert "VARCHAR(255) in this database; nothing was written" in message
    unlimited = store.StoredParams(stored.activity, ColumnLimit("TEXT"))
    needed = len(plan_edit(unlimited, replace_with(_long_text(300)), SITE).after)  # CRLF text: stored as it is
    assert f"the text is {needed} characters" in message and f": {needed - 255} over the 255-character" in message
    assert narrow.text(1)[0] == TEXT_1
    with open_database(wide.url, wide.prefix) as db:
        outcome = edit_params(db, 1, COURSE, replace_with(_long_text(300)), SITE)
    assert outcome.written and _long_text(300).split("\r\n")[-1] in wide.text(1)[0]


def test_what_is_over_is_counted_exactly(site):
    with open_database(site.url, site.prefix) as db:
        stored = read_params(db, 6, COURSE)  # NULL text
        plan = plan_edit(stored, replace_with("lms_users=*\n"), SITE)
        room = plan.left
        assert room is not None and room == 255 - len(plan.after.replace("\n", "\r\n"))
        # every line end counts as CRLF (what Moodle's own form would store on the next save)
        fits = "lms_users=*\nnote=" + "漢" * (room - len("note=") - 2) + "\n"
        assert write_plan(db, plan_edit(stored, replace_with(fits), SITE))
        text = site.text(6)[0]
        assert len(text.replace("\n", "\r\n")) == 255 and "\r" not in text  # written as given (LF)
        stored = read_params(db, 6, COURSE)
        assert stored.left == 0
        with pytest.raises(TextTooLong, match=": 1 over the 255-character"):
            plan_edit(stored, replace_with(fits.replace("note=", "note=x")), SITE)


def test_the_server_would_truncate_or_fail_without_the_check(site, monkeypatch):
    """MariaDB outside strict mode cuts a long value silently (shown with a plain UPDATE); with the
    size check bypassed, the read-back still refuses: nothing is written on either server."""
    probe = "x" * 300
    if site.kind == "mariadb":
        site.execute("UPDATE {p}lti SET instructorcustomparameters = :t WHERE id = 5", t=probe)
        assert site.text(5)[0] == "x" * 255  # silently truncated: the danger
    before = site.text(1)
    monkeypatch.setattr(store, "check_fits", lambda text, column, table: None)
    with open_database(site.url, site.prefix) as db, pytest.raises(DatabaseError) as caught:
        edit_params(db, 1, COURSE, replace_with(_long_text(300)), SITE)
    assert "\n" not in str(caught.value)
    assert site.text(1) == before


def test_concurrent_save_in_moodle_is_not_overwritten(site):
    with open_database(site.url, site.prefix) as db:
        plan = plan_edit(read_params(db, 1, COURSE), lambda t: set_param(t, "lms_image", "mine"), SITE)
        # a teacher saves the activity in Moodle meanwhile (another connection)
        site.execute(
            "UPDATE {p}lti SET instructorcustomparameters = :t, timemodified = :m WHERE id = 1",
            t=TEXT_1 + "lms_image=theirs\r\n",
            m=1800000000,
        )
        with pytest.raises(ConcurrentEdit, match=r"changed since it was read.*nothing was written"):
            write_plan(db, plan)
        assert site.text(1) == (TEXT_1 + "lms_image=theirs\r\n", 1800000000)
        # same text, only timemodified moved: still refused
        plan = plan_edit(read_params(db, 1, COURSE), lambda t: set_param(t, "lms_image", "mine"), SITE)
        site.execute("UPDATE {p}lti SET timemodified = 1800000001 WHERE id = 1")
        with pytest.raises(ConcurrentEdit):
            write_plan(db, plan)


def test_write_waits_for_a_save_in_progress_then_refuses(site):
    """Connection B (Moodle) has updated the row but not committed; A's write waits for the row lock,
    sees B's committed text and refuses."""
    other = site.engine()
    with open_database(site.url, site.prefix) as db:
        plan = plan_edit(read_params(db, 1, COURSE), lambda t: set_param(t, "lms_image", "mine"), SITE)
        conn = other.connect()
        tx = conn.begin()
        conn.execute(
            sa.text(
                f"UPDATE {site.prefix}lti SET instructorcustomparameters = 'lms_users=moodle', timemodified = 5 "
                "WHERE id = 1"
            )
        )
        result: dict[str, BaseException | int] = {}

        def write() -> None:
            try:
                result["value"] = write_plan(db, plan)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which checks it
                result["value"] = exc

        thread = threading.Thread(target=write)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive(), "the write did not wait for the row lock"
        tx.commit()
        conn.close()
        thread.join(30)
    assert isinstance(result["value"], ConcurrentEdit)
    assert site.text(1) == ("lms_users=moodle", 5)


def test_wrong_password_and_unreachable_server_never_show_the_password(site):
    wrong = site.server.url(site.database, password=PASSWORD[::-1])
    with pytest.raises(DatabaseError) as caught:
        open_database(wrong, site.prefix)
    message = str(caught.value)
    assert PASSWORD not in message and PASSWORD[::-1] not in message and "***" in message
    assert "\n" not in message
    assert ("password authentication failed" in message) or ("Access denied" in message)
    closed = site.url.replace(f":{site.server.port}/", ":1/")
    with pytest.raises(DatabaseError) as caught:
        open_database(closed, site.prefix)
    assert PASSWORD not in str(caught.value) and "\n" not in str(caught.value)


def test_column_limit_units():
    varchar = ColumnLimit("VARCHAR(255)", chars=255)
    assert varchar.left("漢字") == 253
    text = ColumnLimit("TEXT", bytes=65535)
    assert text.left("漢字") == 65535 - 6 and text.unit == "bytes"
    assert ColumnLimit("TEXT").left("x" * 10**6) is None


def _least_privilege(site) -> str:
    """Create the database user docs/lms.md describes (SELECT on the seven tables, UPDATE on two columns
    of the LTI table) and return its URL."""
    from ipynb_tools.lms.database import TABLE_NAMES

    user = f"ipt_ro{next(_users)}"
    password = "Limited-pw-9"
    p = site.prefix
    admin_url = site.server.admin_url.replace("/postgres?", f"/{site.database}?")
    admin = sa.create_engine(admin_url.replace("/mysql?", f"/{site.database}?"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if site.kind == "postgresql":
            conn.exec_driver_sql(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
            tables = ", ".join(p + name for name in TABLE_NAMES)
            conn.exec_driver_sql(f"GRANT SELECT ON {tables} TO {user}")
            conn.exec_driver_sql(f"GRANT UPDATE (instructorcustomparameters, timemodified) ON {p}lti TO {user}")
        else:
            conn.exec_driver_sql(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'")
            for name in TABLE_NAMES:
                conn.exec_driver_sql(f"GRANT SELECT ON {site.database}.{p}{name} TO '{user}'@'127.0.0.1'")
            conn.exec_driver_sql(
                f"GRANT UPDATE (instructorcustomparameters, timemodified) ON {site.database}.{p}lti "
                f"TO '{user}'@'127.0.0.1'"
            )
    admin.dispose()
    return sa.engine.make_url(site.url).set(username=user, password=password).render_as_string(hide_password=False)


_users = iter(range(1, 10**6))


def test_the_documented_least_privileges_are_enough(site):
    from ipynb_tools.lms.activities import HubTool, list_activities

    from .schema import HUB_URL

    url = _least_privilege(site)
    with open_database(url, site.prefix) as db:
        assert [a.lti_id for a in list_activities(db, COURSE, hub=HubTool(urls=(HUB_URL,)))] == [1, 4, 3, 6]
        assert edit_params(db, 4, COURSE, partial(set_param, key="lms_image", value="x"), SITE).written
        assert read_params(db, 4, COURSE).column.chars == 255
    assert "lms_image=x\n" in site.text(4)[0]
    limited = sa.create_engine(url)
    with pytest.raises(sa.exc.DBAPIError), limited.begin() as conn:  # nothing else may be written
        conn.execute(sa.text(f"UPDATE {site.prefix}lti SET name = 'changed' WHERE id = 4"))
    limited.dispose()


def test_a_save_that_holds_the_row_too_long_is_a_clear_refusal(site):
    other = site.engine()
    with open_database(site.url, site.prefix) as db:
        db.lock_timeout = 1
        plan = plan_edit(read_params(db, 1, COURSE), lambda t: set_param(t, "lms_image", "mine"), SITE)
        with other.connect() as conn, conn.begin():
            conn.execute(sa.text(f"SELECT id FROM {site.prefix}lti WHERE id = 1 FOR UPDATE"))
            started = time.monotonic()
            with pytest.raises(ConcurrentEdit, match=r"someone else is saving .* over 1 s\); nothing was written"):
                write_plan(db, plan)
            assert 0.9 < time.monotonic() - started < 10
    assert site.text(1) == (TEXT_1, 1700000001)
