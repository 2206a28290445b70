"""Parameters from an LTI launch: LTI 1.1 form fields or the LTI 1.3 custom claim.

Moodle sends each custom parameter ``key=value`` as the form field
``custom_<mapped key>`` (LTI 1.1) or as ``<mapped key>: value`` in the id
token's custom claim (LTI 1.3). The mapping (Moodle's ``lti_map_keyname``)
lowercases the key and turns every byte that is not ``a-z0-9`` into ``_``
(so a multi-byte character becomes several ``_``). Values go through the same
parser as the text, so the same sanitising and the same model result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .findings import Finding
from .model import Params, ParamsError
from .text import _parse_lines, parse_with_findings

LTI11_PREFIX = "custom_"
LTI13_CUSTOM_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/custom"


def moodle_key(key: str) -> str:
    """Moodle's key mapping: lowercase; every byte outside ``a-z0-9`` becomes ``_``."""
    return "".join(
        chr(byte) if (0x61 <= byte <= 0x7A or 0x30 <= byte <= 0x39) else "_"
        for byte in key.strip().lower().encode("utf-8")
    )


def _one(value: Any) -> str:
    """A form value: str, bytes, or a list of them (the last wins, as in PHP)."""
    if isinstance(value, (list, tuple)):
        if not value:
            return ""
        value = value[-1]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    return str(value)


def _lines(pairs: Iterable[tuple[str, Any]]) -> list[tuple[int, str]]:
    numbered = []
    for index, (key, value) in enumerate(pairs, 1):
        text = _one(value).replace("\r", " ").replace("\n", " ")
        numbered.append((index, f"{moodle_key(key)}={text}"))
    return numbered


def lti11_with_findings(form: Mapping[str, Any]) -> tuple[Params, list[Finding]]:
    """:func:`from_lti11` with the parse findings (line numbers count the custom fields)."""
    if not isinstance(form, Mapping):
        raise ParamsError(f"LTI 1.1 launch must be a mapping of form fields, not {type(form).__name__}")
    pairs = [
        (key[len(LTI11_PREFIX) :], value)
        for key, value in form.items()
        if isinstance(key, str) and key.startswith(LTI11_PREFIX)
    ]
    return _parse_lines(_lines(pairs))


def from_lti11(form: Mapping[str, Any]) -> Params:
    """Parameters from LTI 1.1 launch form fields (``custom_lms_users`` ...); other fields are ignored."""
    return lti11_with_findings(form)[0]


def lti13_with_findings(claims: Mapping[str, Any]) -> tuple[Params, list[Finding]]:
    """:func:`from_lti13` with the parse findings."""
    if not isinstance(claims, Mapping):
        raise ParamsError(f"LTI 1.3 id token claims must be a mapping, not {type(claims).__name__}")
    custom = claims.get(LTI13_CUSTOM_CLAIM)
    if custom is None:
        return parse_with_findings("")
    if not isinstance(custom, Mapping):
        raise ParamsError(f"LTI 1.3 claim {LTI13_CUSTOM_CLAIM} must be an object, not {type(custom).__name__}")
    return _parse_lines(_lines((str(key), value) for key, value in custom.items()))


def from_lti13(claims: Mapping[str, Any]) -> Params:
    """Parameters from an LTI 1.3 id token's custom claim (a dict key -> value)."""
    return lti13_with_findings(claims)[0]
