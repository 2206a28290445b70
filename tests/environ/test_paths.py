"""One paths object: home, works, .volumes, the state directory, the umask file, the setup log."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ipynb_tools.cli.main import cli
from ipynb_tools.environ import StartEnvironment, UserPaths


def test_everything_derives_from_home_and_works() -> None:
    paths = UserPaths.for_user("alice", home_root="/srv/h")
    assert paths.home == Path("/srv/h/alice") and paths.works == Path("/srv/h/alice/jupyter/works")
    assert paths.volumes == paths.works / ".volumes" and paths.volume("v") == paths.works / ".volumes" / "v"
    assert paths.state == Path("/srv/h/alice/.ipynb-tools")
    assert paths.umask_file == paths.state / "umask" and paths.setup_log == paths.state / "setup.log"
    assert UserPaths.for_home("/x", works="/w") == UserPaths(Path("/x"), Path("/w"))


def test_from_the_users_environment_nb_home_wins_over_home() -> None:
    assert UserPaths.from_environ({"NB_HOME": "/srv/h/a", "HOME": "/"}).home == Path("/srv/h/a")
    assert UserPaths.from_environ({"HOME": "/home/a"}) == UserPaths.for_home("/home/a")
    assert UserPaths.from_environ({"HOME": "/home/a", "NB_WRKDIR": "/w"}).works == Path("/w")


def test_start_environment_home_is_nb_home_else_home_root_default() -> None:
    base = {"NB_USER": "bob", "NB_UID": "1000", "NB_GID": "100"}
    assert StartEnvironment.from_environ(base).paths == UserPaths.for_user("bob")
    env = StartEnvironment.from_environ({**base, "NB_HOME": "/srv/h/bob"})
    assert env.home == Path("/srv/h/bob") and env.works == Path("/srv/h/bob/jupyter/works")
    assert env.to_environ()["NB_HOME"] == "/srv/h/bob"


def test_container_spec_command_takes_the_home_root(tmp_path: Path) -> None:
    params = tmp_path / "p.txt"
    params.write_text("lms_users=*\nlms_image=i\nlms_sub_a=x\n")
    args = ["container-spec", "--params", str(params), "--user", "alice", "--uid", "1000", "--gid", "100"]
    args += ["--course", "98", "--lti-id", "7", "--host", "h", "--home-root", "/srv/h"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "home:        /srv/h/alice" in result.output
    assert "env:         NB_HOME=/srv/h/alice" in result.output
    assert "env:         NB_WRKDIR=/srv/h/alice/jupyter/works" in result.output
    assert "mount:       lms_sub_a_98_h -> /srv/h/alice/jupyter/works/.volumes/lms_sub_a_98_h" in result.output


def test_the_old_home_layout_puts_the_group_between_root_and_user() -> None:
    """SPEC 12: the old spawner's homes were /home/<group>/<user>; one rule for both layouts."""
    paths = UserPaths.for_user("alice", home_root="/home", group="g2024")
    assert paths.home == Path("/home/g2024/alice")
    assert paths.works == Path("/home/g2024/alice/jupyter/works")
    assert UserPaths.for_user("alice", home_root="/home").home == Path("/home/alice")
