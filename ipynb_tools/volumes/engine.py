"""A connection to a real container engine (Docker, or Podman's Docker-compatible API).

With :mod:`ipynb_tools.volumes.course`, the only modules that import the Docker SDK; this one
connects and turns SDK and transport errors into :class:`EngineError` lines
(:class:`calling`), the other does the course-volume operations.

Engines: ``connect(None)`` reads the environment like the docker CLI (``DOCKER_HOST``,
``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``); ``connect(url)`` takes ``unix:///path``,
``tcp://host:port`` (with the same TLS variables), or ``ssh://user@host[:port]`` (the SDK's own
SSH transport: paramiko, or the ``ssh`` client with ``use_ssh_client=True``). A Podman service
(``podman system service --time=0 unix:///path``) is reached with its ``unix://`` URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

import docker
import docker.errors
import requests.exceptions

from ..errors import IpynbToolsError

DEFAULT_TIMEOUT = 30
#: The oldest engine API the SDK speaks; the server's own version replaces it at connect.
MIN_API_VERSION = "1.24"


class EngineError(IpynbToolsError):
    """The container engine cannot be reached, or refused an operation."""


class EngineURLError(EngineError):
    """The engine URL cannot be used (unknown scheme, malformed)."""

    exit_code = 2


@dataclass
class Engine:
    """A connection to one container engine; ``url`` is what the user asked for (for messages)."""

    client: Any  # docker.DockerClient
    url: str

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def api(self) -> Any:
        return self.client.api


def describe_url(url: str | None) -> str:
    """The engine as the user would name it: the URL, or where the environment points."""
    if url:
        return url
    return os.environ.get("DOCKER_HOST") or "the local engine (unix:///var/run/docker.sock)"


def connect(url: str | None = None, *, use_ssh_client: bool = False, timeout: int = DEFAULT_TIMEOUT) -> Engine:
    """Connect to the engine at ``url`` (or the one the environment names) and check it answers.

    TLS variables (``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``) apply to ``tcp://`` URLs given here
    as they do to ``DOCKER_HOST``. Raises :class:`EngineURLError` for a URL that cannot work and
    :class:`EngineError` when nothing answers.
    """
    where = describe_url(url)
    environment = dict(os.environ)
    if url is not None:
        url = url.strip()
        if not url:
            raise EngineURLError("engine URL is empty")
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in ("unix", "tcp", "ssh", "http", "https", "npipe"):
            raise EngineURLError(f"engine URL {url!r} is not unix:///path, tcp://host:port or ssh://user@host[:port]")
        environment["DOCKER_HOST"] = url
    try:
        # A fixed version first, so no request is made before the TLS CA is pinned; then the
        # server's API version (the call that proves the engine answers).
        client = docker.DockerClient.from_env(
            environment=environment, use_ssh_client=use_ssh_client, timeout=timeout, version=MIN_API_VERSION
        )
        _pin_tls_ca(client.api)
        # The SDK's own negotiation, done late on purpose (above); private API, untyped.
        client.api._version = client.api._retrieve_server_version()  # type: ignore[attr-defined]  # docker-py private API
    except docker.errors.TLSParameterError as exc:
        raise EngineURLError(f"engine {where}: TLS settings: {_one_line(exc)}") from None
    except docker.errors.DockerException as exc:
        text = _one_line(exc)
        if any(problem in text for problem in _URL_PROBLEMS):
            raise EngineURLError(f"engine URL {where}: {text}") from None
        if "Error while fetching server API version" in text:
            raise EngineError(f"cannot reach the container engine at {where}: {_reason(exc)}") from None
        raise EngineURLError(f"engine URL {where}: {text}") from None
    except Exception as exc:  # noqa: BLE001 - paramiko/ssh and socket errors surface here, not as DockerException
        if any(problem in _one_line(exc) for problem in _URL_PROBLEMS):
            raise EngineURLError(f"engine URL {where}: {_one_line(exc)}") from None
        raise EngineError(f"cannot reach the container engine at {where}: {_reason(exc)}") from None
    return Engine(client, where)


def _pin_tls_ca(api: Any) -> None:
    """Make the engine's CA (DOCKER_CERT_PATH/ca.pem) win over REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE.

    requests lets those variables replace a session's own ``verify`` path (psf/requests#3829), so
    on hosts that set them the SDK's TLS connections would check the engine against the system
    CAs and fail. The engine connection is configured by the DOCKER_* variables alone.
    """
    if isinstance(getattr(api, "verify", None), str):
        api.trust_env = False


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


_REASONS = (
    ("FileNotFoundError", "no engine socket there (is the engine running?)"),
    ("ConnectionRefusedError", "connection refused (is the engine running?)"),
    ("Connection refused", "connection refused (is the engine running?)"),
    ("Unable to connect to port", "SSH connection refused"),
    ("NoValidConnectionsError", "SSH connection refused"),
    ("Authentication failed", "SSH authentication failed"),
    ("not found in known_hosts", "SSH host key not in known_hosts"),
    ("PermissionError", "permission denied on the engine socket"),
    ("timed out", "timed out"),
    ("Name or service not known", "unknown host"),
    ("CERTIFICATE_VERIFY_FAILED", "TLS certificate verification failed"),
    ("SSLError", "TLS error"),
)
_URL_PROBLEMS = ("could not be cast", "Invalid bind address", "Invalid port", "Invalid IPv6", "invalid literal")


def _reason(exc: BaseException) -> str:
    """The innermost useful reason of a connection failure, in one line."""
    text = _one_line(exc)
    for marker, reason in _REASONS:
        if marker in text:
            return reason
    return text.replace("Error while fetching server API version: ", "")


class calling:
    """Turn SDK and transport errors of one engine call into :class:`EngineError`."""

    def __init__(self, engine: Engine, what: str) -> None:
        self.engine = engine
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is None or isinstance(exc, IpynbToolsError):
            return False
        if isinstance(exc, docker.errors.APIError):
            message = exc.explanation if getattr(exc, "explanation", None) else _one_line(exc)
            raise EngineError(
                f"{self.what}: the engine at {self.engine.url} refused: {_one_line_str(message)}"
            ) from None
        if isinstance(exc, (requests.exceptions.RequestException, OSError, docker.errors.DockerException)):
            raise EngineError(
                f"{self.what}: cannot reach the container engine at {self.engine.url}: {_reason(exc)}"
            ) from None
        return False


def _one_line_str(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())
