"""The umask file in the user's home is read without following a link or waiting on a FIFO (issue 12, item 9)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipynb_tools.environ import EnvironmentContractError, read_umask_file


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail (SIGALRM) instead of hanging when a read waits on a FIFO."""

    def fail(signum: int, frame: object) -> None:
        raise AssertionError("read_umask_file waited on the FIFO")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_a_fifo_as_the_umask_file_is_refused_at_once(tmp_path: Path, deadline: None) -> None:
    path = tmp_path / "umask"
    os.mkfifo(path)
    with pytest.raises(EnvironmentContractError, match="not a small regular file"):
        read_umask_file(path)


def test_a_symlink_as_the_umask_file_is_not_followed(tmp_path: Path, deadline: None) -> None:
    (tmp_path / "elsewhere").write_text("0000\n")
    (tmp_path / "umask").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(EnvironmentContractError, match="not a small regular file"):
        read_umask_file(tmp_path / "umask")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "umask2").symlink_to(tmp_path / "fifo")
    with pytest.raises(EnvironmentContractError, match="not a small regular file"):
        read_umask_file(tmp_path / "umask2")


def test_a_regular_umask_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "umask").write_text("0037\n")
    assert read_umask_file(tmp_path / "umask") == 0o037
    assert read_umask_file(tmp_path / "missing") is None
