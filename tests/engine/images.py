"""Test images built without any image registry.

Two root filesystems are built on the host and cached as tarballs under the cache directory
(``$IPYNB_TOOLS_CACHE``, else ``$XDG_CACHE_HOME/ipynb-tools``, else ``~/.cache/ipynb-tools``):

- ``rootfs-bookworm.tar``: ``debootstrap --variant=minbase`` Debian bookworm with python3 and the
  passwd/login tools (useradd, su), from the Debian mirror in the host's apt sources. The first
  build takes a few minutes; later runs reuse the tarball.
- ``rootfs-busybox.tar``: ``/bin/busybox`` (Debian's ``busybox-static``) and its applet links
  (sh, sleep, cat, ls, ...). Built in well under a second; for tests that only need a process that
  keeps running.

:func:`ensure_image` imports a tarball into an engine (``docker import`` through the SDK) unless
an image with that tag is already there. Works for Docker and for Podman's Docker-compatible API.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEBIAN_TAG = "ipynb-tools-test:bookworm"
TINY_TAG = "ipynb-tools-test:busybox"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
DEBIAN_INCLUDE = ("python3", "passwd", "login", "ca-certificates")
BUSYBOX_APPLETS = ("sh", "sleep", "cat", "ls", "echo", "id", "mkdir", "rm", "touch", "true", "env", "stat")


class ImageBuildError(RuntimeError):
    """A test root filesystem could not be built (missing tool, mirror unreachable...)."""


def cache_dir() -> Path:
    """The directory that keeps built root filesystems between test runs."""
    explicit = os.environ.get("IPYNB_TOOLS_CACHE")
    if explicit:
        base = Path(explicit)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "ipynb-tools"
    base.mkdir(parents=True, exist_ok=True)
    return base


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` so two test sessions never build the same thing at once."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def debian_mirror() -> str:
    """The Debian mirror of the host's apt sources (``IPYNB_TOOLS_DEBIAN_MIRROR`` overrides it)."""
    explicit = os.environ.get("IPYNB_TOOLS_DEBIAN_MIRROR")
    if explicit:
        return explicit
    candidates: list[Path] = [Path("/etc/apt/sources.list")]
    sources_d = Path("/etc/apt/sources.list.d")
    if sources_d.is_dir():
        candidates += sorted(sources_d.glob("*.sources")) + sorted(sources_d.glob("*.list"))
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        for url in re.findall(r"(?:^deb\s+(?:\[[^\]]*\]\s+)?|^URIs:\s*)(\S+)", text, re.M):
            if url.rstrip("/").endswith("/debian"):
                return url.rstrip("/")
    return DEFAULT_MIRROR


def debian_rootfs(cache: Path | None = None) -> Path:
    """Return the cached bookworm rootfs tarball, running debootstrap first when it is missing."""
    cache = cache or cache_dir()
    target = cache / f"rootfs-{SUITE}.tar"
    with _locked(cache / f"rootfs-{SUITE}.lock"):
        if target.is_file():
            return target
        if shutil.which("debootstrap") is None and not Path("/usr/sbin/debootstrap").exists():
            raise ImageBuildError("debootstrap is not installed (scripts/install-system-deps.sh installs it)")
        work = Path(tempfile.mkdtemp(prefix=f"rootfs-{SUITE}.", dir=cache))
        try:
            root = work / "root"
            cmd = [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(DEBIAN_INCLUDE)}",
                SUITE,
                str(root),
                debian_mirror(),
            ]
            result = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                env={**os.environ, "PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin"},
            )
            if result.returncode != 0:
                tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
                raise ImageBuildError(f"debootstrap failed ({result.returncode}): " + " | ".join(tail))
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for entry in (root / junk).glob("*"):
                    if entry.is_file():
                        entry.unlink()
            partial = work / "rootfs.tar"
            _tar_dir(root, partial, exclude_contents_of=("dev", "proc", "sys", "tmp", "run"))
            os.replace(partial, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def busybox_rootfs(cache: Path | None = None) -> Path:
    """Return the cached busybox rootfs tarball (``/bin/busybox`` + applet links), building it if needed."""
    cache = cache or cache_dir()
    target = cache / "rootfs-busybox.tar"
    with _locked(cache / "rootfs-busybox.lock"):
        if target.is_file():
            return target
        busybox = shutil.which("busybox") or "/bin/busybox"
        if not Path(busybox).exists():
            raise ImageBuildError("busybox is not installed (scripts/install-system-deps.sh installs busybox-static)")
        if _is_dynamic(Path(busybox)):
            raise ImageBuildError(f"{busybox} is dynamically linked; install busybox-static")
        partial = cache / "rootfs-busybox.tar.partial"
        with tarfile.open(partial, "w") as tar:
            for name in ("bin", "tmp", "etc"):
                info = tarfile.TarInfo(name)
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if name == "tmp" else 0o755
                tar.addfile(info)
            tar.add(busybox, arcname="bin/busybox")
            for applet in BUSYBOX_APPLETS:
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type = tarfile.SYMTYPE
                info.linkname = "busybox"
                tar.addfile(info)
            passwd = b"root:x:0:0:root:/root:/bin/sh\n"
            info = tarfile.TarInfo("etc/passwd")
            info.size = len(passwd)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(passwd))
        os.replace(partial, target)
    return target


def _is_dynamic(path: Path) -> bool:
    """True when the ELF file has a program interpreter (PT_INTERP), i.e. needs shared libraries."""
    import struct

    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        return True
    bits64, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if bits64:
        (phoff,) = struct.unpack_from(order + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
    else:
        (phoff,) = struct.unpack_from(order + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
    return any(struct.unpack_from(order + "I", data, phoff + i * phentsize)[0] == 3 for i in range(phnum))


def _tar_dir(root: Path, dest: Path, exclude_contents_of: tuple[str, ...] = ()) -> None:
    """Tar ``root`` with numeric owners, keeping the excluded directories but not their contents."""
    cmd = ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(dest)]
    for name in exclude_contents_of:
        cmd.append(f"--exclude=./{name}/*")
    cmd.append(".")
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode not in (0, 1):  # 1 = "file changed as we read it": harmless here
        raise ImageBuildError(f"tar of {root} failed: {result.stderr.strip()}")


def ensure_image(client: Any, tarball: Path, tag: str) -> str:
    """Import ``tarball`` into the engine behind ``client`` as ``tag`` unless it is already there.

    Returns the tag. Uses the SDK's ``api.import_image_from_file`` (``POST /images/create?fromSrc=-``),
    which Docker and Podman both accept; no registry is contacted.
    """
    import docker.errors

    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    repository, _, version = tag.partition(":")
    version = version or "latest"
    reply = client.api.import_image_from_file(str(tarball), repository=repository, tag=version)
    # Podman 4.3's compat import ignores ``tag`` (it names the image <repository>:latest), so tag
    # the imported image id explicitly; harmless on Docker.
    found = re.findall(r"sha256:[0-9a-f]{64}", str(reply))
    if found:
        client.api.tag(found[-1], repository, version)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            if time.monotonic() > deadline:
                raise ImageBuildError(f"importing {tarball} as {tag} did not produce the image") from None
            time.sleep(0.2)


def debian_image(client: Any) -> str:
    """``ipynb-tools-test:bookworm`` in the engine: Debian minbase with python3 and useradd."""
    return ensure_image(client, debian_rootfs(), DEBIAN_TAG)


def tiny_image(client: Any) -> str:
    """``ipynb-tools-test:busybox`` in the engine: a shell and sleep, imported in milliseconds."""
    return ensure_image(client, busybox_rootfs(), TINY_TAG)


#: The in-container commands of the course image (the package's entry points, without installing it).
#: argv[0] is the command's name, as an installed console script has it (click names the program after it).
COURSE_WRAPPERS = {
    name: f'import sys; sys.argv[0] = "{name}"; from ipynb_tools.cli.scripts import {function}; {function}()'
    for name, function in (
        ("ipynb-tools", "ipynb_tools"),
        ("ipynb_deploy", "ipynb_deploy"),
        ("ipynb_submit", "ipynb_submit"),
    )
}


def course_image_context(base: Path, debian_image: str) -> str:
    """A build context: the package, click, wrapper commands; returns a tag naming their hash."""
    import click

    repo = Path(__file__).resolve().parents[2]

    shutil.copytree(
        repo / "ipynb_tools", base / "pkg" / "ipynb_tools", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    shutil.copytree(
        Path(click.__file__).parent, base / "pkg" / "click", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    (base / "bin").mkdir()
    for name, code in COURSE_WRAPPERS.items():
        script = base / "bin" / name
        script.write_text(f"#!/bin/sh\nexec python3 -c '{code}' \"$@\"\n")
        script.chmod(0o755)
    (base / "Dockerfile").write_text(
        f"FROM {debian_image}\nCOPY pkg /opt/ipynb-tools\nCOPY bin /usr/local/bin\n"
        "ENV PYTHONPATH=/opt/ipynb-tools LANG=C.UTF-8\n"
    )
    digest = hashlib.sha256()
    for path in sorted(base.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(base)).encode() + path.read_bytes())
    return f"ipynb-tools-course:{digest.hexdigest()[:12]}"


def course_image(client: Any, debian_image: str, base: Path) -> str:
    """The Debian test image plus this package's source and click (a COPY-only build: no RUN, no
    network), tagged by the hash of what it holds; built in ``base`` unless the engine has it."""
    tag = course_image_context(base, debian_image)
    try:
        client.images.get(tag)
    except Exception:  # noqa: BLE001 - not built yet (docker.errors.ImageNotFound)
        client.images.build(path=str(base), tag=tag, rm=True, network_mode="none")
    return tag
