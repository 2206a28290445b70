"""Listing a course's LTI activities against real PostgreSQL and MariaDB servers (seeded in schema.py)."""

from __future__ import annotations

import pytest

from ipynb_tools.lms.activities import HubTool, get_activity, list_activities
from ipynb_tools.lms.database import open_database
from ipynb_tools.lms.errors import ActivityNotFound, DatabaseError, LmsError

from .schema import COURSE, COURSE_NAME, HUB_DOMAIN, HUB_URL, OTHER_COURSE

pytestmark = pytest.mark.database

HUB = HubTool(urls=(HUB_URL,))


def test_course_order_skips_deleted_and_other_tools(site):
    with open_database(site.url, site.prefix) as db:
        ours = list_activities(db, COURSE, hub=HUB)
        everything = list_activities(db, COURSE, hub=HUB, all_tools=True)
    # section 0: LTI 1; section 1 (id 12): LTI 4 (5 is another tool, 2 is being deleted);
    # section 2 (id 11): LTI 3, then LTI 6 which is missing from the sequence
    assert [a.lti_id for a in ours] == [1, 4, 3, 6]
    assert [a.lti_id for a in everything] == [1, 5, 4, 3, 6]
    assert [a.cmid for a in everything] == [101, 105, 104, 106, 107]
    assert [(a.section, a.position) for a in everything] == [(0, 1), (1, 0), (1, 1), (2, 0), (2, None)]
    assert [a.ours for a in everything] == [True, False, True, True, True]


def test_fields_of_an_activity(site):
    with open_database(site.url, site.prefix) as db:
        by_id = {a.lti_id: a for a in list_activities(db, COURSE, hub=HUB, all_tools=True)}
    first = by_id[1]
    assert first.name == "課題1 (Jupyter)"
    assert first.course_name == COURSE_NAME
    assert first.type_name == "JupyterHub" and first.tool_url == HUB_URL and first.tool_domain == HUB_DOMAIN
    # launchcontainer 1 defers to the type's setting (4: new window)
    assert first.launch_container == 4 and not first.embedded
    assert by_id[4].launch_container == 2 and by_id[4].embedded  # its own setting: embed
    assert by_id[4].type_id is None and by_id[4].tool_url == HUB_URL + "?x=1"
    assert by_id[3].visible is False and by_id[1].visible is True
    assert by_id[3].errors == 1  # lms_cpulimit=-1
    assert by_id[6].raw_text is None and by_id[6].text == "" and by_id[6].findings == ()
    data = by_id[1].to_dict()
    assert {"cmid", "lti_id", "name", "section", "visible", "ours", "findings"} <= set(data)
    assert data["cmid"] == 101 and data["ours"] is True and data["findings"] == by_id[1].errors + by_id[1].warnings
    assert "users *" in data["summary"] and "task kadai1" in data["summary"]


@pytest.mark.parametrize(
    "hub, expected",
    [
        (HubTool(domains=(HUB_DOMAIN,)), [1, 4, 3, 6]),
        (HubTool(domains=("*.example.ac.jp",)), [1, 4, 3, 6]),
        (HubTool(domains=("tool.example.com",)), [5]),
        (HubTool(urls=("https://hub.example.ac.jp:443/hub/",)), [1, 4, 3, 6]),
        (HubTool(urls=("https://hub.example.ac.jp/other",)), []),
        (HubTool(urls=("http://hub.example.ac.jp/hub/lti/launch",)), []),
    ],
)
def test_ours_by_url_or_domain(site, hub, expected):
    with open_database(site.url, site.prefix) as db:
        assert [a.lti_id for a in list_activities(db, COURSE, hub=hub)] == expected


def test_listing_needs_a_hub_unless_all_tools(site):
    with open_database(site.url, site.prefix) as db:
        with pytest.raises(LmsError, match="--hub-url"):
            list_activities(db, COURSE)
        assert all(a.ours is None for a in list_activities(db, COURSE, all_tools=True))


def test_get_activity_checks_the_course(site):
    with open_database(site.url, site.prefix) as db:
        assert get_activity(db, 1, COURSE).cmid == 101
        with pytest.raises(ActivityNotFound, match="belongs to course 3, not to course 2"):
            get_activity(db, 7, COURSE)
        with pytest.raises(ActivityNotFound, match="being deleted"):
            get_activity(db, 2, COURSE)
        with pytest.raises(ActivityNotFound, match="no LTI activity 99"):
            get_activity(db, 99, COURSE)
        with pytest.raises(ActivityNotFound, match="course 42 does not exist"):
            list_activities(db, 42, all_tools=True)
        assert [a.lti_id for a in list_activities(db, OTHER_COURSE, hub=HUB)] == [7]


def test_wrong_prefix_is_one_line(site):
    with pytest.raises(DatabaseError) as caught:
        open_database(site.url, "wrong_")
    message = str(caught.value)
    assert "missing table(s) wrong_course" in message and "is the table prefix 'wrong_' right?" in message
    assert "\n" not in message


def test_prefix_case_as_moodles_driver_sees_it(site):
    """Moodle writes table names unquoted: PostgreSQL folds an upper-case prefix to lower case (the
    same tables); MariaDB on Linux keeps case, so there the upper-case prefix names no table."""
    upper = site.prefix.upper()
    if site.kind == "postgresql":
        with open_database(site.url, upper) as db:
            assert db.prefix == site.prefix
            assert [a.lti_id for a in list_activities(db, COURSE, hub=HUB)] == [1, 4, 3, 6]
    else:
        with pytest.raises(DatabaseError, match="missing table"):
            open_database(site.url, upper)


def test_missing_table(site):
    site.execute("DROP TABLE {p}lti_types_config")
    with pytest.raises(DatabaseError, match=r"missing table\(s\) \w+lti_types_config$"):
        open_database(site.url, site.prefix)
