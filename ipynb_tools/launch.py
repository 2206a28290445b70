"""What an LTI launch says: the custom parameters, the roles and the context (SPEC 4, 6).

Pure (no JupyterHub import); the spawner (:mod:`ipynb_tools.hub.spawner`) and the
``params`` tools call it.

Custom parameters: Moodle sends each custom parameter ``key=value`` as the form field
``custom_<mapped key>`` (LTI 1.1) or as ``<mapped key>: value`` in the id
token's custom claim (LTI 1.3). The mapping (Moodle's ``lti_map_keyname``)
lowercases the key and turns every byte that is not ``a-z0-9`` into ``_``
(so a multi-byte character becomes several ``_``). Values go through the same
parser as the text, so the same sanitising and the same model result
(:func:`from_lti11`, :func:`from_lti13`).

The whole launch, from jupyterhub-ltiauthenticator's ``auth_state``
(:func:`read_launch`). jupyterhub-ltiauthenticator 1.6 stores:

- LTI 1.1 (``LTI11Authenticator``): every launch form field except ``oauth_*``, values as
  strings: ``custom_lms_*`` (the custom parameters, key mapped by Moodle), ``roles``
  (comma-separated, e.g. ``Instructor,urn:lti:instrole:ims/lis/Administrator``), ``context_id``,
  ``resource_link_id``, ``tool_consumer_instance_guid`` (Moodle: its host name),
  ``launch_presentation_return_url``...
- LTI 1.3 (``LTI13Authenticator``): the decoded id token: the custom claim (a dict), the roles
  claim (a list of URIs), the context claim (``id``), the resource link claim (``id``), the
  tool platform claim (``guid``), ``iss``.

:func:`read_launch` turns either into a :class:`Launch`; :func:`refusal` says why it cannot
start a container, in words a student or teacher can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from .errors import IpynbToolsError
from .params.findings import Finding
from .params.model import Params, ParamsError
from .params.rules import is_teacher
from .params.text import _parse_lines, parse_with_findings
from .params.validate import check_model, launch_errors

LTI11_PREFIX = "custom_"
#: The prefix of every LTI 1.3 claim.
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LTI13_CUSTOM_CLAIM = CLAIM + "custom"
LTI13_ROLES_CLAIM = CLAIM + "roles"
LTI13_CONTEXT_CLAIM = CLAIM + "context"
LTI13_RESOURCE_LINK_CLAIM = CLAIM + "resource_link"
LTI13_PLATFORM_CLAIM = CLAIM + "tool_platform"
#: Moodle's LTI 1.3 claim of extension fields (``user_username``...; a patched Moodle adds ``user_userid``...).
LTI13_EXT_CLAIM = CLAIM + "ext"


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


# -- the whole launch (auth_state) ---------------------------------------------------------------

#: LTI roles that make a teacher when the site chooses the LTI-role rule (the last part of the role
#: URI, case-insensitive); by default only ``lms_teachers`` decides (the old system's rule).
DEFAULT_TEACHER_ROLES = ("Instructor", "Administrator")


class LaunchError(IpynbToolsError):
    """A launch that cannot start a container; the message is shown to the user."""


@dataclass(frozen=True)
class LmsUser:
    """Who launched, as the LMS says it: the inputs of the identity rule (:mod:`ipynb_tools.identity`).

    ``user_id``: the LTI ``user_id`` (LTI 1.3: ``sub``), Moodle's numeric user id.
    ``ext_uid``, ``ext_gid``, ``ext_group``: the extension fields ``ext_user_userid``,
    ``ext_user_groupid``, ``ext_user_groupname`` a patched Moodle sends (SPEC 12; LTI 1.3: the
    ext claim's ``user_userid``, ``user_groupid``, ``user_groupname``). None when absent or empty.
    """

    user_id: str | None = None
    ext_uid: str | None = None
    ext_gid: str | None = None
    ext_group: str | None = None


@dataclass
class Launch:
    """The parts of a launch the container spec needs."""

    version: str  # "1.1" or "1.3"
    params: Params
    findings: list[Finding]
    roles: list[str]
    course: str | None
    lti_id: str | None
    host: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    lms_user: LmsUser = field(default_factory=LmsUser)

    @property
    def errors(self) -> list[Finding]:
        """The findings that refuse this launch (the rule of ``container-spec`` too)."""
        return launch_errors(self.findings)


def is_lti13(auth_state: Mapping[str, Any]) -> bool:
    """An LTI 1.3 id token (it has claims), not LTI 1.1 form fields."""
    return any(isinstance(k, str) and k.startswith(CLAIM) for k in auth_state) or "iss" in auth_state


def _text(value: Any) -> str | None:
    """A launch value (see :func:`_one`) stripped, or None when empty; a bool reads ``True``/``False``."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if isinstance(value, bool):
        value = str(value)
    return _one(value).strip() or None


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    parsed = urlparse(url if "//" in url else f"//{url}")
    return parsed.hostname or None


def lti_roles(auth_state: Mapping[str, Any]) -> list[str]:
    """The launch's LTI roles as given (URIs or short names)."""
    if is_lti13(auth_state):
        value = auth_state.get(LTI13_ROLES_CLAIM) or []
        return [str(r) for r in value] if isinstance(value, (list, tuple)) else [str(value)]
    text = _text(auth_state.get("roles")) or ""
    return [r.strip() for r in text.split(",") if r.strip()]


def role_name(role: str) -> str:
    """``urn:lti:role:ims/lis/Instructor`` or ``http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor``
    -> ``Instructor``; sub-roles (``.../Instructor/TeachingAssistant``) keep their last part."""
    return role.replace("#", "/").rstrip("/").rsplit("/", 1)[-1]


def matching_role(roles: Iterable[str], wanted: Iterable[str]) -> str | None:
    """The short name of the first of ``roles`` that is one of ``wanted`` (short names,
    case-insensitive), or None."""
    names = {w.lower() for w in wanted}
    return next((role_name(r) for r in roles if role_name(r).lower() in names), None)


def read_launch(
    auth_state: Mapping[str, Any] | None, *, lms_host: str | None = None, now: float | None = None
) -> Launch:
    """Read the custom parameters and the launch context from ``auth_state``.

    The LMS host is ``lms_host`` (site configuration) when given, else the host of
    ``lms_serverurl``, else the launch's platform id (LTI 1.1
    ``tool_consumer_instance_guid``, LTI 1.3 tool platform ``guid``), else the
    host of the return URL / issuer. Parameter findings include the parse
    findings and :func:`~ipynb_tools.params.validate.check_model`'s.
    """
    if not auth_state:
        raise LaunchError(
            "no LTI launch data for this user: log in again from the course page in Moodle "
            "(the hub needs c.Authenticator.enable_auth_state = True and JUPYTERHUB_CRYPT_KEY)"
        )
    if not isinstance(auth_state, Mapping):
        raise LaunchError(f"LTI launch data is a {type(auth_state).__name__}, not a mapping")
    if is_lti13(auth_state):
        params, findings = lti13_with_findings(auth_state)
        context = auth_state.get(LTI13_CONTEXT_CLAIM) or {}
        link = auth_state.get(LTI13_RESOURCE_LINK_CLAIM) or {}
        platform = auth_state.get(LTI13_PLATFORM_CLAIM) or {}
        course = _text(context.get("id")) if isinstance(context, Mapping) else None
        link_id = _text(link.get("id")) if isinstance(link, Mapping) else None
        guid = _text(platform.get("guid")) if isinstance(platform, Mapping) else None
        fallback_host = _host_of(_text(auth_state.get("iss")))
        ext = auth_state.get(LTI13_EXT_CLAIM)
        ext = ext if isinstance(ext, Mapping) else {}
        lms_user = LmsUser(
            _text(auth_state.get("sub")),
            _text(ext.get("user_userid")),
            _text(ext.get("user_groupid")),
            _text(ext.get("user_groupname")),
        )
        version = "1.3"
    else:
        params, findings = lti11_with_findings(auth_state)
        course = _text(auth_state.get("context_id"))
        link_id = _text(auth_state.get("resource_link_id"))
        guid = _text(auth_state.get("tool_consumer_instance_guid"))
        fallback_host = _host_of(_text(auth_state.get("launch_presentation_return_url"))) or _host_of(
            _text(auth_state.get("lis_outcome_service_url"))
        )
        lms_user = LmsUser(
            _text(auth_state.get("user_id")),
            _text(auth_state.get("ext_user_userid")),
            _text(auth_state.get("ext_user_groupid")),
            _text(auth_state.get("ext_user_groupname")),
        )
        version = "1.1"
    findings = list(findings) + check_model(params, now=now)
    ids = params.session_ids
    lti_id = ids[1] if ids else link_id
    host = lms_host or _host_of(params.serverurl) or _host_of(guid) or fallback_host
    return Launch(version, params, findings, lti_roles(auth_state), course, lti_id, host, lms_user=lms_user)


def teacher_rule(
    launch: Launch, user: str, *, by_lti_role: bool = False, teacher_roles: Iterable[str] = DEFAULT_TEACHER_ROLES
) -> str | None:
    """Why ``user`` (the hub's user name) is a teacher at this launch (one phrase), or None for a student.

    The one home of the teacher rule (SPEC 12; issue 16 item 5), used by the spawner and the console:
    ``listed in lms_teachers`` (the old system's rule, always on); ``LTI role <role>
    (teachers_by_lti_role)`` only when the site turned ``by_lti_role`` on and one of the launch's
    roles is in ``teacher_roles`` (last part of the role URI, case-insensitive).
    """
    if is_teacher(launch.params, user):
        return "listed in lms_teachers"
    role = matching_role(launch.roles, teacher_roles) if by_lti_role else None
    return f"LTI role {role} (teachers_by_lti_role)" if role else None


def refusal(launch: Launch) -> str | None:
    """Why this launch cannot start a container (one paragraph), or None when it can."""
    problems = [f.message for f in launch.errors]
    if not launch.course:
        problems.append("the launch has no course id (LTI context_id)")
    if not launch.lti_id:
        problems.append("the launch has no activity id (lms_sessioninfo or LTI resource_link_id)")
    if not launch.host:
        problems.append("the LMS host is unknown (set LTIContainerSpawner.lms_host)")
    if not problems:
        return None
    return (
        "This activity's settings cannot start a Jupyter container; ask the teacher to fix the "
        "custom parameters in Moodle: " + "; ".join(problems)
    )
