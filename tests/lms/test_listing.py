"""The hide/show settings: the project's own database (the execution logs' SQLite file), never Moodle's."""

from __future__ import annotations

import pytest

from ipynb_tools.execlog.store import SCHEMA_VERSION, Store
from ipynb_tools.lms.errors import LmsError
from ipynb_tools.lms.listing import ListingStore, store_url


def test_hidden_per_site_and_course(tmp_path):
    path = tmp_path / "settings.sqlite"
    with ListingStore(path) as store:
        assert store.set_hidden("lms.example.ac.jp", 2, 4, True) is True
        assert store.set_hidden("lms.example.ac.jp", 2, 4, True) is False
        store.set_hidden("lms.example.ac.jp", 3, 9, True)
        store.set_hidden("other.example.org", 2, 5, True)
    with ListingStore(path) as store:  # kept across runs
        assert store.hidden("lms.example.ac.jp", 2) == {4}
        assert store.hidden("other.example.org", 2) == {5}
        assert store.set_hidden("lms.example.ac.jp", 2, 4, False) is True
        assert store.hidden("lms.example.ac.jp", 2) == set()


def test_shares_the_execution_log_file(tmp_path, monkeypatch):
    path = tmp_path / "logs.sqlite"
    monkeypatch.setenv("IPYNB_TOOLS_EXECLOG_DB", str(path))
    assert store_url() == f"sqlite:///{path}"
    with Store.open() as logs:
        assert logs.version() == SCHEMA_VERSION
    with ListingStore() as store:
        store.set_hidden("lms", 2, 4, True)
    with Store.open(create=False) as logs:  # the execution-log store still opens as it was
        assert logs.version() == SCHEMA_VERSION
    with ListingStore(path) as store:
        assert store.hidden("lms", 2) == {4}


def test_reading_does_not_create_the_file(tmp_path):
    path = tmp_path / "execlog.sqlite"
    with ListingStore(path) as store:
        assert store.hidden("lms", 2) == set()
    assert not path.exists()


def test_unusable_store_is_one_line(tmp_path):
    with pytest.raises(LmsError) as caught, ListingStore(tmp_path / "no" / "such" / "dir" / "x.sqlite") as store:
        store.set_hidden("lms", 2, 4, True)
    assert "cannot open the settings database" in str(caught.value) and "\n" not in str(caught.value)
