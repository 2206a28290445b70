"""The part of Moodle's schema the adapter touches, written here as Moodle's installer creates it
(SPEC 10; mod/lti/db/install.xml, lib/db/install.xml): not from the adapter's own table definitions,
so a wrong column in the adapter shows up. Plus a seeded site (:data:`SEED`).

Types follow Moodle's XMLDB mapping: int(10) is BIGINT, int(1..2) SMALLINT in PostgreSQL and
TINYINT in MySQL, text is TEXT in PostgreSQL and LONGTEXT in MySQL, char(n) is VARCHAR(n).
``instructorcustomparameters`` is char(255) (``params_type`` widens it for the other size).
"""

from __future__ import annotations

from typing import Any

HUB_URL = "https://hub.example.ac.jp/hub/lti/launch"
HUB_DOMAIN = "hub.example.ac.jp"
COURSE = 2
OTHER_COURSE = 3
COURSE_NAME = "Python 入門 (2026) & 演習"
WWWROOT = "https://lms.example.ac.jp/moodle"

TEXT_1 = (
    "lms_users=*\r\nlms_teachers=teacher1\r\nlms_vol_kadai1=課題1\r\nlms_sub_kadai1=課題1提出用\r\n"
    "my_note = keep me exactly  \r\nlms_future_key=kept\r\n"
)
TEXT_4 = "lms_users=alice,bob\nlms_teachers=teacher1\nlms_vol_data=-資料\n"


def _tables(prefix: str, dialect: str, params_type: str) -> list[str]:
    pg = dialect == "postgresql"
    serial = "BIGSERIAL PRIMARY KEY" if pg else "BIGINT(10) NOT NULL AUTO_INCREMENT PRIMARY KEY"
    big = "BIGINT" if pg else "BIGINT(10)"
    tiny = "SMALLINT" if pg else "TINYINT(2)"
    text = "TEXT" if pg else "LONGTEXT"
    tail = "" if pg else " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci ROW_FORMAT=Dynamic"
    p = prefix
    return [
        f"""CREATE TABLE {p}course (id {serial}, category {big} NOT NULL DEFAULT 0, sortorder {big} NOT NULL DEFAULT 0,
            fullname VARCHAR(254) NOT NULL DEFAULT '', shortname VARCHAR(255) NOT NULL DEFAULT '',
            idnumber VARCHAR(100) NOT NULL DEFAULT '', summary {text}, visible {tiny} NOT NULL DEFAULT 1){tail}""",
        f"""CREATE TABLE {p}course_sections (id {serial}, course {big} NOT NULL DEFAULT 0,
            section {big} NOT NULL DEFAULT 0,
            name VARCHAR(255), summary {text}, summaryformat {tiny} NOT NULL DEFAULT 0, sequence {text},
            visible {tiny} NOT NULL DEFAULT 1, availability {text}, timemodified {big} NOT NULL DEFAULT 0){tail}""",
        f"""CREATE TABLE {p}modules (id {serial}, name VARCHAR(20) NOT NULL DEFAULT '', cron {big} NOT NULL DEFAULT 0,
            lastcron {big} NOT NULL DEFAULT 0, search VARCHAR(255) NOT NULL DEFAULT '',
            visible {tiny} NOT NULL DEFAULT 1){tail}""",
        f"""CREATE TABLE {p}course_modules (id {serial}, course {big} NOT NULL DEFAULT 0,
            module {big} NOT NULL DEFAULT 0,
            instance {big} NOT NULL DEFAULT 0, section {big} NOT NULL DEFAULT 0, idnumber VARCHAR(100),
            added {big} NOT NULL DEFAULT 0, score SMALLINT NOT NULL DEFAULT 0, indent {tiny} NOT NULL DEFAULT 0,
            visible {tiny} NOT NULL DEFAULT 1, visibleoncoursepage {tiny} NOT NULL DEFAULT 1,
            visibleold {tiny} NOT NULL DEFAULT 1, groupmode SMALLINT NOT NULL DEFAULT 0,
            deletioninprogress {tiny} NOT NULL DEFAULT 0){tail}""",
        f"""CREATE TABLE {p}lti (id {serial}, course {big} NOT NULL DEFAULT 0, name VARCHAR(255) NOT NULL DEFAULT '',
            intro {text}, introformat SMALLINT DEFAULT 0, timecreated {big} NOT NULL DEFAULT 0,
            timemodified {big} NOT NULL DEFAULT 0, typeid {big}, toolurl {text} NOT NULL, securetoolurl {text},
            instructorchoicesendname {tiny}, instructorchoicesendemailaddr {tiny}, instructorchoiceallowroster {tiny},
            instructorchoiceallowsetting {tiny}, instructorcustomparameters {params_type},
            instructorchoiceacceptgrades {tiny}, grade {big} NOT NULL DEFAULT 100,
            launchcontainer {tiny} NOT NULL DEFAULT 1, resourcekey VARCHAR(255), password VARCHAR(255),
            debuglaunch {tiny} NOT NULL DEFAULT 0, showtitlelaunch {tiny} NOT NULL DEFAULT 0,
            showdescriptionlaunch {tiny} NOT NULL DEFAULT 0, servicesalt VARCHAR(40), icon {text},
            secureicon {text}){tail}""",
        f"""CREATE TABLE {p}lti_types (id {serial}, name VARCHAR(255) NOT NULL DEFAULT 'basiclti Activity',
            baseurl {text} NOT NULL, tooldomain VARCHAR(255) NOT NULL DEFAULT '', state {tiny} NOT NULL DEFAULT 2,
            course {big} NOT NULL, coursevisible {tiny} NOT NULL DEFAULT 0, ltiversion VARCHAR(10) NOT NULL DEFAULT '',
            clientid VARCHAR(255), toolproxyid {big}, enabledcapability {text}, parameter {text}, icon {text},
            secureicon {text}, createdby {big} NOT NULL, timecreated {big} NOT NULL, timemodified {big} NOT NULL,
            description {text}){tail}""",
        f"""CREATE TABLE {p}lti_types_config (id {serial}, typeid {big} NOT NULL, name VARCHAR(100) NOT NULL DEFAULT '',
            value {text} NOT NULL){tail}""",
    ]


#: (table, rows) in insert order. Section ids do not follow section numbers (order is by number);
#: course 2: section 0 = [page 103, hub LTI 1 (cm 101)]; section 1 (id 12) = [other tool LTI 5 (cm
#: 105), hand-configured hub LTI 4 (cm 104), hub LTI 2 being deleted (cm 102)]; section 2 (id 11) =
#: [hub LTI 3 hidden from students (cm 106)] and hub LTI 6 (cm 107) missing from the sequence.
SEED: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "course",
        [
            {"id": 1, "fullname": "Site", "shortname": "site"},
            {"id": COURSE, "fullname": COURSE_NAME, "shortname": "py2026"},
            {"id": OTHER_COURSE, "fullname": "Other course", "shortname": "other"},
        ],
    ),
    (
        "modules",
        [{"id": 1, "name": "assign"}, {"id": 2, "name": "page"}, {"id": 3, "name": "lti"}, {"id": 4, "name": "forum"}],
    ),
    (
        "lti_types",
        [
            {
                "id": 1,
                "name": "JupyterHub",
                "baseurl": HUB_URL,
                "tooldomain": HUB_DOMAIN,
                "state": 1,
                "course": 1,
                "createdby": 2,
                "timecreated": 1,
                "timemodified": 1,
            },
            {
                "id": 2,
                "name": "Other tool",
                "baseurl": "https://tool.example.com/launch",
                "tooldomain": "tool.example.com",
                "state": 1,
                "course": 1,
                "createdby": 2,
                "timecreated": 1,
                "timemodified": 1,
            },
        ],
    ),
    ("lti_types_config", [{"id": 1, "typeid": 1, "name": "launchcontainer", "value": "4"}]),
    (
        "course_sections",
        [
            {"id": 10, "course": COURSE, "section": 0, "sequence": "103,101"},
            {"id": 11, "course": COURSE, "section": 2, "sequence": "106"},
            {"id": 12, "course": COURSE, "section": 1, "sequence": "105,104,102"},
            {"id": 20, "course": OTHER_COURSE, "section": 0, "sequence": "201"},
        ],
    ),
    (
        "lti",
        [
            # typeid 1, launchcontainer 1 (default) -> the type's 4 (new window): not embedded
            {
                "id": 1,
                "course": COURSE,
                "name": "課題1 (Jupyter)",
                "typeid": 1,
                "toolurl": "",
                "timemodified": 1700000001,
                "instructorcustomparameters": TEXT_1,
                "launchcontainer": 1,
            },
            {
                "id": 2,
                "course": COURSE,
                "name": "deleted one",
                "typeid": 1,
                "toolurl": "",
                "timemodified": 1700000002,
                "instructorcustomparameters": "lms_users=*",
                "launchcontainer": 1,
            },
            {
                "id": 3,
                "course": COURSE,
                "name": "hidden from students",
                "typeid": 1,
                "toolurl": "",
                "timemodified": 1700000003,
                "instructorcustomparameters": "lms_cpulimit=-1\nlms_users=*",
                "launchcontainer": 3,
            },
            # hand-configured tool (typeid 0) pointing at the hub, embedded
            {
                "id": 4,
                "course": COURSE,
                "name": "Manual hub link",
                "typeid": 0,
                "toolurl": HUB_URL + "?x=1",
                "timemodified": 1700000004,
                "instructorcustomparameters": TEXT_4,
                "launchcontainer": 2,
            },
            {
                "id": 5,
                "course": COURSE,
                "name": "Quiz tool",
                "typeid": 2,
                "toolurl": "",
                "timemodified": 1700000005,
                "instructorcustomparameters": "foo=bar",
                "launchcontainer": 4,
            },
            {
                "id": 6,
                "course": COURSE,
                "name": "Not in sequence",
                "typeid": 1,
                "toolurl": "",
                "timemodified": 1700000006,
                "instructorcustomparameters": None,
                "launchcontainer": 1,
            },
            {
                "id": 7,
                "course": OTHER_COURSE,
                "name": "Other course hub",
                "typeid": 1,
                "toolurl": "",
                "timemodified": 1700000007,
                "instructorcustomparameters": "lms_users=*",
                "launchcontainer": 1,
            },
        ],
    ),
    (
        "course_modules",
        [
            {"id": 101, "course": COURSE, "module": 3, "instance": 1, "section": 10},
            {"id": 102, "course": COURSE, "module": 3, "instance": 2, "section": 12, "deletioninprogress": 1},
            {"id": 103, "course": COURSE, "module": 2, "instance": 1, "section": 10},
            {"id": 104, "course": COURSE, "module": 3, "instance": 4, "section": 12},
            {"id": 105, "course": COURSE, "module": 3, "instance": 5, "section": 12},
            {"id": 106, "course": COURSE, "module": 3, "instance": 3, "section": 11, "visible": 0},
            {"id": 107, "course": COURSE, "module": 3, "instance": 6, "section": 11},
            {"id": 201, "course": OTHER_COURSE, "module": 3, "instance": 7, "section": 20},
        ],
    ),
]


def create_site(conn: Any, prefix: str, dialect: str, params_type: str = "VARCHAR(255)") -> None:
    """Create the tables and the seeded rows on an SQLAlchemy connection (inside its transaction)."""
    import sqlalchemy as sa

    for ddl in _tables(prefix, dialect, params_type):
        conn.exec_driver_sql(ddl)
    for table, rows in SEED:
        for row in rows:
            columns = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            conn.execute(sa.text(f"INSERT INTO {prefix}{table} ({columns}) VALUES ({values})"), row)
    if dialect == "postgresql":  # serials continue after the seeded ids
        for table, _rows in SEED:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{prefix}{table}', 'id'), (SELECT MAX(id) FROM {prefix}{table}))"
            )
