"""The spool's rules: bounded, oldest dropped first, a line cut by a crash skipped, what is left resent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ipynb_tools.execlog import buffer
from ipynb_tools.execlog.buffer import Spool


def records(n: int, start: int = 0) -> list[dict]:
    return [
        {"kind": "server", "session": "s", "message": f"m{i}", "status": "ok", "pad": "x" * 200}
        for i in range(start, start + n)
    ]


def test_sealed_segments_in_order_and_a_torn_line_skipped(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append(records(3))
    first = spool.seal()
    spool.append(records(2, 3))
    with open(spool.current, "ab") as f:
        f.write(b'{"kind": "ser')  # a crash in the middle of a write
    second = spool.seal()
    assert spool.pending() == [first, second]
    assert [r["message"] for r in spool.read(second)] == ["m3", "m4"]
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700
    assert spool.seal() is None  # nothing new


def test_the_bound_drops_the_oldest_and_counts_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(buffer, "SEGMENT_BYTES", 2_000)
    spool = Spool(tmp_path / "spool", max_bytes=10_000)
    for i in range(40):
        spool.append(records(5, i * 5))
    spool.seal()
    assert spool.size() <= 10_000 + 2_500
    assert spool.dropped > 0
    kept = [r["message"] for seg in spool.pending() for r in spool.read(seg)]
    assert kept[-1] == "m199" and len(kept) + spool.dropped == 200
    assert kept == [f"m{i}" for i in range(200 - len(kept), 200)]  # the newest are kept, in order


def test_a_link_is_not_a_spool(tmp_path: Path) -> None:
    import pytest

    from ipynb_tools.errors import IpynbToolsError

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "spool").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(IpynbToolsError, match="not a link"):
        Spool(tmp_path / "spool")


def test_a_fifo_in_place_of_the_current_segment_is_refused_at_once(tmp_path: Path) -> None:
    """The spool is in the user's home: a FIFO there is an OSError, not a sender thread waiting forever."""
    spool = Spool(tmp_path / "spool")
    os.mkfifo(spool.current)
    with pytest.raises(OSError):
        spool.append(records(1))
    os.unlink(spool.current)
    os.symlink(tmp_path / "elsewhere", spool.current)
    with pytest.raises(OSError):
        spool.append(records(1))
    assert not (tmp_path / "elsewhere").exists()
