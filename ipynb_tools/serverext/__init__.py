"""The jupyter_server extension of ipynb-tools (SPEC 8).

Enabled on install by ``etc/jupyter/jupyter_server_config.d/ipynb_tools.json``
(shipped as a data file; source in ``jupyter-config/``). When the server starts
it applies the user's umask that container start (``ipynb-tools setup``) left
in ``~/.ipynb-tools/umask`` and adds the REST API under
``<base_url>ipynb-tools/api/``: ``targets``, ``submit``, ``submissions``, ``limits``
(see ``docs/serverext.md``), and, when the spawner set a collector URL, captures every cell run
(:mod:`ipynb_tools.execlog.capture`, ``docs/execlog.md``), and, when the spawner named LMS origins,
lets the LMS frame the server (:mod:`ipynb_tools.serverext.embedding`), and enforces the activity limit
with its notices (:mod:`ipynb_tools.serverext.limits`). The API calls the same library as
``ipynb_submit`` (:mod:`ipynb_tools.submit`), so both hand in exactly alike.

Nothing heavy is imported here: jupyter_server imports this module to find the
extension points, and the handlers are imported only when the extension loads.
"""

from __future__ import annotations

from typing import Any

#: The URL prefix of the REST API, below the server's base URL.
API_PREFIX = "ipynb-tools/api"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """What jupyter_server loads: this module's :func:`_load_jupyter_server_extension`."""
    return [{"module": "ipynb_tools.serverext"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Apply the user's umask, keep checkpoints and saves of shared notebooks private, register the REST handlers."""
    from .checkpoints import use_private_checkpoints
    from .embedding import apply_embedding
    from .handlers import handlers
    from .sharedwrites import use_safe_shared_writes
    from .umask import apply_user_umask

    apply_user_umask(log=serverapp.log)
    apply_embedding(serverapp)  # in the LMS page: frame-ancestors, SameSite=None cookies (spawner's lms_origins)
    use_private_checkpoints(serverapp.contents_manager, serverapp.log)
    use_safe_shared_writes(serverapp.contents_manager)  # no Jupyter copy of a file beside it in a shared volume
    base_url = serverapp.web_app.settings.get("base_url", "/")
    serverapp.web_app.add_handlers(".*$", handlers(base_url))
    serverapp.log.info("ipynb-tools: REST API at %s%s/", base_url, API_PREFIX)
    from ..execlog.capture import install as install_capture

    install_capture(serverapp)  # execution logs (docs/execlog.md): on when the spawner set IPYNB_EXECLOG_URL
    from .limits import install as install_limits

    install_limits(serverapp)  # activity/memory limits and their notices (docs/serverext.md); NB_ACTLIMIT


# The name older jupyter_server versions (and the notebook server) look for.
load_jupyter_server_extension = _load_jupyter_server_extension
