"""Which LTI activities a course's listing hides (the old module's Lti Settings, SPEC 11).

Kept in the project's own small database, never in Moodle's tables: by default the execution logs'
SQLite file (``$IPYNB_TOOLS_EXECLOG_DB``, else ``execlog.sqlite`` in the current directory), or any
SQLAlchemy URL; the table ``lms_hidden_activities`` (site, course, LTI id, when) is created when
missing. ``site`` tells Moodle sites apart (the LMS host name, or the database URL without its
password).
"""

from __future__ import annotations

import os
import time
from typing import Self

import sqlalchemy as sa

from .database import driver_message
from .errors import LmsError

_metadata = sa.MetaData()
hidden_activities = sa.Table(
    "lms_hidden_activities",
    _metadata,
    sa.Column("site", sa.String(255), primary_key=True),
    sa.Column("course", sa.BigInteger, primary_key=True),
    sa.Column("lti_id", sa.BigInteger, primary_key=True),
    sa.Column("hidden_at", sa.BigInteger, nullable=False),
)


def site_key(wwwroot: str | None, database_site: str) -> str:
    """How the settings tell Moodle sites apart: the host of the site's ``wwwroot``, else the database
    URL without its password. LmsError when ``wwwroot`` is not a URL."""
    from .automatic import site_host

    return site_host(wwwroot) if wwwroot else database_site


def store_url(store: str | os.PathLike[str] | None = None) -> str:
    """The settings database's URL: the execution logs' rule (:func:`ipynb_tools.execlog.store.database_url`:
    a URL as it is, a path is an SQLite file, None is ``$IPYNB_TOOLS_EXECLOG_DB`` else ``execlog.sqlite``)."""
    from ..execlog.store import database_url

    return database_url(store)


class ListingStore:
    """The hidden-activity settings in one database (a context manager)."""

    def __init__(self, store: str | os.PathLike[str] | None = None) -> None:
        self.url = store_url(store)
        self.shown = sa.make_url(self.url).render_as_string(hide_password=True)
        self._engine: sa.Engine | None = None

    @property
    def engine(self) -> sa.Engine:
        """The database, created (with the table) on first use."""
        if self._engine is None:
            try:
                engine = sa.create_engine(self.url)
                _metadata.create_all(engine)
            except (sa.exc.SQLAlchemyError, ImportError) as exc:
                raise LmsError(f"{self.shown}: cannot open the settings database: {driver_message(exc)}") from None
            self._engine = engine
        return self._engine

    def _missing_file(self) -> bool:
        """True for an SQLite file that does not exist yet (reading it must not create it)."""
        url = sa.make_url(self.url)
        return url.get_backend_name() == "sqlite" and bool(url.database) and not os.path.exists(url.database or "")

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hidden(self, site: str, course: int) -> set[int]:
        """The LTI ids hidden in ``course`` of ``site`` (none when the settings file does not exist)."""
        if self._missing_file():
            return set()
        t = hidden_activities
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(t.c.lti_id).where(t.c.site == site, t.c.course == course))
                return {int(r.lti_id) for r in rows}
        except sa.exc.SQLAlchemyError as exc:
            raise LmsError(f"{self.shown}: cannot read the listing settings: {driver_message(exc)}") from None

    def set_hidden(self, site: str, course: int, lti_id: int, hidden: bool) -> bool:
        """Hide (or show again) one activity; True when the setting changed."""
        t = hidden_activities
        key = sa.and_(t.c.site == site, t.c.course == course, t.c.lti_id == lti_id)
        try:
            with self.engine.begin() as conn:
                present = conn.execute(sa.select(t.c.lti_id).where(key)).first() is not None
                if hidden and not present:
                    conn.execute(
                        sa.insert(t).values(site=site, course=course, lti_id=lti_id, hidden_at=int(time.time()))
                    )
                elif not hidden and present:
                    conn.execute(sa.delete(t).where(key))
                return hidden != present
        except sa.exc.SQLAlchemyError as exc:
            raise LmsError(f"{self.shown}: cannot write the listing settings: {driver_message(exc)}") from None
