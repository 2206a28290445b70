"""Container start setup (SPEC 3.3): run as root before the Jupyter server starts.

Reads the start environment (:class:`ipynb_tools.environ.StartEnvironment`; where
things are: its ``paths``, :class:`ipynb_tools.environ.UserPaths`) and runs these
steps in order (:data:`ipynb_tools.start.run.STEPS`, one to one):

1. ``user``         the user, their group and the teachers' group in the container's
                    ``/etc/passwd``/``/etc/group`` (``/etc/shadow``); a teacher is a member of
                    the teachers' group, a student is not (:mod:`.users`).
2. ``home``         creates and opens the home (``NB_HOME``), the works directory (``NB_WRKDIR``)
                    and ``works/.volumes``, owned by the user (:mod:`.directories`).
3. ``log``          opens the setup log ``~/.ipynb-tools/setup.log`` (owned by the user) and
                    writes the lines so far to it (:mod:`.log`).
4. ``umask``        writes the user's umask (teachers 0033, students 0037, or NB_UMASK) to the
                    umask file ``~/.ipynb-tools/umask`` for the server extension, and to
                    ``/etc/profile.d/ipynb-tools-umask.sh`` for shells (:mod:`.umask`).
5. ``stale-links``  removes dangling links in ``works/`` and ``works/.volumes/``, and access links
                    this tool made for volumes no longer given (:mod:`.links`).
6. ``task``         task volumes: the first teacher to start owns the root, group teachers,
                    directories 2775, files 0664 (0775 when executable) (:mod:`.modes`); only
                    a volume that is mounted (its mount point is a mount root).
7. ``submit``       submit volumes (mounted ones): group teachers, 3777, a teacher's start
                    takes ownership; an old shared ``.ipynb_checkpoints`` inside is retired
                    (renamed, closed to students) (:mod:`.modes`).
8. ``personal``     personal directories, 0700, owned by the user (:mod:`.modes`).
9. ``links``        the access links ``works/<name>`` and ``works/.volumes/<name>`` by the one
                    access rule (:func:`ipynb_tools.environ.access_link`), first name wins
                    (:mod:`.links`).
10. ``sync``        the task volume of the same NAME (when its task step found it mounted)
                    copied into each personal directory (:func:`.taskcopy.task_copies`,
                    :mod:`ipynb_tools.sync`), in a child process that has dropped to the user (:mod:`.privileges`).

Before any step, every value of the environment is checked (:mod:`.validate`): a refused
value stops setup with one message (exit code 2) and nothing changed.

Every step logs ``<time> <step>: ok|FAILED: <message>`` lines to stderr and to the
setup log. A failing line is logged and the others still run;
:attr:`SetupReport.ok` (and the exit code of ``ipynb-tools setup``) says whether any failed.

Security: the home belongs to the user, who may plant symlinks there between
starts. Everything below the home is opened relative to directory file
descriptors with ``O_NOFOLLOW``; ownership and modes are changed with
``fchown``/``fchmod`` on opened descriptors, never by path.
"""

from __future__ import annotations

from .errors import SetupError
from .links import Link, planned_links
from .log import SetupReport, Step
from .privileges import run_as
from .run import STEPS, setup
from .taskcopy import TaskCopy, task_copies
from .umask import PROFILE_SNIPPET

__all__ = [
    "PROFILE_SNIPPET",
    "STEPS",
    "Link",
    "SetupError",
    "SetupReport",
    "Step",
    "TaskCopy",
    "planned_links",
    "run_as",
    "setup",
    "task_copies",
]
