"""The console scripts of pyproject.toml (``[project.scripts]``): each binds click's messages, then runs its command.

Click translates its own messages (``Usage:``, ``Error: No such option ...``) through the
process's gettext domain, and ``click.version_option`` does so when a command is defined, at
import: so the language is bound here, before the command's module is imported
(:func:`ipynb_tools.i18n.bind_click_catalogue`). Only these functions do it: code that imports
the commands (tests, the ``ipynb-tools`` group, other programs) leaves the process's gettext
domain as it was.

They also make standard output print what it cannot encode as escapes (:func:`start`): a file
name whose bytes are not UTF-8 must not stop a command half-way.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from ..i18n import bind_click_catalogue


def start() -> None:
    """What every console script does first: bind click's catalogue, and make stdout never fail on a name.

    A file name whose bytes are not UTF-8 reaches Python as lone surrogates (PEP 383). Under a
    real UTF-8 locale (``LANG=en_US.UTF-8`` in most Jupyter images, ``ja_JP.UTF-8``) Python writes
    stdout with ``errors="strict"``, so ``copied: x\\udcfe.csv`` raised UnicodeEncodeError in the
    middle of a deploy or sync; it is printed escaped instead, as stderr already does
    (``backslashreplace``). Under ``C``/UTF-8 mode (``surrogateescape``) the bytes are written as
    they are.
    """
    bind_click_catalogue()
    stdout = sys.stdout
    if getattr(stdout, "errors", None) == "strict" and hasattr(stdout, "reconfigure"):
        stdout.reconfigure(errors="backslashreplace")


def ipynb_submit() -> Any:
    """``ipynb_submit``: :data:`ipynb_tools.cli.submit.main` in the process's language.

    The garbage collector is off from the first import: the process is one short submission
    (:class:`ipynb_tools.cli.submit.OneShotCommand` keeps it off and freezes what is left at
    exit); the imports alone made some 25 needless collections.
    """
    gc.disable()
    start()
    from .submit import main

    return main()


def ipynb_deploy() -> Any:
    """``ipynb_deploy``: :data:`ipynb_tools.cli.deploy.main` in the process's language."""
    start()
    from .deploy import main

    return main()


def ipynb_tools() -> Any:
    """``ipynb-tools``: the umbrella group (:func:`ipynb_tools.cli.main.main`) in the process's language."""
    start()
    from .main import main

    return main()
