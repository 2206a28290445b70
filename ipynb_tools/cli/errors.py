"""The command-line edge: project errors become one line on stderr and an exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

from ..errors import IpynbToolsError
from ..i18n import _

P = ParamSpec("P")
R = TypeVar("R")


def report_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap a click command body: an :class:`IpynbToolsError` exits with its one-line message."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except IpynbToolsError as exc:
            prog = click.get_current_context(silent=True)
            name = prog.command_path if prog is not None else "ipynb-tools"
            click.echo(_("%(command)s: error: %(message)s") % {"command": name, "message": exc}, err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo(_("interrupted; files already written are complete, the rest are unchanged"), err=True)
            sys.exit(130)

    return wrapper
