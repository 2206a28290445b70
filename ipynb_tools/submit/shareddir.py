"""Writing into the shared submit directory (mode 3777: setgid + sticky, group teachers).

Many students write there at once; the design:

- The copy is built in memory and checked (it must parse back to the student's
  notebook with only the notebook-level ``metadata.ipynb_tools.submission``
  record added), then written to an *anonymous* file in the submit directory
  (``O_TMPFILE``: it has no name until it is complete, so a kill or a full
  disk can never leave a partial notebook there), fsynced, and only then given
  its name. Where ``O_TMPFILE`` is not supported a hidden temp file
  (``O_CREAT|O_EXCL|O_NOFOLLOW``, random name) is used instead; any such
  leftover of the same user is removed by their next submission.
- A new name is made with ``link()``, which fails when the name exists: a
  file or symlink another student plants at the last moment is never replaced
  nor written through. An existing name is replaced (``rename``) only when
  ``lstat`` shows a regular file owned by the submitting user; a symlink (even
  our own), a directory or another user's file is refused with a message
  naming the owner. Nothing ever opens the final name for writing, so no link
  is ever followed. In a sticky directory the kernel would also refuse the
  rename over another user's file; we say so clearly instead of ``EPERM``.
- Mode ``0640`` set explicitly (whatever the umask): the group is the
  directory's (inherited through setgid: the teachers); other users get
  nothing. If the group could not be the directory's, the copy is ``0600`` and
  the receipt carries a warning, because a private primary group shared by
  students must never be able to read it.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Callable
from pathlib import Path

from ..fileops import TEMP_FLAGS, open_regular, read_all, unlink_quiet, write_all
from ..i18n import _
from .errors import ForeignFileError, SubmitError
from .naming import fallback_name, is_fallback_of

TEMP_PREFIX = ".ipynb_submit."
TEMP_SUFFIX = ".tmp"


def _owner_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _check_final(dfd: int, name: str, shown: Path) -> os.stat_result | None:
    """None when ``name`` is free; its lstat when it is our own regular file; else refuse."""
    try:
        st = os.lstat(name, dir_fd=dfd)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise ForeignFileError(
            shown,
            _("is a symlink made by %(owner)s; not writing through or over it (ask a teacher to remove it)")
            % {"owner": _owner_name(st.st_uid)},
        )
    if not stat.S_ISREG(st.st_mode):
        raise ForeignFileError(shown, _("exists and is not a regular file; not replacing it (ask a teacher)"))
    if st.st_uid != os.geteuid():
        raise ForeignFileError(
            shown,
            _("belongs to %(owner)s; not replacing another user's file (ask a teacher)")
            % {"owner": _owner_name(st.st_uid)},
        )
    return st


def _claim_name(dfd: int, name: str, shown: Path, user: str) -> tuple[str, os.stat_result | None, str | None]:
    """(name to write, its lstat when it is our own earlier copy, a note for the receipt).

    ``name`` itself when it is free or our own regular file. When something else holds it (a
    file, link, directory or FIFO another user made: squatting, issue 12 item 6), the hand-in
    goes to our own fallback name (:func:`.naming.fallback_name`, reused at the next hand-in)
    instead of failing: one ``touch`` by a classmate must never block a hand-in. Refused only
    when the name holds a regular file of the very account the user claims to be (that is their
    hand-in, and this is not them).
    """
    try:
        return name, _check_final(dfd, name, shown), None
    except ForeignFileError:
        st = os.lstat(name, dir_fd=dfd)
        if stat.S_ISREG(st.st_mode) and _account_name(st.st_uid) == user:
            raise
    own = _own_fallback(dfd, name)
    chosen, existing = own if own is not None else (fallback_name(name), None)
    if stat.S_ISLNK(st.st_mode):
        text = _("%(name)s is taken by a symlink of %(owner)s; your hand-in is saved as %(chosen)s (teachers see both)")
    elif stat.S_ISREG(st.st_mode):
        text = _("%(name)s is taken by a file of %(owner)s; your hand-in is saved as %(chosen)s (teachers see both)")
    else:
        text = _("%(name)s is taken by something of %(owner)s; your hand-in is saved as %(chosen)s (teachers see both)")
    note = text % {"name": name, "owner": _owner_name(st.st_uid), "chosen": chosen}
    return chosen, existing, note


def _account_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _own_files(dfd: int, wanted: Callable[[str], bool]) -> list[tuple[str, os.stat_result]]:
    """(name, lstat) of this user's regular files in the directory whose name is ``wanted``; [] if unlistable."""
    try:
        names = [n for n in os.listdir(dfd) if wanted(n)]
    except OSError:
        return []
    found = []
    for n in names:
        try:
            st = os.lstat(n, dir_fd=dfd)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
            found.append((n, st))
    return found


def _own_fallback(dfd: int, name: str) -> tuple[str, os.stat_result] | None:
    """Our newest regular file under a fallback name of ``name``, or None."""
    found = _own_files(dfd, lambda n: is_fallback_of(n, name))
    return max(found, key=lambda item: (item[1].st_mtime, item[0])) if found else None


def _read_own(dfd: int, name: str, limit: int) -> bytes | None:
    """Our earlier submission's bytes (opened without following links), or None."""
    try:
        fd, st = open_regular(name, dir_fd=dfd)
    except OSError:
        return None
    try:
        if st.st_uid != os.geteuid() or st.st_size > limit:
            return None
        return read_all(fd)
    finally:
        os.close(fd)


def _clean_own_temps(dfd: int) -> None:
    """Remove hidden temp files this user left behind (a killed submission); we hold the user lock."""
    prefix = f"{TEMP_PREFIX}{os.geteuid()}."
    for n, _st in _own_files(dfd, lambda n: n.startswith(prefix) and n.endswith(TEMP_SUFFIX)):
        unlink_quiet(n, dir_fd=dfd)


def _temp_name() -> str:
    return f"{TEMP_PREFIX}{os.geteuid()}.{os.urandom(8).hex()}{TEMP_SUFFIX}"


def _write_complete(dfd: int, dir_gid: int, data: bytes) -> tuple[int, str | None, list[str]]:
    """An fd of a complete, fsynced, 0640 file in the directory: anonymous if possible, else a temp name."""
    warnings: list[str] = []
    temp: str | None = None
    try:
        fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=dfd)
    except (OSError, AttributeError):
        temp = _temp_name()
        fd = os.open(temp, TEMP_FLAGS, 0o600, dir_fd=dfd)
    try:
        write_all(fd, data)
        mode = 0o640
        if os.fstat(fd).st_gid != dir_gid:
            try:
                os.fchown(fd, -1, dir_gid)
            except OSError:
                mode = 0o600
                warnings.append(
                    _(
                        "the copy could not get the submit directory's group; it is private (0600) "
                        "and teachers may not read it"
                    )
                )
        os.fchmod(fd, mode)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        if temp is not None:
            unlink_quiet(temp, dir_fd=dfd)
        raise
    return fd, temp, warnings


def _link_new(dfd: int, fd: int, temp: str | None, name: str) -> None:
    """Give the complete file the name ``name``, failing if the name exists (never replaces)."""
    if temp is None:
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dfd, follow_symlinks=True)
    else:
        try:
            os.link(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
        finally:
            unlink_quiet(temp, dir_fd=dfd)


def _replace_own(dfd: int, fd: int, temp: str | None, name: str) -> None:
    """Rename the complete file over our own earlier submission ``name``."""
    if temp is None:
        temp = _temp_name()
        os.link(f"/proc/self/fd/{fd}", temp, dst_dir_fd=dfd, follow_symlinks=True)
    try:
        os.rename(temp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        unlink_quiet(temp, dir_fd=dfd)
        raise


def _install(dfd: int, name: str, shown: Path, data: bytes, dir_gid: int, expect_own: bool) -> tuple[list[str], str]:
    """Write ``data`` and give it the name ``name`` in the directory ``dfd`` (see the module doc).

    Returns the warnings and the name given: when ``name`` is taken at the last moment by
    someone else, a fallback name (:func:`.naming.fallback_name`) is used and said.
    """
    fd, temp, warnings = _write_complete(dfd, dir_gid, data)
    try:
        try:
            if expect_own and _check_final(dfd, name, shown) is not None:
                _replace_own(dfd, fd, temp, name)
            else:
                _link_new(dfd, fd, temp if temp is None else _second_name(dfd, temp), name)
        except FileExistsError:
            for _attempt in range(8):  # someone made the name just now: a name nobody can predict instead
                other = fallback_name(name)
                try:
                    _link_new(dfd, fd, temp if temp is None else _second_name(dfd, temp), other)
                except FileExistsError:
                    continue
                warnings.append(
                    _("%(name)s was taken just now by another user; your hand-in is saved as %(chosen)s")
                    % {"name": name, "chosen": other}
                )
                return warnings, other
            raise SubmitError(_("%(path)s: appeared while submitting; try again") % {"path": shown}) from None
        except PermissionError:
            _check_final(dfd, name, shown)
            raise SubmitError(_("%(path)s: permission denied by the submit directory") % {"path": shown}) from None
    except BaseException:
        if temp is not None:
            unlink_quiet(temp, dir_fd=dfd)  # a named temp is ours alone: never leave it behind on failure
        raise
    finally:
        os.close(fd)
        if temp is not None:
            unlink_quiet(temp, dir_fd=dfd)
    return warnings, name


def _second_name(dfd: int, temp: str) -> str:
    """A fresh hidden hard link of the named temp file, so a failed link leaves the temp for a retry."""
    extra = _temp_name()
    os.link(temp, extra, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
    return extra
