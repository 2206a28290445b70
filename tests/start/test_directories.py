"""Setting aside what is in the way in a user's home (ipynb_tools/start/directories.py)."""

from __future__ import annotations

import os
from pathlib import Path

from ipynb_tools.start import directories


def test_set_aside_never_renames_over_what_the_user_makes_at_the_free_name(tmp_path: Path, monkeypatch):
    """The user's file appears at the free name just before the rename (a check then a rename replaced
    it, as root in the user's home): both are kept, the entry under the next free name."""
    (tmp_path / "works").write_text("the user's file in the way\n")
    real = directories.rename_no_replace

    def user_makes_it_first(src, dst, dir_fd):
        if dst == "works.STAMP":
            (tmp_path / dst).write_text("made at that instant\n")
        real(src, dst, dir_fd)

    monkeypatch.setattr(directories, "rename_no_replace", user_makes_it_first)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert directories.set_aside(fd, "works", "STAMP") == "works.STAMP-1"
    finally:
        os.close(fd)
    assert (tmp_path / "works.STAMP").read_text() == "made at that instant\n"
    assert (tmp_path / "works.STAMP-1").read_text() == "the user's file in the way\n"
    assert not (tmp_path / "works").exists()
