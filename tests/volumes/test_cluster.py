"""``volumes ... --swarm`` against an engine that is in no swarm: one clear line, nothing touched.

The swarm itself (two nodes, services, ls/rm over them) is tests/hub/test_swarm_nodes.py.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.volumes import engine as eng
from ipynb_tools.volumes.cluster import NotASwarm, list_cluster_volumes

HOST = "el.mml.tuis.ac.jp"


def test_an_engine_in_no_swarm_is_named(docker_engine, course) -> None:
    with eng.connect(docker_engine.url) as e, pytest.raises(NotASwarm, match="is not a swarm manager"):
        list_cluster_volumes(e, [], course, HOST)


def test_cli_over_no_swarm_is_one_line(docker_engine, course, tmp_path) -> None:
    base = ["--course", course, "--host", HOST, "--engine-url", docker_engine.url, "--swarm"]
    listed = CliRunner().invoke(cli, ["volumes", "ls", *base], catch_exceptions=False)
    assert listed.exit_code == 1 and listed.output.count("\n") == 1
    assert "is not a swarm manager" in listed.output
    made = CliRunner().invoke(cli, ["volumes", "create", "abc", *base], catch_exceptions=False)
    assert made.exit_code == 2 and "--swarm needs the shared storage" in made.output
    forced = CliRunner().invoke(
        cli, ["volumes", "rm", "abc", *base, "--force", "--shared-root", str(tmp_path)], catch_exceptions=False
    )
    assert forced.exit_code == 2 and "--force cannot be used with --swarm" in forced.output
    assert docker_engine.client().volumes.list(filters={"name": course}) == []
