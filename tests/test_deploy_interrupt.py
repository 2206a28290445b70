"""A deploy killed at any moment leaves every file either old or new, never partial."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipynb_tools.deploy import deploy
from ipynb_tools.notebook import dumps_notebook

N_FILES = 40


def _make_course(directory: Path) -> None:
    directory.mkdir()
    for i in range(N_FILES):
        cells = [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": ["x" * 200 + "\n"] * 200}],
                "source": [f"print({i}, {j})\n"],
            }
            for j in range(40)
        ]
        nb = {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells}
        (directory / f"nb{i:03d}.ipynb").write_text(dumps_notebook(nb))


@pytest.mark.slow
def test_kill_at_many_points(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    _make_course(pristine)
    expected_dir = tmp_path / "expected"
    expected_dir.mkdir()
    for p in pristine.iterdir():
        (expected_dir / p.name).write_bytes(p.read_bytes())
    deploy([expected_dir], backup=False)
    old = {p.name: p.read_bytes() for p in pristine.iterdir()}
    new = {p.name: p.read_bytes() for p in expected_dir.iterdir()}
    assert all(old[n] != new[n] for n in old)

    cmd = [sys.executable, "-m", "ipynb_tools.cli.deploy", "-q", "."]
    work = tmp_path / "work"
    # time a full run to spread the kill points over it
    work.mkdir()
    for name, data in old.items():
        (work / name).write_bytes(data)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=work, check=True, capture_output=True)
    full = time.perf_counter() - start

    seen_mixed = 0
    for k in range(15):
        for p in work.iterdir():
            if p.is_dir():
                continue
            p.unlink()
        for name, data in old.items():
            (work / name).write_bytes(data)
        proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full * (0.15 + 0.8 * k / 14))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        visible = sorted(p.name for p in work.iterdir() if not p.name.startswith("."))
        assert visible == sorted(old), f"kill point {k}: unexpected files {visible}"
        states = []
        for name in visible:
            data = (work / name).read_bytes()
            assert data in (old[name], new[name]), f"kill point {k}: {name} is neither old nor new"
            json.loads(data)
            states.append(data == new[name])
        if 0 < sum(states) < len(states):
            seen_mixed += 1
        # leftovers are hidden temp files only; a new run completes the job
        for p in work.iterdir():
            if p.name.startswith(".") and p.is_file():
                assert p.name.endswith(".ipynb-tools-tmp")
        subprocess.run(cmd, cwd=work, check=True, capture_output=True)
        assert {n: (work / n).read_bytes() for n in visible} == new
    assert seen_mixed >= 3, "the kills did not land in the middle of runs; the test proves too little"
