"""The container contract (SPEC 3.3), in one place.

The spawner side (:mod:`ipynb_tools.spec`) writes the start environment;
container start (``setup``), ``submit``, ``sync`` and the server extension read
it. Keeping every name, list format, path and rule here means the two sides
cannot drift:

- :mod:`.variables`  the ``NB_*`` names, defaults, :class:`EnvironmentContractError`
- :mod:`.paths`      :class:`UserPaths`: home, works, ``.volumes``, ``~/.ipynb-tools``,
                     the umask file, the setup log
- :mod:`.access`     the access link of a volume for a role (``-``, ``.``)
- :mod:`.entries`    ``.volumes/<full name>:<access>`` entries (:class:`VolumeEntry`)
- :mod:`.closing`    closing times (unix seconds, ISO; zone-less = the site's zone)
- :mod:`.umask`      ``NB_UMASK`` and the umask file
- :mod:`.contract`   :class:`StartEnvironment` (from/to the variables)
- :mod:`.oldspawner` :class:`OldSpawnerVariables`: the old spawner's other variables (``NB_DIR``,
                     ``NB_HOSTNAME``, ``LTI_*``, ``TZ``...) for images built for it

Everything here is standard library only (in-container commands import it at start).
:class:`StartEnvironment`, :class:`OldSpawnerVariables` and the umask functions are loaded on
first use (``__getattr__`` below): ``ipynb_submit`` needs none of them, and their modules pull in
the file operations and user-name rules (``benchmarks/submit_startup.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .access import AccessName, access_link, is_link_name
from .closing import (
    ClosingTimeError,
    format_close_time,
    format_close_times,
    is_past_close,
    parse_close_time,
    parse_close_times,
    site_timezone,
)
from .entries import VolumeEntry, format_entries, parse_entries
from .paths import (
    DEFAULT_HOME_ROOT,
    SETUP_LOG_RELATIVE,
    STATE_DIR,
    UMASK_FILE_RELATIVE,
    VOLUMES_DIR,
    WORKS_RELATIVE,
    UserPaths,
)
from .variables import (
    DEFAULT_GROUP,
    DEFAULT_THRGID,
    DEFAULT_THRGROUP,
    IPYNB_TOOLS_TIMEZONE,
    NB_ACTLIMIT,
    NB_GID,
    NB_GROUP,
    NB_HOME,
    NB_PRSNALS,
    NB_SUBMITS,
    NB_SUBMITS_CLOSE,
    NB_TEACHER,
    NB_THRGID,
    NB_THRGROUP,
    NB_UID,
    NB_UMASK,
    NB_USER,
    NB_VOLUMES,
    NB_WRKDIR,
    STUDENT_UMASK,
    TEACHER_UMASK,
    EnvironmentContractError,
)

if TYPE_CHECKING:
    from .contract import StartEnvironment
    from .oldspawner import OldSpawnerVariables
    from .umask import parse_umask, read_umask_file

#: The names imported from their module on first use (name -> module of this package).
_LAZY = {
    "StartEnvironment": "contract",
    "OldSpawnerVariables": "oldspawner",
    "parse_umask": "umask",
    "read_umask_file": "umask",
}


def __getattr__(name: str) -> Any:
    """A name of :data:`_LAZY`, imported now (PEP 562); ``AttributeError`` for any other."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_GROUP",
    "DEFAULT_HOME_ROOT",
    "DEFAULT_THRGID",
    "DEFAULT_THRGROUP",
    "IPYNB_TOOLS_TIMEZONE",
    "NB_ACTLIMIT",
    "NB_GID",
    "NB_GROUP",
    "NB_HOME",
    "NB_PRSNALS",
    "NB_SUBMITS",
    "NB_SUBMITS_CLOSE",
    "NB_TEACHER",
    "NB_THRGID",
    "NB_THRGROUP",
    "NB_UID",
    "NB_UMASK",
    "NB_USER",
    "NB_VOLUMES",
    "NB_WRKDIR",
    "SETUP_LOG_RELATIVE",
    "STATE_DIR",
    "STUDENT_UMASK",
    "TEACHER_UMASK",
    "UMASK_FILE_RELATIVE",
    "VOLUMES_DIR",
    "WORKS_RELATIVE",
    "AccessName",
    "ClosingTimeError",
    "EnvironmentContractError",
    "OldSpawnerVariables",
    "StartEnvironment",
    "UserPaths",
    "VolumeEntry",
    "access_link",
    "format_close_time",
    "format_close_times",
    "format_entries",
    "is_link_name",
    "is_past_close",
    "parse_close_time",
    "parse_close_times",
    "parse_entries",
    "parse_umask",
    "read_umask_file",
    "site_timezone",
]
