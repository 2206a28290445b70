"""Reading one parameter value for its key: memory, seconds, CPU, closing time, 0/1 (SPEC 4).

Each reader takes the (already sanitised) text of a value and returns the typed value, or
raises :class:`BadValue`, which the parser turns into an error finding
(:mod:`ipynb_tools.params.text`, whose ``_READERS`` maps every fixed key to its reader).
"""

from __future__ import annotations

import re
from decimal import Decimal

from ..environ.closing import ClosingTimeError, parse_close_time
from ..environ.variables import EnvironmentContractError
from ..i18n import N_, Message
from .model import ParamsError

_MEMORY_RE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([kmgt]?)(i?b)?", re.IGNORECASE)
_MULTIPLIERS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SECONDS_RE = re.compile(r"(\d+)\s*([smhd]?)", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_FLOAT_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
#: The largest memory and CPU (in nano-CPUs) Docker's API takes: a signed 64-bit integer
#: (HostConfig.Memory, HostConfig.NanoCpus); a larger value is refused at container create.
MAX_INT64 = 2**63 - 1
#: An image reference by the grammar of the engines' reference parser (distribution/reference,
#: used by Docker and Podman): ``[domain[:port]/]path[:tag][@algorithm:hex]``, path components
#: lowercase. ``lms_image=a b`` was read as an image and failed only at container create.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_RE = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
#: Longest image name the engines accept (distribution/reference NameTotalLengthMax).
MAX_IMAGE_NAME = 255
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class BadValue(Exception):
    """A value that cannot be read for its key (becomes an error finding); ``message`` is the problem to
    translate where it is shown (:class:`ipynb_tools.i18n.Message`), ``str()`` of it is English."""

    def __init__(self, message: Message | str) -> None:
        self.message = message if isinstance(message, Message) else Message(message)
        super().__init__(str(self.message))


# -- value readers ------------------------------------------------------------------------


def parse_memory(value: str) -> int:
    """Bytes from ``1073741824``, ``1,073,741,824``, ``512M``, ``2G``, ``1.5GiB`` (binary units).

    Raises :class:`BadValue` for other text and for more than :data:`MAX_INT64` bytes (Docker's API).
    """
    text = value.replace(",", "").strip()
    match = _MEMORY_RE.fullmatch(text)
    if not match:
        raise BadValue(
            Message(
                N_("memory %(value)r is not a number of bytes (like 1073741824, 1,073,741,824, 512M or 2G)"),
                value=value,
            )
        )
    number, unit, suffix = match.groups()
    if not unit and "." in number:
        raise BadValue(Message(N_("memory %(value)r: a number of bytes has no fraction"), value=value))
    if suffix and suffix.lower() == "ib" and not unit:
        raise BadValue(Message(N_("memory %(value)r: 'iB' needs a unit (KiB, MiB, GiB, TiB)"), value=value))
    size = int(Decimal(number) * _MULTIPLIERS[unit.lower()])
    if size > MAX_INT64:
        raise BadValue(
            Message(
                N_("memory %(value)r is more than any machine has (the limit is %(most)s bytes)"),
                value=value,
                most=f"{MAX_INT64:,}",
            )
        )
    return size


def parse_seconds(value: str) -> int:
    """Seconds from ``3600``, ``3,600``, ``90m``, ``2h``, ``1d``."""
    match = _SECONDS_RE.fullmatch(value.replace(",", "").strip())
    if not match:
        raise BadValue(
            Message(N_("activity limit %(value)r is not a number of seconds (like 3600, 90m, 2h)"), value=value)
        )
    seconds = int(match.group(1)) * _SECONDS[match.group(2).lower()]
    if seconds > MAX_INT64:  # the spawner's timer takes a float: a 400-digit limit overflowed it there
        raise BadValue(
            Message(
                N_("activity limit %(value)r is longer than any course (at most %(most)s seconds)"),
                value=value,
                most=f"{MAX_INT64:,}",
            )
        )
    return seconds


def parse_cpu(value: str) -> float:
    """A CPU count (float); ``0.0`` means no limit."""
    if not _FLOAT_RE.fullmatch(value.strip()):
        raise BadValue(Message(N_("CPU limit %(value)r is not a number (like 0.5, 1.0, 2)"), value=value))
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise BadValue(Message(N_("CPU limit %(value)r is not a finite number"), value=value))
    if abs(number) * 1e9 > MAX_INT64:
        raise BadValue(Message(N_("CPU limit %(value)r is more than any machine has"), value=value))
    return number


def parse_image(value: str) -> str:
    """An image reference (``jupyter/scipy-notebook:2024-01``, ``registry:5000/course/py@sha256:...``),
    or empty/``default`` for the site default; raises :class:`BadValue` for text no engine could pull
    (spaces, upper case in the path, a bad tag), by the engines' reference grammar."""
    text = value.strip()
    if text in ("", "default"):
        return text
    repository, _, last = text.split("@", 1)[0].rpartition("/")
    name = f"{repository}/{last.split(':')[0]}" if repository else last.split(":")[0]
    if not _IMAGE_RE.fullmatch(text) or len(name) > MAX_IMAGE_NAME:
        raise BadValue(
            Message(
                N_(
                    "image %(value)r is not an image name (like jupyter/scipy-notebook:2024-01: "
                    "lowercase, no spaces, an optional :tag)"
                ),
                value=value,
            )
        )
    return text


def parse_time(value: str) -> int:
    """A closing time by the contract's one rule (:func:`ipynb_tools.environ.parse_close_time`:
    unix seconds, ISO 8601; without a zone the site's zone, ``$IPYNB_TOOLS_TIMEZONE``)."""
    try:
        return parse_close_time(value)
    except (ClosingTimeError, EnvironmentContractError) as exc:
        problem = exc.args[0] if exc.args and isinstance(exc.args[0], Message) else str(exc)
        raise BadValue(problem) from None


def parse_bool(value: str) -> bool:
    """``1``/``0`` (also true/false, yes/no, on/off; empty is false)."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadValue(Message(N_("%(value)r is not 1 or 0"), value=value))


def read_time(value: str) -> int:
    """A time by the closing-time rule (:func:`parse_time`); ParamsError otherwise."""
    try:
        return parse_time(value)
    except BadValue as exc:
        raise ParamsError(str(exc)) from None
