"""The single-user server inside the LMS page (issue 16 item 6): frame-ancestors and cookie settings.

The spawner passes the LMS origins in :data:`~ipynb_tools.hub.embedding.FRAME_ANCESTORS_ENV`
(``LTIContainerSpawner.lms_origins``); when the extension loads, :func:`apply_embedding` puts
:meth:`~ipynb_tools.hub.embedding.Embedding.singleuser_tornado_settings` into the running server: the
``Content-Security-Policy: frame-ancestors 'self' <origins>`` header (replacing JupyterHub's
``frame-ancestors 'none'``) and ``SameSite=None; Secure`` on the ``_xsrf`` and login cookies. The
server's hub OAuth cookies take the hub's ``cookie_options`` from ``JUPYTERHUB_COOKIE_OPTIONS``.
Without the variable nothing changes; a bad value is logged and changes nothing (the server keeps
refusing to be framed, never allows more than asked).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..hub.embedding import FRAME_ANCESTORS_ENV, Embedding, OriginError


def apply_embedding(serverapp: Any, environ: Mapping[str, str] | None = None) -> Embedding | None:
    """Apply the embedding settings of ``environ`` (default ``os.environ``) to ``serverapp`` (a
    jupyter_server ``ServerApp`` whose ``web_app`` exists). Returns what was applied, or None."""
    value = (os.environ if environ is None else environ).get(FRAME_ANCESTORS_ENV, "").strip()
    if not value:
        return None
    try:
        embedding = Embedding.of(value, allow_wildcards=True)  # the hub checked them against its own rule
    except OriginError as exc:
        serverapp.log.error(
            "ipynb-tools: %s=%r ignored, the server cannot be framed: %s", FRAME_ANCESTORS_ENV, value, exc
        )
        return None
    wanted = embedding.singleuser_tornado_settings()
    settings = serverapp.web_app.settings
    settings.setdefault("headers", {}).update(wanted["headers"])
    settings["xsrf_cookie_kwargs"] = {**settings.get("xsrf_cookie_kwargs", {}), **wanted["xsrf_cookie_kwargs"]}
    identity = getattr(serverapp, "identity_provider", None)
    cookie_options = {**settings.get("cookie_options", {}), **wanted["cookie_options"]}
    if identity is not None:
        identity.cookie_options = {**identity.cookie_options, **wanted["cookie_options"]}
        cookie_options = identity.cookie_options
    settings["cookie_options"] = cookie_options
    serverapp.log.info("ipynb-tools: may be framed by %s (cookies SameSite=None; Secure)", " ".join(embedding.origins))
    return embedding
