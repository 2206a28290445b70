"""Grading and learning analytics: extract, scores, submission analysis, execution logs, report.

The names below are imported on first use, so ``import ipynb_tools.grading``
stays cheap (pandas, nbconvert and matplotlib load only when the work needs them).
The extract function lives in its module: ``from ipynb_tools.grading.extract import extract``
(``ipynb_tools.grading.extract`` is the module, so it cannot also be the function).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "extract_notebook": ".extract",
    "scores_table": ".scores",
    "write_scores": ".scores",
    "analyze_submissions": ".analysis",
    "Analysis": ".analysis",
    "read_logs": ".logs",
    "load_logs": ".logs",
    "write_report": ".report",
    "build_report": ".report",
    "sample_log": ".samplelog",
    "write_sample_log": ".samplelog",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
