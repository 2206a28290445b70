"""Reading Moodle's config.php without PHP, and the database URL it gives (no server needed)."""

from __future__ import annotations

import os

import pytest

from ipynb_tools.lms.config import parse_moodle_config, read_moodle_config
from ipynb_tools.lms.database import database_url, parse_database_url
from ipynb_tools.lms.errors import DatabaseError, MoodleConfigError

INSTALLER = r"""<?php  // Moodle configuration file

unset($CFG);
global $CFG;
$CFG = new stdClass();

$CFG->dbtype    = 'pgsql';
$CFG->dblibrary = 'native';
$CFG->dbhost    = 'db.example.ac.jp';
$CFG->dbname    = 'moodle';
$CFG->dbuser    = 'moodleuser';
$CFG->dbpass    = 'It\'s a \\secret';
$CFG->prefix    = 'mdl_';
$CFG->dboptions = array (
  'dbpersist' => 0,
  'dbport' => 5433,
  'dbsocket' => '',
);

$CFG->wwwroot   = 'https://lms.example.ac.jp/moodle';
$CFG->dataroot  = '/var/moodledata';
$CFG->admin     = 'admin';

$CFG->directorypermissions = 0777;

require_once(__DIR__ . '/lib/setup.php');

// There is no php closing tag in this file,
// it is intentional because it prevents trailing whitespace problems!
"""


def test_the_installers_file():
    config = parse_moodle_config(INSTALLER, "/var/www/moodle/config.php")
    assert (config.dbtype, config.dbhost, config.dbname, config.dbuser) == (
        "pgsql",
        "db.example.ac.jp",
        "moodle",
        "moodleuser",
    )
    assert config.dbpass == "It's a \\secret"
    assert config.prefix == "mdl_" and config.wwwroot == "https://lms.example.ac.jp/moodle"
    assert config.port == 5433 and config.socket is None
    assert "secret" not in repr(config)
    url = database_url(config)
    assert url.drivername == "postgresql+psycopg" and url.host == "db.example.ac.jp" and url.port == 5433
    assert url.password == "It's a \\secret"
    assert "secret" not in url.render_as_string(hide_password=True)


def test_quoting_comments_and_concatenation():
    text = r"""<?php
    # a hash comment with $CFG->dbtype = 'mysqli';
    /* $CFG->dbtype = 'sqlsrv'; */
    $CFG->dbtype = "mariadb"; // trailing comment
    $CFG->dbhost = "local\x68ost";
    $CFG->dbname = 'moo' . "dle" . '_' . 2;
    $CFG->dbuser = "u\"ser\\\$x";
    $CFG->dbpass = 'semi;colon # not a comment // nor this';
    $CFG->prefix = "m\u{5B66}_";
    $CFG->dboptions = ['dbsocket' => '/run/mysqld/other.sock', "dbport" => '', 'dbcollation' => 'utf8mb4_unicode_ci',];
    $CFG->dboptions['dbport'] = '3307';
    $CFG->wwwroot = 'http://lms';
    ?>
    <p>inline HTML</p>
    """
    config = parse_moodle_config(text)
    assert config.dbtype == "mariadb" and config.dbhost == "localhost" and config.dbname == "moodle_2"
    assert config.dbuser == 'u"ser\\$x'
    assert config.dbpass == "semi;colon # not a comment // nor this"
    assert config.prefix == "m学_"
    assert config.port == 3307 and config.socket == "/run/mysqld/other.sock"
    assert config.dboptions["dbcollation"] == "utf8mb4_unicode_ci"
    url = database_url(config)
    assert url.drivername == "mysql+pymysql"
    assert url.query["unix_socket"] == "/run/mysqld/other.sock" and url.query["charset"] == "utf8mb4"


def _minimal(dbtype: str, extra: str = "") -> str:
    return f"<?php $CFG->dbtype='{dbtype}'; $CFG->dbhost='localhost'; $CFG->dbname='m'; $CFG->dbuser='u'; {extra}"


@pytest.mark.parametrize(
    "dbtype, socket, host, query",
    [
        ("pgsql", "/var/run/postgresql", None, {"host": "/var/run/postgresql"}),
        ("pgsql", "1", None, {}),
        ("pgsql", "", "localhost", {}),
        ("mysqli", "", "localhost", {"unix_socket": "/run/mysqld/mysqld.sock"}),
        ("mariadb", "/tmp/my.sock", "localhost", {"unix_socket": "/tmp/my.sock"}),
    ],
)
def test_sockets_like_moodles_drivers(dbtype, socket, host, query):
    config = parse_moodle_config(_minimal(dbtype, f"$CFG->dboptions = array('dbsocket' => '{socket}');"))
    url = database_url(config)
    assert url.host == host
    for key, value in query.items():
        assert url.query[key] == value
    if dbtype == "pgsql" and not socket:
        assert "host" not in url.query


def test_prefix_defaults_and_dbpass_may_be_missing():
    config = parse_moodle_config(_minimal("pgsql"))
    assert config.prefix == "mdl_" and config.dbpass == "" and config.wwwroot is None


@pytest.mark.parametrize(
    "extra, message",
    [
        ("$CFG->dbpass = getenv('MOODLE_DB_PASSWORD');", "line 1: $CFG->dbpass is set by getenv"),
        ('$CFG->dbpass = "pre$secret";', "double-quoted string with a $variable"),
        ("$CFG->dbpass = <<<EOT\nx\nEOT;", "heredoc"),
        ("$CFG->dbpass = $other;", "the variable $other"),
        ("$CFG->dbpass = PASSWORD_CONSTANT;", "PASSWORD_CONSTANT"),
        ("$CFG->dbpass = 'a' + 'b';", "an expression with '+'"),
        ("$CFG->dbpass .= 'more';", "the operator '.='"),
        ("$CFG->dboptions = array('dbport' => PORT);", "$CFG->dboptions['dbport']"),
        ("$CFG->dboptions = array('dbport' => 'abc');", "is 'abc', not a port number"),
        ("$CFG->dboptions = array('dbport' => 70000);", "not a port number"),
        ("$CFG->dboptions = 'x';", "not an array"),
        # literals PHP would not take or Python cannot convert: one line, not a traceback
        ('$CFG->dbpass = "\\u{FFFFFFFFFF}";', "not a Unicode character"),
        ('$CFG->dbpass = "\\u{D800}";', "not a Unicode character"),
        ('$CFG->dbpass = "\\xff";', "not UTF-8 text"),
        ("$CFG->dbpass = 0x_;", "the number 0x_"),
        ("$CFG->dboptions = array('dbport' => 0b_);", "$CFG->dboptions['dbport'] is set by the number 0b_"),
        ("$CFG->dbpass = " + "9" * 5000 + ";", "the number 99999"),
        ("$CFG->dbpass = " + "(" * 100000 + "'x'" + ")" * 100000 + ";", "nested too deeply"),
    ],
)
def test_what_it_refuses(extra, message):
    with pytest.raises(MoodleConfigError) as caught:
        parse_moodle_config(_minimal("pgsql", extra), "/srv/config.php")
    assert message in str(caught.value)
    assert str(caught.value).startswith("/srv/config.php: ")
    assert "\n" not in str(caught.value)


def test_settings_inside_blocks_are_not_trusted():
    text = "<?php if (getenv('PROD')) { $CFG->dbhost = 'prod'; } else { $CFG->dbhost = 'test'; }\n"
    text += "$CFG->dbtype='pgsql'; $CFG->dbname='m'; $CFG->dbuser='u';"
    with pytest.raises(MoodleConfigError, match="inside a"):
        parse_moodle_config(text)


@pytest.mark.parametrize(
    "conditional",
    [
        "if (getenv('PROD')) $CFG->dbhost = 'prod';",
        "if (getenv('PROD')) $CFG->dbhost = 'prod'; else $CFG->dbhost = 'test';",
        "if (getenv('PROD')): $CFG->dbhost = 'prod'; endif;",
        "if (getenv('PROD')): $CFG->dbname = 'x'; $CFG->dbhost = 'prod'; else: $CFG->dbhost = 'test'; endif;",
        "foreach ($hosts as $h) $CFG->dbhost = $h;",
    ],
)
def test_settings_in_an_if_without_braces_are_not_trusted(conditional):
    """PHP would set dbhost to 'prod' (or not): the reader must not take the first value silently."""
    text = f"<?php $CFG->dbtype='pgsql'; $CFG->dbhost='first'; $CFG->dbname='m'; $CFG->dbuser='u';\n{conditional}"
    with pytest.raises(MoodleConfigError, match=r"\$CFG->dbhost is set by .*(if|variable)"):
        parse_moodle_config(text)


def test_statements_after_a_braceless_if_are_read_again():
    text = "<?PHP\nif (x) $a = 1;\n$CFG->dbtype='pgsql'; $CFG->dbhost='h'; $CFG->dbname='m'; $CFG->dbuser='u';\n"
    text += 'do { $b = 1; } while (0);\n$CFG->dbpass = "\\xc3\\xa9t\\u{e9}";\n'
    config = parse_moodle_config(text)
    assert (config.dbhost, config.dbname, config.dbpass) == ("h", "m", "été")


@pytest.mark.parametrize(
    "text, message",
    [
        ("<?php $CFG->dbtype='sqlsrv'; $CFG->dbhost='h'; $CFG->dbname='m'; $CFG->dbuser='u';", "'sqlsrv': only"),
        ("<?php $CFG->dbhost='h';", "$CFG->dbtype is not set"),
        ("<?php $CFG->dbtype='pgsql'; $CFG->dbhost='h'; $CFG->dbname=''; $CFG->dbuser='u';", "dbname is empty"),
        ("no php here at all", "$CFG->dbtype is not set"),
        ("<?php /* never closed $CFG->dbtype='pgsql';", "not closed"),
    ],
)
def test_unusable_files(text, message):
    with pytest.raises(MoodleConfigError, match=message.replace("$", r"\$")):
        parse_moodle_config(text)


def test_reading_files(tmp_path):
    path = tmp_path / "config.php"
    path.write_text("\ufeff" + INSTALLER, encoding="utf-8")
    assert read_moodle_config(path).dbname == "moodle"
    link = tmp_path / "link.php"
    link.symlink_to(path)
    assert read_moodle_config(link).dbname == "moodle"  # deployments link config.php: followed
    with pytest.raises(MoodleConfigError, match="does not exist"):
        read_moodle_config(tmp_path / "missing.php")
    with pytest.raises(MoodleConfigError, match="not a regular file"):
        read_moodle_config(tmp_path)
    fifo = tmp_path / "fifo.php"
    os.mkfifo(fifo)
    with pytest.raises(MoodleConfigError, match="not a regular file"):
        read_moodle_config(fifo)  # without blocking
    bad = tmp_path / "latin1.php"
    bad.write_bytes(b"<?php $CFG->dbname = '\xe9';")
    with pytest.raises(MoodleConfigError, match="not UTF-8"):
        read_moodle_config(bad)


def test_database_urls_from_the_command_line():
    assert parse_database_url("postgresql://u@h/m").drivername == "postgresql+psycopg"
    url = parse_database_url("mysql://u@h/m", password="from-env")
    assert url.drivername == "mysql+pymysql" and url.query["charset"] == "utf8mb4" and url.password == "from-env"
    assert parse_database_url("mysql+pymysql://u:given@h/m", password="env").password == "given"
    with pytest.raises(DatabaseError, match="only PostgreSQL and MariaDB/MySQL") as caught:
        parse_database_url("sqlite://:secretpw@/x")
    with pytest.raises(DatabaseError, match="is not a database URL") as caught:
        parse_database_url("postgresql://user:secretpw@host:notaport/db")
    assert "secretpw" not in str(caught.value)


def test_driver_messages_never_carry_the_password():
    from ipynb_tools.lms.database import driver_message

    class Orig(Exception):
        pass

    class Wrapped(Exception):
        orig = Orig('connect failed for "user=u password=p@ss w%rd" and p%40ss+w%25rd and p%40ss%20w%25rd\nsecond line')

    message = driver_message(Wrapped(), "p@ss w%rd")
    assert "p@ss" not in message and "p%40ss" not in message and message.count("***") == 3
    assert "second line" not in message
