"""REST handlers of the server extension: submit targets, submit, submissions.

All three are jupyter_server ``APIHandler`` s: the server's own authentication
(token, cookie, or JupyterHub OAuth in a single-user server) and XSRF checks,
plus the authorizer on the ``contents`` resource (reading targets and
submissions is ``read``, submitting is ``write``). Every answer is JSON; an
error is ``{"message": <one line>, "reason": <HTTP reason>, "error": <type>}``
with the status that fits (see :func:`status_for`).

The work is done by :mod:`ipynb_tools.submit`, the library behind
``ipynb_submit``, in a worker thread (it does blocking file I/O and takes a
per-user lock). The user is the one ``ipynb_submit`` would use
(``$JUPYTERHUB_USER``, ``$NB_USER``, the OS user): the server runs as them.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .. import submit as lib
from ..errors import (
    IpynbToolsError,
    NotebookError,
    SymlinkError,
    TooLargeError,
    UnreadableError,
    os_reason,
    shown,
)
from . import API_PREFIX

_T = TypeVar("_T")

#: The resource checked by the server's authorizer: submitting reads and hands in the user's files.
AUTH_RESOURCE = "contents"
#: Largest request body read (a submit request is a path and an access name: a few hundred bytes).
MAX_BODY_BYTES = 64 * 1024
#: Longest path or target accepted, in UTF-8 bytes (Linux's PATH_MAX).
MAX_PATH_BYTES = 4096
#: Longer texts from a request are quoted shortened in messages (and so in the server's log).
BRIEF_CHARS = 120


class ApiError(web.HTTPError):
    """An HTTP error with a one-line message for the JSON answer.

    The message is passed as an argument of ``"%s"`` so file names with ``%``
    never upset tornado's log formatting.
    """

    def __init__(self, status: int, message: str, kind: str | None = None) -> None:
        super().__init__(status, "%s", message)
        self.message = message
        self.kind = kind


def status_for(exc: IpynbToolsError, *, named_target: bool = True) -> int:
    """The HTTP status of a library error.

    400 bad input (not a notebook, not ``.ipynb``, no target chosen), 403 refused
    (closed target, unreadable file or folder, a link not allowed, a directory that is not a
    submit volume), 404 unknown target, 409 the submit directory is in the way (another user's
    file, a race), 413 too large, 500 a container that breaks the environment contract.
    """
    if isinstance(exc, TooLargeError):
        return 413
    if isinstance(exc, (lib.SubmitClosedError, lib.NotSubmitTargetError, lib.TargetAccessError)):
        return 403
    if isinstance(exc, lib.UnknownTargetError):
        return 404 if named_target else 400
    if isinstance(exc, lib.ForeignFileError):
        return 409
    if isinstance(exc, (UnreadableError, SymlinkError)):
        return 403
    if isinstance(exc, (NotebookError, lib.BadNameError)):
        return 400
    if isinstance(exc, lib.SubmitError):
        return 409
    return 500


def is_inside(path: str, root: str) -> bool:
    """True when the real ``path`` is ``root`` or below it (both already real)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def brief(text: str) -> str:
    """``text`` as a message shows it: as it is when short and printable, else :func:`shown`."""
    return text if len(text) <= BRIEF_CHARS and text.isprintable() else shown(text)


def check_text_field(value: Any, field: str) -> str:
    """A string field of a request: text that can be a path, at most :data:`MAX_PATH_BYTES` bytes.

    400 for a non-string, a NUL, a lone surrogate (``"\\ud800"`` in JSON: not UTF-8) or an
    over-long value; the message quotes at most the start of it.
    """
    if not isinstance(value, str):
        raise ApiError(400, f"'{field}' must be a string", "BadRequest")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ApiError(400, f"'{field}' is not valid Unicode (a lone surrogate)", "BadRequest") from None
    if size > MAX_PATH_BYTES:
        raise ApiError(400, f"'{field}' is {size} bytes long; a path has at most {MAX_PATH_BYTES}", "BadRequest")
    if "\0" in value:
        raise ApiError(400, f"{shown(value)}: a path cannot contain NUL", "BadRequest")
    return value


def resolve_api_path(api_path: Any, root_dir: str, *, what: str = "notebook") -> Path:
    """A contents-API path (``/``-separated, relative to the server root) to a file path.

    Refuses (403) ``..`` and anything whose real path, links followed, is
    outside the server root, or that cannot be looked at (a folder the user may not
    enter), and answers 404 when nothing is there. The path returned is not
    resolved, so the library still sees (and judges) a link.
    """
    if not isinstance(api_path, str) or not api_path.strip("/ "):
        raise ApiError(400, f"give the {what}'s path relative to the server root ('path')", "BadRequest")
    check_text_field(api_path, "path" if what == "notebook" else "target")
    root = os.path.realpath(root_dir)
    parts = [p for p in api_path.split("/") if p not in ("", ".")]
    candidate = os.path.join(os.path.abspath(root_dir), *parts)
    if ".." in parts or not is_inside(os.path.realpath(candidate), root):
        raise ApiError(
            403, f"{brief(api_path)}: outside the server root; only files under it can be submitted", "OutsideRoot"
        )
    try:
        os.lstat(candidate)
    except (FileNotFoundError, NotADirectoryError):
        raise ApiError(404, f"{brief(api_path)}: no such file", "NotFound") from None
    except OSError as exc:
        raise ApiError(403, f"{brief(api_path)}: cannot be read ({os_reason(exc)})", "Unreadable") from None
    return Path(candidate)


def api_path_of(path: Path | str, root_dir: str) -> str | None:
    """The contents-API path of ``path`` when it is under the server root, else None."""
    absolute = os.path.abspath(path)
    root = os.path.abspath(root_dir)
    if not is_inside(absolute, root):
        return None
    return os.path.relpath(absolute, root).replace(os.sep, "/") if absolute != root else ""


def target_json(target: lib.SubmitTarget, root_dir: str) -> dict[str, Any]:
    """A submit target as the API shows it."""
    return {
        "access": target.access,
        "full_name": target.full_name,
        "path": str(target.path),
        "api_path": api_path_of(target.path, root_dir),
        "exists": target.exists,
        "closed": target.closed,
        "close_time": target.close_time,
        "close_text": target.close_text(),
        "source": target.source,
    }


def submission_json(item: lib.Submission) -> dict[str, Any]:
    """One handed-in (or kept) notebook as the API shows it."""
    return {
        "target": item.target,
        "name": item.name,
        "path": str(item.path),
        "time": item.time,
        "size": item.size,
        "sha256": item.sha256,
        "kept": item.kept,
    }


def receipt_json(receipt: lib.Receipt) -> dict[str, Any]:
    """A receipt with the line ``ipynb_submit`` prints."""
    return {**receipt.to_json(), "line": receipt.line()}


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


class IpynbToolsHandler(APIHandler):
    """Common parts: JSON errors, the server root, library errors to HTTP errors."""

    auth_resource = AUTH_RESOURCE

    @property
    def root_dir(self) -> str:
        root = self.settings.get("server_root_dir") or getattr(self.contents_manager, "root_dir", None)
        return os.path.expanduser(str(root or os.getcwd()))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, ApiError):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message, "reason": exc.reason, "error": exc.kind}))
            return
        super().write_error(status_code, **kwargs)

    async def call(self, func: Callable[..., _T], *args: Any, named_target: bool = True, **kwargs: Any) -> _T:
        """Run a library call in a thread; its errors become :class:`ApiError` s.

        A system error the library did not turn into one of its own (it should) still gets a
        short answer: 403 for a permission refused, else 500, logged in one line.
        """
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except IpynbToolsError as exc:
            status = status_for(exc, named_target=named_target)
            if status >= 500:
                self.log.error("ipynb-tools: %s", exc)
            raise ApiError(status, str(exc), type(exc).__name__) from None
        except OSError as exc:
            where = f"{shown(exc.filename)}: " if exc.filename else ""
            status = 403 if exc.errno in (errno.EACCES, errno.EPERM) else 500
            if status >= 500:
                self.log.error("ipynb-tools: %s%s", where, os_reason(exc))
            raise ApiError(status, f"{where}{os_reason(exc)}", type(exc).__name__) from None

    def json_body(self) -> Any:
        """The request's JSON body: 413 over :data:`MAX_BODY_BYTES`, 400 when not UTF-8 or not JSON.

        (jupyter_server's ``get_json_body`` lets invalid UTF-8 through as a 500.) Nothing of the
        body is quoted back.
        """
        raw = self.request.body or b""
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is {len(raw)} bytes; at most {MAX_BODY_BYTES}", "TooLarge")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"the request body is not UTF-8 (byte {exc.start})", "BadRequest") from None
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise ApiError(400, "the request body is not JSON", "BadRequest") from None


class TargetsHandler(IpynbToolsHandler):
    """``GET targets``: the submit targets this user can hand in to (the submit volumes: what
    ``POST submit`` accepts, not a sticky folder of the student's own that a link makes look like one)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        targets = [t for t in await self.call(lib.known_targets) if lib.is_submit_volume(t)]
        self.finish(json.dumps({"targets": [target_json(t, self.root_dir) for t in targets]}))


class SubmitHandler(IpynbToolsHandler):
    """``POST submit`` ``{"path": <notebook>, "target": <access name, optional>}``: hand in, 201 + receipt."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, 'send a JSON object: {"path": "<notebook>", "target": "<access name>"}', "BadRequest")
        unknown = sorted(set(body) - {"path", "target"})
        if unknown:
            names = ", ".join(brief(str(name)) for name in unknown[:5])
            raise ApiError(400, f"unknown field(s) {names}; use 'path' and 'target'", "BadRequest")
        source = resolve_api_path(body.get("path"), self.root_dir)
        target = body.get("target")
        if target is not None:
            check_text_field(target, "target")
        chosen = await self._target(target or None)
        receipt = await self.call(lib.submit_notebook, source, chosen)
        self.set_status(201)
        self.finish(json.dumps({"receipt": receipt_json(receipt), "path": api_path_of(source, self.root_dir)}))

    async def _target(self, target: str | None) -> lib.SubmitTarget:
        """The submit volume ``target`` names, by ``ipynb_submit``'s rules, or a 4xx (issue 12, item 18).

        An access name or full volume name is looked up; a path (with ``/``, or naming
        something under the server root) is taken relative to the server root. Either way the
        library's :func:`~ipynb_tools.submit.resolve_target` decides, with ``known_only``: the
        result is a course submit volume, never ``.``, ``..``, ``~`` or another directory.
        """
        if target is None:
            return await self.call(lib.resolve_target, None, known_only=True, named_target=False)
        known = await self.call(lib.known_targets)
        named = any(target in (t.access, t.full_name) for t in known if lib.is_submit_volume(t))
        if not named and ("/" in target or os.path.lexists(os.path.join(self.root_dir, target))):
            target = str(resolve_api_path(target, self.root_dir, what="submit directory"))
        return await self.call(lib.resolve_target, target, known_only=True)


class SubmissionsHandler(IpynbToolsHandler):
    """``GET submissions[?history=1]``: the user's submissions and the receipts of their log."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        history = _true(self.get_query_argument("history", None))
        items = await self.call(lib.list_submissions, history=history)
        receipts = await self.call(lambda: list(lib.read_log()))
        self.finish(
            json.dumps(
                {
                    "submissions": [submission_json(s) for s in items if not s.kept],
                    "kept": [submission_json(s) for s in items if s.kept],
                    "receipts": receipts,
                }
            )
        )


class LimitsHandler(IpynbToolsHandler):
    """``GET limits``: the activity and memory limits' state and notices (:mod:`.limits`).

    Authorized as jupyter_server's own ``/api/status`` (resource ``api``, action ``read``): whoever
    may use the server may see when it stops. 503 when the extension's watch is not running.
    """

    auth_resource = "api"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        watch = self.settings.get("ipynb_tools_limits")
        if watch is None:
            raise ApiError(503, "the limits watch is not running in this server", "Unavailable")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(watch.state()))


def handlers(base_url: str) -> list[tuple[str, type[APIHandler]]]:
    """The URL patterns of the API under ``base_url``."""
    prefix = url_path_join(base_url, API_PREFIX)
    return [
        (url_path_join(prefix, "targets"), TargetsHandler),
        (url_path_join(prefix, "submit"), SubmitHandler),
        (url_path_join(prefix, "submissions"), SubmissionsHandler),
        (url_path_join(prefix, "limits"), LimitsHandler),
    ]
