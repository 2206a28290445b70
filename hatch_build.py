"""Hatchling build hook: compile the message catalogues (.po -> .mo) into every wheel.

Runs for ``pip install .``, ``pip install -e .`` (editable: the .mo files are written next to their
.po in the source tree, where the editable install reads them) and ``python -m build``. The .mo
files are generated, never committed (.gitignore); Babel is a build requirement of this hook only
(``[tool.hatch.build.hooks.custom] dependencies``), the package reads the .mo with the standard
library's gettext at run time (ipynb_tools/i18n.py).

Also runnable by hand after editing a .po (``make messages`` does it): ``python hatch_build.py``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

LOCALE = Path("ipynb_tools") / "locale"


def compile_catalogues(root: Path) -> list[Path]:
    """Compile each ``<root>/ipynb_tools/locale/*/LC_MESSAGES/*.po`` to its ``.mo``; fuzzy entries left out.

    A .mo is rewritten only when its bytes change. Returns the .mo paths. Raises Babel's
    ``PoFileError`` on a malformed catalogue (the build fails, naming the file).
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written: list[Path] = []
    for po_path in sorted((root / LOCALE).glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as po:
            catalog = read_po(po, locale=po_path.parent.parent.name, domain=po_path.stem, abort_invalid=True)
        buf = io.BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        mo_path = po_path.with_suffix(".mo")
        data = buf.getvalue()
        if not mo_path.exists() or mo_path.read_bytes() != data:
            tmp = mo_path.with_suffix(".mo.tmp")
            tmp.write_bytes(data)
            tmp.replace(mo_path)
        written.append(mo_path)
    return written


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run by hand (python hatch_build.py) without hatchling installed
    BuildHookInterface = object  # type: ignore[assignment,misc]


class CatalogueBuildHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    """Compile the catalogues before a wheel (or editable wheel) is built."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":  # the sdist carries the .po sources only
            return
        root = Path(self.root)
        compiled = compile_catalogues(root)
        if version == "editable":  # the package is read from the source tree, where the .mo files now are
            return
        for mo_path in compiled:
            # .mo files are ignored by git, and so by hatchling's file selection: include them by name
            build_data["force_include"][str(mo_path)] = mo_path.relative_to(root).as_posix()


if __name__ == "__main__":
    for path in compile_catalogues(Path(__file__).resolve().parent):
        print(path)
    sys.exit(0)
