"""Course volumes on a shared file system, so that every node of a cluster mounts the same data (issue 17).

A Docker Swarm runs each user's server on some node; a course's task and submit volumes (and the
homes) must then hold the same files on every node. Engine volumes are node-local, so each node
makes its own volume of the same name with the engine's ``local`` driver pointing into one shared
root (:class:`SharedStorage`):

- ``bind``: the shared root is a directory every node has mounted at the same path (an NFS,
  CephFS or GlusterFS mount made by the site): ``type=none,o=bind,device=<root>/<full name>``;
- ``nfs``: the engine mounts the NFS export itself: ``type=nfs,o=addr=<server>[,<options>],
  device=:<export path>/<full name>``.

The options are site configuration (the spawner's traits, the ``volumes`` command's options);
:meth:`SharedStorage.driver_opts` turns them into the driver options of one volume, the same for
``ipynb-tools volumes create`` and for the mounts of a swarm service (each node creates the volume
from the mount's driver options when a task starts there). The per-volume directory must exist
before a node mounts it: :func:`make_directory` makes it under :attr:`SharedStorage.local_root`,
the shared root as mounted where the hub or the command runs.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..errors import IpynbToolsError, os_reason
from ..fileops import fsync_directory_fd

#: Driver options of a local-driver volume bound into a directory of the shared root.
BIND_TYPE = "none"
NFS_TYPE = "nfs"
#: Mode of a volume directory made here: what the engine gives a new local volume (``_data``); the
#: container's ``setup`` sets the modes of task and submit volumes (SPEC 3.3).
DIRECTORY_MODE = 0o755
#: An NFS server: host name, IPv4 or IPv6 address.
_ADDR_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]*")
#: One NFS mount option (``nfsvers=4.1``, ``hard``, ``timeo=600``...): no commas, spaces or quotes inside.
_OPTION_RE = re.compile(r"[A-Za-z0-9_]+(=[A-Za-z0-9_.:/@+-]+)?")
#: A volume's directory name: an engine volume name (full names and home volume names are in it).
_DIRECTORY_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class SharedStorageError(IpynbToolsError):
    """The shared storage settings cannot work, or a volume's directory cannot be made or removed."""


@dataclass(frozen=True)
class SharedStorage:
    """Where the volumes of a cluster live: a shared root every node reaches (site configuration).

    ``root``: for ``bind``, the absolute path of the shared root on every node (the same on all);
    for ``nfs``, the export path on the server ``nfs_addr``. ``nfs_options``: further NFS mount
    options, comma-separated (``nfsvers=4.1,hard``); ``addr=`` is made from ``nfs_addr``.
    ``local_root``: the shared root as mounted where this code runs (the hub, the teacher's
    command), for making and removing a volume's directory; default ``root`` for ``bind``,
    required for ``nfs``. Raises :class:`SharedStorageError` naming the setting that is wrong.
    """

    root: str
    nfs_addr: str | None = None
    nfs_options: str = ""
    local_root: str | None = None

    def __post_init__(self) -> None:
        _check_root("shared volume root", self.root)
        if self.nfs_addr is not None:
            if not _ADDR_RE.fullmatch(self.nfs_addr):
                raise SharedStorageError(f"NFS server {self.nfs_addr!r} is not a host name or an address")
            if self.local_root is None:
                raise SharedStorageError(
                    f"NFS export {self.nfs_addr}:{self.root}: the local root (where this machine has the export "
                    "mounted) is needed to make each volume's directory"
                )
        elif self.nfs_options:
            raise SharedStorageError(f"NFS options {self.nfs_options!r} given without an NFS server")
        for option in filter(None, self.nfs_options.split(",")):
            if not _OPTION_RE.fullmatch(option):
                raise SharedStorageError(f"NFS option {option!r} is not key or key=value (no spaces or quotes)")
            if option.split("=", 1)[0] == "addr":
                raise SharedStorageError(f"NFS option {option!r}: the server is given as the NFS server, not addr=")
        if self.local_root is not None:
            _check_root("local shared root", self.local_root)

    @classmethod
    def from_settings(
        cls,
        root: str | None,
        nfs_addr: str | None = None,
        nfs_options: str | None = None,
        local_root: str | None = None,
    ) -> SharedStorage | None:
        """The storage the settings describe, or None (node-local volumes) when ``root`` is empty."""
        if not root:
            if nfs_addr or nfs_options or local_root:
                raise SharedStorageError("NFS server, NFS options or local root given without a shared volume root")
            return None
        return cls(root, nfs_addr or None, nfs_options or "", local_root or None)

    @property
    def kind(self) -> str:
        """``bind`` or ``nfs``."""
        return "nfs" if self.nfs_addr else "bind"

    def device(self, volume: str) -> str:
        """The ``device`` driver option of ``volume``: ``<root>/<volume>`` (bind) or ``:<export>/<volume>`` (NFS)."""
        path = str(PurePosixPath(self.root) / _check_name(volume))
        return f":{path}" if self.nfs_addr else path

    def driver_opts(self, volume: str) -> dict[str, str]:
        """The ``local`` driver's options that make ``volume`` on any node point at its shared directory."""
        if self.nfs_addr:
            mount_options = ",".join([f"addr={self.nfs_addr}", *filter(None, self.nfs_options.split(","))])
            return {"type": NFS_TYPE, "o": mount_options, "device": self.device(volume)}
        return {"type": BIND_TYPE, "o": "bind", "device": self.device(volume)}

    def holds(self, volume: str, options: dict[str, str] | None) -> bool:
        """True when an engine volume with these driver ``options`` is ``volume`` on this storage."""
        return dict(options or {}) == self.driver_opts(volume)

    def directory(self, volume: str) -> str:
        """The volume's directory where this code runs (under :attr:`local_root`, else :attr:`root`)."""
        return str(PurePosixPath(self.local_root or self.root) / _check_name(volume))

    def describe(self) -> str:
        """One line for messages and listings: ``bind <root>`` or ``nfs <server>:<export>``."""
        return f"nfs {self.nfs_addr}:{self.root}" if self.nfs_addr else f"bind {self.root}"


def _check_root(what: str, path: str) -> None:
    if not path.startswith("/") or path != os.path.normpath(path) or path.startswith("//"):
        raise SharedStorageError(f"{what} {path!r} is not a normalised absolute path")
    if path == "/":
        # every volume would be a top-level directory: a site home volume named for a user ("{username}")
        # called etc or root would bind the node's own /etc or /root into that user's server
        raise SharedStorageError(f"{what} '/' is the file system's root: give a directory of the shared storage")
    if any(ch in path for ch in ",\"'") or any(ch.isspace() or ord(ch) < 32 for ch in path):
        raise SharedStorageError(f"{what} {path!r}: commas, quotes, spaces and control characters cannot be used")


def _check_name(volume: str) -> str:
    if not _DIRECTORY_NAME_RE.fullmatch(volume) or volume in (".", ".."):
        raise SharedStorageError(f"volume name {volume!r} cannot name a directory of the shared root")
    return volume


def _open_root(storage: SharedStorage) -> tuple[int, str]:
    root = storage.local_root or storage.root
    try:
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), root
    except OSError as exc:
        raise SharedStorageError(
            f"{root}: cannot open the shared volume root ({os_reason(exc)}); is the shared storage mounted here?"
        ) from None


def make_directory(storage: SharedStorage, volume: str) -> bool:
    """Make ``volume``'s directory in the shared root (mode 0755); True when made, False when it was there.

    The directory is made and checked through a descriptor of the root, never through a link
    planted in its place: an existing entry that is not a directory raises
    :class:`SharedStorageError`, as does a root that is not there (the shared storage not mounted).
    """
    name = _check_name(volume)
    root_fd, root = _open_root(storage)
    try:
        try:
            os.mkdir(name, DIRECTORY_MODE, dir_fd=root_fd)
            made_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=root_fd)
            try:
                os.fchmod(made_fd, DIRECTORY_MODE)  # (the umask may have cut it)
            finally:
                os.close(made_fd)
            fsync_directory_fd(root_fd)
            return True
        except FileExistsError:
            info = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                raise SharedStorageError(
                    f"{root}/{name}: exists and is not a directory; it cannot hold the volume"
                ) from None
            return False
    except OSError as exc:
        raise SharedStorageError(f"{root}/{name}: cannot make the volume's directory ({os_reason(exc)})") from None
    finally:
        os.close(root_fd)


def remove_directory(storage: SharedStorage, volume: str) -> bool:
    """Remove ``volume``'s directory and everything in it; True when removed, False when it was not there.

    Links inside are removed, never followed (``shutil.rmtree`` works through directory
    descriptors); an entry that is not a directory is left alone and raises
    :class:`SharedStorageError`.
    """
    name = _check_name(volume)
    root_fd, root = _open_root(storage)
    try:
        try:
            info = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(info.st_mode):
            raise SharedStorageError(f"{root}/{name}: is not a directory; left as it is")
        try:
            shutil.rmtree(name, dir_fd=root_fd)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return True
            raise SharedStorageError(f"{root}/{name}: cannot remove the volume's data ({os_reason(exc)})") from None
        fsync_directory_fd(root_fd)
        return True
    finally:
        os.close(root_fd)
