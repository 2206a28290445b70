"""The old spawner's variables besides the start contract, so images built for it run unchanged (SPEC 12).

The old spawner passed ``NB_UID``, ``NB_USER``, ``NB_GID``, ``NB_GROUP``, ``NB_DIR``, ``NB_WRKDIR``,
``NB_ACTLIMIT``, ``NB_THRGID``, ``NB_THRGROUP``, ``NB_OPTION``, ``NB_HOSTNAME``, ``NB_UMASK``,
``NB_TEACHER``, ``NB_VOLUMES``, ``NB_SUBMITS``, ``NB_PRSNALS``, ``LTI_CTR_ID``, ``LTI_ID``,
``LTI_COURSE``, ``LTI_NAME`` and ``TZ``. The ``NB_*`` ones the tools read are the contract
(:class:`ipynb_tools.environ.StartEnvironment`); :class:`OldSpawnerVariables` is the rest, which
only an image's own entry script reads. Every variable is passed, empty when the launch has no
value, as the old spawner did.
"""

from __future__ import annotations

from dataclasses import dataclass

from .variables import LTI_COURSE, LTI_CTR_ID, LTI_ID, LTI_NAME, NB_DIR, NB_HOSTNAME, NB_OPTION, TZ


@dataclass(frozen=True)
class OldSpawnerVariables:
    """``home`` (``NB_DIR``), ``host`` (``NB_HOSTNAME``, the LMS host), ``options`` (``NB_OPTION``,
    ``lms_options``), ``instance_id``/``lti_id`` (``LTI_CTR_ID``/``LTI_ID``, the numbers of
    ``lms_sessioninfo``; the LTI id falls back to the launch's resource link id), ``course_name``
    (``LTI_COURSE``, ``lms_course``), ``activity_name`` (``LTI_NAME``, ``lms_ltiname``), ``timezone``
    (``TZ``; not passed when None, so the image's own zone stays)."""

    home: str
    host: str
    options: str = ""
    instance_id: str = ""
    lti_id: str = ""
    course_name: str = ""
    activity_name: str = ""
    timezone: str | None = None

    def to_environ(self) -> dict[str, str]:
        """The variables, by the old names."""
        env = {
            NB_DIR: self.home,
            NB_HOSTNAME: self.host,
            NB_OPTION: self.options,
            LTI_CTR_ID: self.instance_id,
            LTI_ID: self.lti_id,
            LTI_COURSE: self.course_name,
            LTI_NAME: self.activity_name,
        }
        if self.timezone:
            env[TZ] = self.timezone
        return env
