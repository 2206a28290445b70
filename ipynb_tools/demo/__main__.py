"""``python -m ipynb_tools.demo [DIR]``: run the demo course (default ./demo-course)."""

from __future__ import annotations

import sys

from ..errors import IpynbToolsError
from . import run_demo


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = args[0] if args else "demo-course"
    try:
        result = run_demo(root)
    except IpynbToolsError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 1
    print(f"\nDone. Open {result.report} in a browser; the grading notebook is {result.grading_notebook}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
