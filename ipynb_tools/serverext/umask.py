"""Apply the user's umask when the Jupyter server starts (SPEC 3.3: teachers 0033, students 0037).

Container start runs as root and cannot change the umask of the server it
starts later under the user's account (``su``/``setpriv`` reset it, and
``jupyterhub-singleuser`` may be started by another wrapper); so ``setup``
writes the mask to the umask file (``UserPaths.umask_file``, ``<home>/.ipynb-tools/umask``
with the home ``$NB_HOME``, else ``$HOME``) and the server applies it here,
before any kernel or terminal is started, so every file the user creates from
Jupyter gets the role's mode. Without that file, ``$NB_UMASK`` (the same
contract) is used; with neither, the umask is left alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from ..atomic import current_umask
from ..environ import NB_UMASK, UMASK_FILE_RELATIVE, EnvironmentContractError, UserPaths, parse_umask, read_umask_file

log = logging.getLogger(__name__)


def user_umask(env: Mapping[str, str] | None = None) -> tuple[int | None, str]:
    """The mask to apply and where it comes from (``<file>``, ``$NB_UMASK`` or ``""`` for none)."""
    e = os.environ if env is None else env
    path = UserPaths.from_environ(e).umask_file
    mask = read_umask_file(path)
    if mask is not None:
        return mask, str(path)
    if e.get(NB_UMASK):
        return parse_umask(e[NB_UMASK], teacher=False), f"${NB_UMASK}"
    return None, ""


def apply_user_umask(
    env: Mapping[str, str] | None = None, log: logging.Logger | logging.LoggerAdapter[logging.Logger] = log
) -> int | None:
    """Set the process umask to the user's; return it (None when none is known or it is unusable).

    A bad umask file never stops the server: it is logged and the umask is left alone.
    """
    try:
        mask, origin = user_umask(env)
    except EnvironmentContractError as exc:
        log.warning("ipynb-tools: umask not applied: %s", exc)
        return None
    if mask is None:
        log.info(
            "ipynb-tools: no user umask (no ~/%s, no $%s); umask left at %04o",
            UMASK_FILE_RELATIVE,
            NB_UMASK,
            current_umask(),
        )
        return None
    os.umask(mask)
    log.info("ipynb-tools: umask %04o from %s", mask, origin)
    return mask
