"""The user's umask in the contract: ``NB_UMASK`` and the umask file ``setup`` leaves in the home."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import os_reason
from ..fileops import NotRegularFileError, open_regular
from .variables import NB_UMASK, STUDENT_UMASK, TEACHER_UMASK, EnvironmentContractError


def parse_umask(value: str | None, *, teacher: bool) -> int:
    """An octal umask string, or the role's default when empty (teachers 0033, students 0037)."""
    if not value:
        return TEACHER_UMASK if teacher else STUDENT_UMASK
    try:
        mask = int(value, 8)
    except ValueError:
        raise EnvironmentContractError(f"{NB_UMASK}={value!r} is not an octal umask") from None
    if not 0 <= mask <= 0o777:
        raise EnvironmentContractError(f"{NB_UMASK}={value!r} is out of range")
    return mask


def read_umask_file(path: Path) -> int | None:
    """The octal mask in ``path`` (e.g. ``0037``), or None when the file is missing.

    Raises :class:`EnvironmentContractError` when the file is not a small regular
    file holding one octal number.
    """
    try:
        fd, st = open_regular(path)  # no link followed, no FIFO waited on, the type checked on the descriptor
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EINVAL) or isinstance(exc, NotRegularFileError):
            raise EnvironmentContractError(f"{path}: the umask file is not a small regular file") from None
        raise EnvironmentContractError(f"{path}: cannot read the umask file ({os_reason(exc)})") from None
    try:
        if st.st_size > 64:
            raise EnvironmentContractError(f"{path}: the umask file is not a small regular file")
        raw = os.read(fd, 65)
    except OSError as exc:
        raise EnvironmentContractError(f"{path}: cannot read the umask file ({os_reason(exc)})") from None
    finally:
        os.close(fd)
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise EnvironmentContractError(f"{path}: cannot read the umask file ({exc})") from None
    if not text:
        raise EnvironmentContractError(f"{path}: the umask file is empty")
    try:
        return parse_umask(text, teacher=False)
    except EnvironmentContractError as exc:
        raise EnvironmentContractError(f"{path}: {exc}") from None
