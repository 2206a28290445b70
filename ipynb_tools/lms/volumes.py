"""The old module's "make volumes" option: after a save, create the task and submit volumes the new
parameter text names, on the configured container engine (SPEC 5, 10), with the volumes library."""

from __future__ import annotations

from typing import Any

from .errors import LmsError


def lms_host(wwwroot: str | None, given: str | None = None) -> str:
    """The LMS host name of volume names (SPEC 5): ``given``, else the host of ``wwwroot``."""
    from .automatic import site_host

    host = given or (site_host(wwwroot) if wwwroot else None)
    if not host:
        raise LmsError("the LMS host name of the volume names is unknown: give --lms-host (or the site's wwwroot)")
    return host


def create_course_volumes(
    text: str, course: int, host: str, engine_url: str | None = None, *, engine: Any = None
) -> list[Any]:
    """Create the missing task and submit volumes of ``text`` for ``course`` on ``engine`` (an open
    :func:`ipynb_tools.volumes.engine.connect`), else on the engine at ``engine_url`` (None: the
    environment, like the docker CLI); returns the volumes library's CreateResult list. Raises the
    volumes library's EngineError and VolumeNameError."""
    from ..params.text import parse
    from ..volumes.course import create_for_params
    from ..volumes.engine import connect

    # the volumes library takes any object with .volumes of (kind, name): Params is one
    params: Any = parse(text)
    if engine is not None:
        return create_for_params(engine, params, str(course), host)
    with connect(engine_url) as opened:
        return create_for_params(opened, params, str(course), host)
