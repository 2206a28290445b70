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
#: The user's primary group name (the old spawner's; setup names the group of ``NB_GID`` so).
NB_GROUP = "NB_GROUP"
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


# -- the old spawner's other variables (SPEC 12), passed so images built for it run unchanged ----
#: The home again, under the old spawner's name (same value as ``NB_HOME``).
NB_DIR = "NB_DIR"
#: ``lms_options`` as written in the activity.
NB_OPTION = "NB_OPTION"
#: The LMS host (as in volume names).
NB_HOSTNAME = "NB_HOSTNAME"
#: The two numbers of ``lms_sessioninfo``: the Moodle module's instance id and the LTI id.
LTI_CTR_ID = "LTI_CTR_ID"
LTI_ID = "LTI_ID"
#: ``lms_course`` (the course's name) and ``lms_ltiname`` (the activity's name).
LTI_COURSE = "LTI_COURSE"
LTI_NAME = "LTI_NAME"
#: The C library's zone: the site's zone (``IPYNB_TOOLS_TIMEZONE``) when set.
TZ = "TZ"
#: The group name of users whose group nobody gave (SPEC 12: ``users``).
DEFAULT_GROUP = "users"

# -- the limits the server extension enforces in the container (issue 16 item 7) -----------------
#: Seconds between the end of the activity limit (``NB_ACTLIMIT``) and the server's stop (default 120).
IPYNB_ACTLIMIT_GRACE = "IPYNB_ACTLIMIT_GRACE"
#: The site's activity limit when an activity sets no ``lms_actlimit`` (SPEC 12: the old spawner's 6,000 s).
DEFAULT_ACTLIMIT = 6000
#: Seconds from the activity limit to the stop (SPEC 12: the old health check stopped 120 s after the limit).
DEFAULT_ACTLIMIT_GRACE = 120
