"""A validation finding: severity, line, key, message."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Finding:
    """One thing worth telling about a parameter set.

    ``error``: the parameters will not do what they say (or cannot be read);
    ``warning``: probably a mistake; ``info``: how the text was understood.
    ``line`` is 1-based (None when the finding is about the set as a whole).
    """

    severity: str
    line: int | None
    key: str | None
    message: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")

    def format(self, source: str = "<params>") -> str:
        """``<source>:<line>: <severity>: <message>``."""
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"severity": self.severity, "line": self.line, "key": self.key, "message": self.message}


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an error."""
    return any(f.severity == ERROR for f in findings)
