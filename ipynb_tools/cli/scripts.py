"""The console scripts of pyproject.toml (``[project.scripts]``): each binds click's messages, then runs its command.

Click translates its own messages (``Usage:``, ``Error: No such option ...``) through the
process's gettext domain, and ``click.version_option`` does so when a command is defined, at
import: so the language is bound here, before the command's module is imported
(:func:`ipynb_tools.i18n.bind_click_catalogue`). Only these functions do it: code that imports
the commands (tests, the ``ipynb-tools`` group, other programs) leaves the process's gettext
domain as it was.
"""

from __future__ import annotations

from typing import Any

from ..i18n import bind_click_catalogue


def ipynb_submit() -> Any:
    """``ipynb_submit``: :data:`ipynb_tools.cli.submit.main` in the process's language."""
    bind_click_catalogue()
    from .submit import main

    return main()


def ipynb_deploy() -> Any:
    """``ipynb_deploy``: :data:`ipynb_tools.cli.deploy.main` in the process's language."""
    bind_click_catalogue()
    from .deploy import main

    return main()


def ipynb_tools() -> Any:
    """``ipynb-tools``: the umbrella group (:func:`ipynb_tools.cli.main.main`) in the process's language."""
    bind_click_catalogue()
    from .main import main

    return main()
