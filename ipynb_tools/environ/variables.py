"""The names of the container-start variables (SPEC 3.3) and their defaults, defined once.

The spawner side (:mod:`ipynb_tools.spec`) writes them; container start
(``setup``), ``submit``, ``sync`` and the server extension read them through
:mod:`ipynb_tools.environ`. The ``NB_*`` names are the old system's (seed).
"""

from __future__ import annotations

from ..errors import IpynbToolsError

NB_USER = "NB_USER"
NB_UID = "NB_UID"
NB_GID = "NB_GID"
#: The user's home inside the container (``<home root>/<user>``; default ``/home/<user>``).
NB_HOME = "NB_HOME"
NB_TEACHER = "NB_TEACHER"
NB_THRGID = "NB_THRGID"
NB_THRGROUP = "NB_THRGROUP"
NB_UMASK = "NB_UMASK"
NB_VOLUMES = "NB_VOLUMES"
NB_SUBMITS = "NB_SUBMITS"
NB_PRSNALS = "NB_PRSNALS"
NB_WRKDIR = "NB_WRKDIR"
NB_ACTLIMIT = "NB_ACTLIMIT"
#: Closing times of submit volumes: space-separated ``<full name>=<time>`` (see :mod:`.closing`).
NB_SUBMITS_CLOSE = "NB_SUBMITS_CLOSE"
#: The site's time zone (an IANA name such as ``Asia/Tokyo``) for closing times written without
#: a zone; set on the hub (and on a teacher's machine for ``params check``), passed into containers.
IPYNB_TOOLS_TIMEZONE = "IPYNB_TOOLS_TIMEZONE"

DEFAULT_THRGID = 7000
DEFAULT_THRGROUP = "teachers"
TEACHER_UMASK = 0o033
STUDENT_UMASK = 0o037


class EnvironmentContractError(IpynbToolsError):
    """A start-environment variable (or a file of the contract) that does not follow the contract."""
