"""``ipynb-tools``: the umbrella command; sub-commands are loaded only when used."""

from __future__ import annotations

import importlib
from typing import Any

import click

from .. import __version__
from ..i18n import click_message

#: name -> (module:attribute of the click command, one-line help shown in the list).
COMMANDS: dict[str, tuple[str, str]] = {
    "deploy": ("ipynb_tools.cli.deploy:main", "Number code cells (teacher): same as ipynb_deploy."),
    "submit": ("ipynb_tools.cli.submit:main", "Hand in a notebook (student): same as ipynb_submit."),
    "params": ("ipynb_tools.cli.params:params", "Check, show, edit LTI custom parameters (lms_*)."),
    "volumes": ("ipynb_tools.cli.volumes:volumes", "Create, list, inspect, remove a course's volumes."),
    "moodle": ("ipynb_tools.cli.moodle:moodle", "List a course's LTI activities; edit their parameters in Moodle."),
    "setup": ("ipynb_tools.cli.setup:main", "Container start (root): links, modes, umask, sync."),
    "sync": ("ipynb_tools.cli.sync:main", "Copy a task volume into a personal directory, losing nothing."),
    "container-spec": ("ipynb_tools.cli.spec:main", "Build the container specification for a launch."),
    "extract": ("ipynb_tools.cli.extract:main", "Build a grading notebook from chosen numbered cells."),
    "tocsv": ("ipynb_tools.cli.tocsv:main", "Turn grading notebooks' scores into a CSV table."),
    "analyze": ("ipynb_tools.cli.analyze:main", "Analyse submissions cell by cell (pandas)."),
    "report": ("ipynb_tools.cli.report:main", "Write the HTML report: charts, summaries, renderings."),
    "logs": ("ipynb_tools.cli.logs:logs", "Execution logs: collector service, import, stats, prune."),
    "console": ("ipynb_tools.cli.console:main", "The course console: a JupyterHub service for teachers and students."),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use, not at start-up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target = COMMANDS[cmd_name][0]
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # the command is planned but not built yet
            raise
        command: click.Command = getattr(module, attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section(click_message("Commands")):  # click's own heading, in click's catalogue
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ipynb-tools")
def cli() -> None:
    """Run programming courses on Jupyter from an LMS."""


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="ipynb-tools")
