"""A validation finding: severity, line, key, message.

The message is English (``message``: what ``params check`` prints, the JSON of ``--json`` and of the
console's live check, exceptions and logs) and translatable (``text``: an :class:`ipynb_tools.i18n.
Message`, an ``N_``-marked msgid of the ``ipynb_tools`` domain with its arguments), so each edge shows
it in its reader's language: :meth:`Finding.translated` with that language's ``gettext`` (the console:
the request's language; ``params check``: ``LANG``, docs/languages.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..i18n import Message

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
    #: The message to translate (None: ``message`` is shown as it is in every language).
    text: Message | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")

    @classmethod
    def of(cls, severity: str, line: int | None, key: str | None, msgid: str, /, **args: object) -> Finding:
        """A finding whose message is ``msgid`` (``N_``-marked, ``%(name)s`` fields) with ``args``: English
        in :attr:`message`, translatable in :attr:`text`."""
        text = Message(msgid, **args)
        return cls(severity, line, key, str(text), text)

    def translated(self, gettext: Callable[[str], str] | None) -> str:
        """The message in the language of ``gettext`` (:meth:`ipynb_tools.i18n.Message.render`); English
        with None or when the finding has no :attr:`text`."""
        return self.message if self.text is None or gettext is None else self.text.render(gettext)

    def format(self, source: str = "<params>", gettext: Callable[[str], str] | None = None) -> str:
        """``<source>:<line>: <severity>: <message>``, the message in the language of ``gettext`` (None:
        English); the severity word stays English (the line's form is what editors and scripts read)."""
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.severity}: {self.translated(gettext)}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"severity": self.severity, "line": self.line, "key": self.key, "message": self.message}


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an error."""
    return any(f.severity == ERROR for f in findings)
