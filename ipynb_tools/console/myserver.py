"""The data of a user's own page, "My server" (issue 15): their servers on the hub and "reset my server".

Every user has this page (a student has only this one). Reset stops every server of the user and
deletes their named servers, through the hub API with the console's token (:meth:`HubAPI.reset_servers`);
the access rule (only one's own) is :meth:`ipynb_tools.console.access.Viewer.may_reset`.

My submissions (:func:`my_submissions`): the copies of the user's hand-ins in the submit volumes of
the courses they launched from, with the submission record ``ipynb_submit`` wrote into each copy
(:class:`ipynb_tools.submit.record.SubmissionRecord`: when, from which notebook, its SHA-256: what
the receipt said). The volumes are read at their mount point on this host (a remote engine's are
not); a submit volume is student-controlled, so each file is opened without following links and only
files whose name contains the user's name are read (the copies are named for their user, SPEC 7).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .access import COURSE_REFUSED, AccessDenied, Viewer
from .hubapi import HubAPI, HubServer
from .launches import LaunchSeen, LaunchStore

if TYPE_CHECKING:
    from ..volumes.course import CourseVolume
    from ..volumes.engine import Engine

#: A hand-in larger than this is not read for the page (the submit tool's own limit is 20 MB).
MAX_COPY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class MySubmission:
    """One copy of the user's in a submit volume: course, volume NAME, file name, the record's fields."""

    course: str
    volume: str
    file: str
    notebook: str
    submitted_at: str | None
    source_sha256: str | None


def my_submissions(volumes: Iterable[CourseVolume], user: str) -> tuple[list[MySubmission], list[str]]:
    """The user's copies in the submit volumes among ``volumes`` and the problems met (one line each).

    Only copies the grading rule attributes to ``user`` are listed
    (:func:`ipynb_tools.grading.submissions.identify_submission`).
    """
    from ..errors import IpynbToolsError
    from ..grading.submissions import identify_submission, iter_notebook_files
    from ..notebook import read_notebook_file
    from ..volumes.naming import VolumeKind

    wanted = unicodedata.normalize("NFC", user).casefold()
    found: list[MySubmission] = []
    problems: list[str] = []
    for volume in volumes:
        if volume.kind is not VolumeKind.SUBMIT:
            continue
        if not volume.mountpoint or not Path(volume.mountpoint).is_dir():
            problems.append(f"{volume.full_name}: not readable on this host")
            continue
        try:
            paths = list(iter_notebook_files(volume.mountpoint))
        except IpynbToolsError:
            problems.append(f"{volume.full_name}: cannot be listed")  # the host path is not the student's business
            continue
        for path in paths:
            if wanted not in unicodedata.normalize("NFC", path.name).casefold():
                continue
            try:
                copy = read_notebook_file(path, max_bytes=MAX_COPY_BYTES, follow_symlinks=False)
                identity = identify_submission(path, copy.notebook)
            except IpynbToolsError:
                continue  # not readable as a hand-in: grading reports it to the teacher
            if unicodedata.normalize("NFC", identity.user) != unicodedata.normalize("NFC", user):
                continue
            found.append(
                MySubmission(
                    volume.course,
                    volume.name,
                    path.name,
                    identity.notebook,
                    identity.info.submitted_at,
                    identity.info.source_sha256,
                )
            )
    found.sort(key=lambda s: (s.course, s.volume, s.submitted_at or "", s.file))
    return found, problems


@dataclass(frozen=True)
class MyServer:
    """The page: the user's servers on the hub (none when the hub has none), their latest launches."""

    name: str
    known_to_hub: bool
    servers: Sequence[HubServer]
    launches: Sequence[LaunchSeen]
    submissions: Sequence[MySubmission] = ()
    submission_problems: Sequence[str] = ()

    @property
    def running(self) -> bool:
        return any(s.running for s in self.servers)


async def my_server(
    hub: HubAPI,
    store: LaunchStore,
    viewer: Viewer,
    submissions: Callable[[list[LaunchSeen]], Awaitable[Found]] | None = None,
) -> MyServer:
    """What the viewer's own page shows; ``submissions`` finds their copies for their launches (see
    :func:`submissions_in_courses`), None: none looked for."""
    user = await hub.user(viewer.name)
    servers = sorted(user.servers.values(), key=lambda s: s.name) if user else []
    launches = store.latest(username=viewer.name)
    copies, problems = await submissions(launches) if submissions is not None else ([], [])
    return MyServer(viewer.name, user is not None, servers, launches, copies, problems)


Found = tuple[list[MySubmission], list[str]]


def submissions_in_courses(
    engine: Callable[[], Engine], launches: Iterable[LaunchSeen], user: str, host_of: Callable[[str], str | None]
) -> Found:
    """:func:`my_submissions` over the submit volumes of every course in ``launches`` (blocking: engine calls).

    ``engine`` connects on demand; an engine that cannot be reached is one problem line.
    """
    from ..errors import IpynbToolsError
    from ..volumes.course import list_volumes

    courses = sorted({seen.course for seen in launches})
    if not courses:
        return [], []
    volumes: list[CourseVolume] = []
    problems: list[str] = []
    try:
        connected = engine()
        for course in courses:
            host = host_of(course)
            if host is not None:
                volumes += list_volumes(connected, course, host, with_containers=False)
    except IpynbToolsError:
        return [], ["the container engine cannot be reached"]  # its address is not the student's business
    copies, more = my_submissions(volumes, user)
    return copies, problems + more


async def reset_my_server(hub: HubAPI, viewer: Viewer, user: str) -> list[str]:
    """Stop every server of ``user`` and delete the named ones, when ``viewer`` is ``user``; the servers done.

    Raises :class:`AccessDenied` for anyone else's server.
    """
    if not viewer.may_reset(user):
        raise AccessDenied(COURSE_REFUSED)
    return await hub.reset_servers(user)
