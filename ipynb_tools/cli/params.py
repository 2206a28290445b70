"""``ipynb-tools params``: check, show, format and edit LTI custom parameters (``lms_*``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..i18n import _
from .errors import report_errors

if TYPE_CHECKING:
    from ..params.findings import Finding
    from ..params.storage import StorageLimit

F = TypeVar("F", bound=Callable[..., Any])
#: (--column-size, --automatic, --no-automatic) as the edit commands pass them on.
LengthArgs = tuple[str | None, tuple[str, ...], bool]


def _read(file: str) -> tuple[str, str]:
    """(text, source name) of FILE or stdin."""
    from ..params.text import decode_params, read_params_text

    if file == "-":
        return decode_params(sys.stdin.buffer.read(), "<stdin>"), "<stdin>"
    return read_params_text(file), file


def _time(value: str | None) -> float | None:
    from ..params.values import read_time

    return None if value is None else float(read_time(value))


def _kind(value: str) -> str:
    from ..volumes.naming import VolumeKind, VolumeNameError

    try:
        return VolumeKind.parse(value)
    except VolumeNameError:
        raise click.BadParameter(f"{value!r} is not one of vol/task, sub/submit, prs/personal") from None


def _print_findings(findings: list[Finding], source: str) -> None:
    colours = {"error": "red", "warning": "yellow", "info": None}
    for finding in findings:
        click.secho(finding.format(source, _), fg=colours[finding.severity], err=True)


def _length_options(func: F) -> F:
    """--column-size, --automatic, --no-automatic: how the stored length is counted (docs/params.md)."""
    func = click.option(
        "--no-automatic",
        is_flag=True,
        help="Count no automatic keys the text does not hold (a site whose LMS writes none).",
    )(func)
    func = click.option(
        "--automatic",
        "automatic",
        multiple=True,
        metavar="KEY[=VALUE]",
        help="The value the LMS will write for an automatic key (lms_course=..., lms_iframe=1); "
        "KEY alone: the LMS does not write it. Repeat.",
    )(func)
    func = click.option(
        "--column-size",
        metavar="N|text",
        help="Characters the LMS column holds, or 'text' for Moodle 3.11 and later (no limit) "
        "(default: $IPYNB_TOOLS_PARAMS_COLUMN_SIZE, else the 255 of older Moodle).",
    )(func)
    return func


def _storage(column_size: str | None, automatic: tuple[str, ...], no_automatic: bool) -> StorageLimit:
    """The StorageLimit these options describe."""
    from ..params.storage import StorageLimit, site_column_size

    given: dict[str, str | None] = {}
    for item in automatic:
        key, sep, value = item.partition("=")
        given[key.strip().lower()] = value.strip() if sep else None
    return StorageLimit(site_column_size(column_size), automatic=given, typical=not no_automatic)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def params() -> None:
    """Check, show, format and edit LTI custom parameters (lms_* keys).

    FILE is a text file of key=value lines, as in Moodle's custom parameter
    box; '-' reads standard input. Editing commands change FILE in place,
    atomically, and keep every other line as it was.
    """


@params.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON array.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option(
    "--now", "now", metavar="TIME", help="Judge closing times at TIME (unix time or ISO date) instead of now."
)
@_length_options
@report_errors
def check(
    file: str,
    as_json: bool,
    strict: bool,
    now: str | None,
    column_size: str | None,
    automatic: tuple[str, ...],
    no_automatic: bool,
) -> None:
    """Print what is wrong or surprising in FILE; exit 1 when there is an error.

    The last finding is the length Moodle stores (CRLF line ends and the automatic keys included)
    against its 255-character column: an error when over, a warning when close.
    """
    from ..params.validate import validate

    storage = _storage(column_size, automatic, no_automatic)
    text, source = _read(file)
    findings = validate(text, now=_time(now), source_name=source, storage=storage)
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            click.echo(finding.format(source, _))  # the message in the language of LANG (docs/languages.md)
        counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
        click.echo(
            f"{source}: {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)", err=True
        )
    bad = {"error", "warning"} if strict else {"error"}
    if any(f.severity in bad for f in findings):
        sys.exit(1)


@params.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the model as JSON.")
@_length_options
@report_errors
def show(file: str, as_json: bool, column_size: str | None, automatic: tuple[str, ...], no_automatic: bool) -> None:
    """Print a readable summary of FILE and its stored length; exit 1 when Moodle cannot store it."""
    from ..params.summary import describe
    from ..params.text import parse

    storage = _storage(column_size, automatic, no_automatic)
    text, source = _read(file)
    model = parse(text, source)
    length = storage.check(text)
    if as_json:
        data = model.to_dict()
        data["stored_length"] = storage.measure(text).to_dict(storage.column_size)
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(describe(model))
        click.echo(storage.describe(text))
    _print_findings([f for f in length if f.severity != "info"], source)
    if any(f.severity == "error" for f in length):
        sys.exit(1)


@params.command()
@click.argument("file")
@click.option("--user", "-u", required=True, help="The Moodle user name.")
@click.option(
    "--teacher/--student", default=None, help="The user's role (default: teacher when listed in lms_teachers)."
)
@click.option("--at", "at", metavar="TIME", help="Judge closing times at TIME (unix time or ISO date); default now.")
@click.option("--course", help="Course id (LTI context_id), to show full volume names.")
@click.option("--host", help="LMS host name, to show full volume names.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of mounts.")
@report_errors
def mounts(
    file: str, user: str, teacher: bool | None, at: str | None, course: str | None, host: str | None, as_json: bool
) -> None:
    """Print the volumes USER mounts, the links made and whether submitting is closed."""
    from ..errors import UsageError
    from ..params.rules import is_teacher
    from ..params.rules import mounts as volume_mounts
    from ..params.validate import params_for_launch

    if (course is None) != (host is None):
        raise UsageError("give both --course and --host (full names need both) or neither")
    text, source = _read(file)
    model = params_for_launch(text, source, now=_time(at))
    role = is_teacher(model, user) if teacher is None else teacher
    result = volume_mounts(model, user, teacher=role, at=_time(at), course=course, host=host)
    if as_json:
        click.echo(json.dumps([m.to_dict() for m in result], ensure_ascii=False, indent=2))
        return
    click.echo(f"{user} ({'teacher' if role else 'student'}): {len(result)} volume(s)")
    for m in result:
        state = " [closed: not mounted for students]" if m.withheld else " [closed]" if m.closed else ""
        click.echo(
            f"  {m.kind} {m.name}: link {m.link if m.link is not None else '(none)'}"
            f"{' -> ' + m.full_name if m.full_name else ''}{state}"
        )


@params.command("format")
@click.argument("file")
@click.option("--lf", is_flag=True, help="End lines with LF instead of the canonical CRLF.")
@click.option("--in-place", "-i", is_flag=True, help="Rewrite FILE in canonical form (atomically).")
@click.option(
    "--compact",
    is_flag=True,
    help="The shortest text with the same meaning (no defaults, no empty optional keys, no final line end).",
)
@_length_options
@report_errors
def format_command(
    file: str,
    lf: bool,
    in_place: bool,
    compact: bool,
    column_size: str | None,
    automatic: tuple[str, ...],
    no_automatic: bool,
) -> None:
    """Print the canonical text of FILE (the old module's order, CRLF line ends).

    Exit 1 (the text is still printed) when the result does not fit the LMS column; with
    --in-place a result that does not fit and is not shorter than FILE is refused, as edits are.
    """
    from ..atomic import atomic_write_text
    from ..errors import UsageError
    from ..params.compact import compact_text
    from ..params.text import format_params, parse

    storage = _storage(column_size, automatic, no_automatic)
    if in_place and file == "-":
        raise UsageError("--in-place needs a FILE, not '-'")
    text, source = _read(file)
    model = parse(text, source)
    out = compact_text(model) if compact else format_params(model)
    length = storage.check_change(text, out, source) if in_place else storage.check(out)
    if lf:
        out = out.replace("\r\n", "\n")
    if in_place:
        atomic_write_text(file, out)
    else:
        sys.stdout.buffer.write(out.encode("utf-8"))
        sys.stdout.flush()
    _print_findings([f for f in length if f.severity != "info"], source)
    if any(f.severity == "error" for f in length):
        sys.exit(1)


def _edited(file: str, edit: Callable[..., Any], *args: Any, length: LengthArgs, **kwargs: Any) -> None:
    """Run an edit on FILE with the length check; exit 1 when the result still does not fit."""
    from ..params.edit import edit_params_file

    findings = edit_params_file(file, edit, *args, storage=_storage(*length), **kwargs)
    _print_findings([f for f in findings if f.severity != "info" or f.key != "instructorcustomparameters"], file)
    if any(f.severity == "error" for f in findings):
        sys.exit(1)


@params.command("set")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("key")
@click.argument("value")
@_length_options
@report_errors
def set_command(file: str, key: str, value: str, **length: Any) -> None:
    """Set KEY to VALUE in FILE (an empty access name removes a volume)."""
    from ..params.edit import set_param

    _edited(file, set_param, key, value, length=_length_args(length))


@params.command("unset")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("key")
@_length_options
@report_errors
def unset_command(file: str, key: str, **length: Any) -> None:
    """Remove every KEY line from FILE."""
    from ..params.edit import unset_param

    _edited(file, unset_param, key, length=_length_args(length))


@params.command("add-volume")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("kind", callback=lambda ctx, param, value: _kind(value))
@click.argument("name")
@click.argument("access")
@click.option("--user", "-u", "users", multiple=True, help="A user allowed to mount it (repeat; commas also work).")
@_length_options
@report_errors
def add_volume_command(file: str, kind: str, name: str, access: str, users: tuple[str, ...], **length: Any) -> None:
    """Add lms_KIND_NAME=ACCESS[:users] to FILE (KIND: vol/task, sub/submit, prs/personal)."""
    from ..params.edit import add_volume
    from ..params.model import split_users

    listed = [u for item in users for u in split_users(item)]
    _edited(file, add_volume, kind, name, access, listed or None, length=_length_args(length))


@params.command("remove-volume")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("kind", callback=lambda ctx, param, value: _kind(value))
@click.argument("name")
@click.option("--keep-close", is_flag=True, help="Keep lms_sub_NAME_close of a submit volume.")
@_length_options
@report_errors
def remove_volume_command(file: str, kind: str, name: str, keep_close: bool, **length: Any) -> None:
    """Remove lms_KIND_NAME (and a submit volume's closing time) from FILE."""
    from ..params.edit import remove_volume

    _edited(file, remove_volume, kind, name, keep_close=keep_close, length=_length_args(length))


def _length_args(options: dict[str, Any]) -> LengthArgs:
    return options["column_size"], options["automatic"], options["no_automatic"]
