"""The console scripts themselves (ipynb_tools/cli/scripts.py): what every command does before it runs.

Binding click's catalogue is pinned in tests/test_i18n.py and tests/test_i18n_commands.py; here,
standard output that never stops a command on a file name whose bytes are not UTF-8.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
#: What Python does under a real UTF-8 locale (LANG=en_US.UTF-8 in most Jupyter images): stdout is strict.
STRICT = {"PYTHONIOENCODING": "utf-8:strict", "LANG": "C.UTF-8", "LANGUAGE": "en"}


def run(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NB_", "LC_"))}
    env.update(STRICT)
    return subprocess.run([str(BIN / name), *args], cwd=cwd, env=env, capture_output=True, timeout=120)


def test_a_name_that_is_not_utf8_is_printed_escaped_and_the_command_goes_on(tmp_path: Path) -> None:
    """``copied: data\\udcfe.csv`` raised UnicodeEncodeError half-way through a deploy and a sync."""
    src, dest, personal = tmp_path / "src", tmp_path / "dest", tmp_path / "personal"
    for directory in (src, dest, personal):
        directory.mkdir()
    (src / os.fsdecode(b"data\xfe.csv")).write_text("a,b\n")
    (src / "z.csv").write_text("1\n")

    deployed = run("ipynb_deploy", str(dest), cwd=src)
    assert deployed.returncode == 0, deployed.stderr.decode(errors="replace")
    assert b"copied: " + bytes(dest) + b"/data\\udcfe.csv\n" in deployed.stdout
    assert sorted(os.listdir(dest)) == sorted(os.listdir(src))  # every file, the one after it too

    synced = run("ipynb-tools", "sync", str(src), str(personal), cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr.decode(errors="replace")
    assert b"copied: data\\udcfe.csv\n" in synced.stdout and b"Traceback" not in synced.stderr
    assert (personal / os.fsdecode(b"data\xfe.csv")).read_text() == "a,b\n"
