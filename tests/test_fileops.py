"""The descriptor-level file toolkit: no link followed, no FIFO waited on, whole files only."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from ipynb_tools import fileops
from ipynb_tools.errors import os_reason


def test_open_regular_refuses_a_symlink_a_fifo_and_a_directory(tmp_path):
    real = tmp_path / "real"
    real.write_bytes(b"data")
    (tmp_path / "link").symlink_to(real)
    os.mkfifo(tmp_path / "fifo")  # a FIFO with no writer: a blocking open would hang the test
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError) as info:
        fileops.open_regular(tmp_path / "link")
    assert info.value.errno == errno.ELOOP
    for name in ("fifo", "dir"):
        with pytest.raises(fileops.NotRegularFileError) as info:
            fileops.open_regular(tmp_path / name)
        assert os_reason(info.value) == "not a regular file"
    fd, st = fileops.open_regular(real)
    try:
        assert st.st_size == 4
        assert fileops.read_all(fd) == b"data"
    finally:
        os.close(fd)


def test_read_file_and_hash_file_relative_to_an_open_directory(tmp_path):
    data = os.urandom(3 * fileops.CHUNK + 17)
    (tmp_path / "f").write_bytes(data)
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert fileops.read_file("f", dir_fd=dfd) == data
        assert fileops.hash_file("f", dir_fd=dfd) == hashlib.sha256(data).hexdigest()
    finally:
        os.close(dfd)
    assert fileops.sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_open_temp_never_reuses_an_existing_name(tmp_path, monkeypatch):
    target = str(tmp_path / "out.txt")
    names = iter([".out.txt.taken" + fileops.TEMP_SUFFIX, ".out.txt.free" + fileops.TEMP_SUFFIX])
    monkeypatch.setattr(fileops, "temp_name", lambda name: next(names))
    (tmp_path / (".out.txt.taken" + fileops.TEMP_SUFFIX)).symlink_to(tmp_path / "elsewhere")
    fd, temp = fileops.open_temp(target)
    os.close(fd)
    assert temp == str(tmp_path / (".out.txt.free" + fileops.TEMP_SUFFIX))
    assert not (tmp_path / "elsewhere").exists()


def test_replace_file_replaces_a_link_instead_of_writing_through_it(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "name").symlink_to(victim)
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fileops.replace_file("name", b"new", mode=0o640, dir_fd=dfd)
    finally:
        os.close(dfd)
    assert victim.read_bytes() == b"keep"
    assert not (tmp_path / "name").is_symlink()
    assert (tmp_path / "name").read_bytes() == b"new"
    assert (tmp_path / "name").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["name", "victim"]


def test_a_failed_rename_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileops.os, "replace", full)
    with pytest.raises(OSError) as info:
        fileops.replace_file(str(target), b"new", mode=0o600)
    assert os_reason(info.value) == "disk full"
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_copy_fd_and_copy_and_hash_copy_every_byte(tmp_path):
    data = os.urandom(2 * fileops.CHUNK + 5)
    (tmp_path / "src").write_bytes(data)
    for name, copy in (("a", lambda s, d: fileops.copy_fd(s, d, len(data))), ("b", fileops.copy_and_hash)):
        src = os.open(tmp_path / "src", os.O_RDONLY)
        dst = os.open(tmp_path / name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            result = copy(src, dst)
        finally:
            os.close(src)
            os.close(dst)
        assert (tmp_path / name).read_bytes() == data
        if name == "b":
            assert result == hashlib.sha256(data).hexdigest()


def test_unlink_quiet_ignores_what_is_not_there(tmp_path):
    fileops.unlink_quiet(tmp_path / "missing")
    (tmp_path / "f").write_bytes(b"")
    fileops.unlink_quiet(tmp_path / "f")
    assert not (tmp_path / "f").exists()


def test_atomic_write_never_replaces_a_device_fifo_or_socket(tmp_path):
    """Renaming over a special file would replace it with a plain file (as root, an output of
    /dev/null would leave the machine without one): refused, the special file untouched."""
    import socket
    import stat

    from ipynb_tools.atomic import atomic_write_bytes
    from ipynb_tools.errors import IpynbToolsError

    fifo = tmp_path / "out.ipynb"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    targets = [fifo, sock_path]
    if os.geteuid() == 0:
        dev = tmp_path / "null"
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        targets.append(dev)
    try:
        for target in targets:
            before = os.lstat(target)
            with pytest.raises(IpynbToolsError, match="not a regular file"):
                atomic_write_bytes(target, b"data")
            after = os.lstat(target)
            assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(t.name for t in targets)  # no temp left
    finally:
        sock.close()


def test_rename_into_place_without_replace_never_replaces_a_file_at_the_name(tmp_path):
    from ipynb_tools.fileops import rename_into_place

    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        (tmp_path / "t1").write_text("ours\n")
        rename_into_place("t1", "name", dir_fd=dfd, replace=False)
        assert (tmp_path / "name").read_text() == "ours\n" and not (tmp_path / "t1").exists()
        (tmp_path / "t2").write_text("ours again\n")
        with pytest.raises(FileExistsError):
            rename_into_place("t2", "name", dir_fd=dfd, replace=False)
        assert (tmp_path / "name").read_text() == "ours\n"  # what was there stays
        assert not (tmp_path / "t2").exists()  # the temp file is removed on failure
        (tmp_path / "t3").write_text("x")
        (tmp_path / "link").symlink_to(tmp_path / "elsewhere")  # a dangling link counts as something there
        with pytest.raises(FileExistsError):
            rename_into_place("t3", "link", dir_fd=dfd, replace=False)
        assert (tmp_path / "link").is_symlink() and not (tmp_path / "elsewhere").exists()
    finally:
        os.close(dfd)


def test_rename_into_place_without_replace_where_the_c_library_lacks_renameat2(tmp_path, monkeypatch):
    """The fallback (a link, then the temp file unlinked) refuses an existing name the same way."""
    from ipynb_tools.fileops import rename_into_place

    monkeypatch.setattr(fileops, "_libc", object())  # no renameat2 attribute: ENOSYS
    (tmp_path / "t1").write_text("ours\n")
    rename_into_place(str(tmp_path / "t1"), str(tmp_path / "name"), replace=False)
    assert (tmp_path / "name").read_text() == "ours\n" and not (tmp_path / "t1").exists()
    (tmp_path / "t2").write_text("x")
    with pytest.raises(FileExistsError):
        rename_into_place(str(tmp_path / "t2"), str(tmp_path / "name"), replace=False)
    assert (tmp_path / "name").read_text() == "ours\n" and not (tmp_path / "t2").exists()


def test_rename_no_replace_moves_a_directory_and_never_over_another(tmp_path, monkeypatch):
    """Both ways (renameat2, and the check-then-rename fallback a directory takes without it)."""
    for libc in (None, object()):
        monkeypatch.setattr(fileops, "_libc", libc)
        base = tmp_path / ("fallback" if libc else "renameat2")
        (base / "d").mkdir(parents=True)
        (base / "d" / "f").write_text("x")
        (base / "taken").mkdir()
        with pytest.raises(FileExistsError):
            fileops.rename_no_replace(str(base / "d"), str(base / "taken"), None)
        assert (base / "d" / "f").exists() and not list((base / "taken").iterdir())
        fileops.rename_no_replace(str(base / "d"), str(base / "free"), None)
        assert (base / "free" / "f").read_text() == "x" and not (base / "d").exists()


def test_a_temp_file_whose_writer_is_a_zombie_is_stale(tmp_path):
    """A writer killed but not yet reaped (its parent is busy, or a container's init does not reap)
    still answers ``kill(pid, 0)``; it writes nothing any more, so its temp files are removed."""
    import subprocess
    import sys
    import time

    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # exited, not reaped (no wait() yet)
            with open(f"/proc/{zombie.pid}/stat", "rb") as f:
                if f.read().rpartition(b")")[2].split()[0] == b"Z":
                    break
            time.sleep(0.01)
        dead_temp = tmp_path / f".a.txt.{zombie.pid}-1{fileops.TEMP_SUFFIX}"
        live_temp = tmp_path / f".b.txt.{live.pid}-1{fileops.TEMP_SUFFIX}"
        dead_temp.write_text("left by a killed writer")
        live_temp.write_text("being written")
        assert fileops.remove_stale_temps(tmp_path) == [dead_temp.name]
        assert live_temp.exists()
    finally:
        live.kill()
        live.wait()
        zombie.wait()


def test_a_temp_name_with_this_pid_that_this_process_never_made_is_stale(tmp_path):
    """A pid reused by a later process (a container's next start) does not make a killed writer's temp file live."""
    fd, mine = fileops.open_temp(str(tmp_path / "a.txt"))
    os.close(fd)
    pid = os.getpid()
    reused = [f".a.txt.{pid}-0{fileops.TEMP_SUFFIX}", f".b.txt.{pid}-{10**12}{fileops.TEMP_SUFFIX}"]
    for name in reused:
        (tmp_path / name).write_text("left by a killed writer with this pid")
    assert sorted(fileops.remove_stale_temps(tmp_path)) == sorted(reused)
    assert os.path.exists(mine)  # this process's own, being written
    child = os.fork()
    if child == 0:  # a forked child keeps the parent's counter, but the parent's names are not its own
        os._exit(0 if fileops.remove_stale_temps(tmp_path) == [] and os.path.exists(mine) else 1)
    assert os.waitpid(child, 0)[1] == 0
