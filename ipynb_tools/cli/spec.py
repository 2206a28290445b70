"""``ipynb-tools container-spec``: the container specification for one launch."""

from __future__ import annotations

import json

import click

from .errors import report_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--params", "params_file", required=True, metavar="FILE", help="Custom parameters (key=value lines).")
@click.option("--user", required=True, help="The LMS user name (becomes NB_USER).")
@click.option("--uid", required=True, type=click.IntRange(min=0), help="NB_UID.")
@click.option("--gid", required=True, type=click.IntRange(min=0), help="NB_GID.")
@click.option("--teacher/--student", default=None, help="Role (default: teacher when the user is in lms_teachers).")
@click.option("--course", required=True, help="Course id (LTI context_id).")
@click.option("--lti-id", required=True, help="LTI activity id.")
@click.option("--host", required=True, help="LMS host name.")
@click.option("--default-image", metavar="IMAGE", help="The site's image for lms_image absent or 'default'.")
@click.option("--thr-gid", type=int, default=None, help="Teachers' group id (default 7000).")
@click.option(
    "--home-root",
    metavar="DIR",
    default=None,
    help="Where homes are inside the container (home = DIR/USER, NB_HOME), like the spawner's home_root "
    "(default /home).",
)
@click.option("--group", default=None, help="The name of the group GID (NB_GROUP; default users).")
@click.option(
    "--home-by-group",
    is_flag=True,
    help="The old spawner's home layout: home = DIR/GROUP/USER (spawner's home_by_group).",
)
@click.option("--random", "random_part", metavar="TEXT", help="Fix the random part of the container name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {docker: kwargs for containers.run, ...}.")
@report_errors
def main(
    params_file: str,
    user: str,
    uid: int,
    gid: int,
    teacher: bool | None,
    course: str,
    lti_id: str,
    host: str,
    default_image: str | None,
    thr_gid: int | None,
    home_root: str | None,
    group: str | None,
    home_by_group: bool,
    random_part: str | None,
    as_json: bool,
) -> None:
    """Build the container specification for USER launching an LTI activity (SPEC 6)."""
    from ..environ import DEFAULT_GROUP, DEFAULT_HOME_ROOT, DEFAULT_THRGID
    from ..params.resources import describe_limit
    from ..params.text import read_params_text
    from ..params.validate import params_for_launch
    from ..spec import build_spec

    spec = build_spec(
        params_for_launch(read_params_text(params_file), params_file),
        user,
        uid=uid,
        gid=gid,
        teacher=teacher,
        course=course,
        lti_id=lti_id,
        host=host,
        default_image=default_image,
        teachers_gid=thr_gid if thr_gid is not None else DEFAULT_THRGID,
        home_root=home_root if home_root is not None else DEFAULT_HOME_ROOT,
        group=group if group is not None else DEFAULT_GROUP,
        home_by_group=home_by_group,
        random=random_part,
    )
    if as_json:
        click.echo(json.dumps(spec.to_dict(), ensure_ascii=False, indent=1, sort_keys=True))
        return
    click.echo(f"name:        {spec.name}")
    click.echo(f"image:       {spec.image}")
    click.echo(f"home:        {spec.home}")
    click.echo(f"default url: {spec.default_url}")
    click.echo(f"memory:      {describe_limit(spec.mem_limit)}")
    click.echo(f"cpus:        {describe_limit(None if spec.nano_cpus is None else spec.nano_cpus / 1e9)}")
    if spec.mem_reservation:
        click.echo(f"memory guarantee: {spec.mem_reservation}")
    if spec.cpu_shares:
        click.echo(f"cpu shares:  {spec.cpu_shares}")
    click.echo(f"actlimit:    {spec.actlimit if spec.actlimit is not None else 'none'}")
    for mount in spec.mounts:
        click.echo(f"mount:       {mount.volume} -> {mount.target}")
    for key, value in spec.environment.items():
        click.echo(f"env:         {key}={value}")
