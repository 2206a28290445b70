"""What an LTI launch says, from jupyterhub-ltiauthenticator's ``auth_state`` (no JupyterHub import).

jupyterhub-ltiauthenticator 1.6 stores:

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

from ..errors import IpynbToolsError
from ..params.findings import Finding
from ..params.launch import LTI13_CUSTOM_CLAIM, lti11_with_findings, lti13_with_findings  # noqa: F401 (re-exported)
from ..params.model import Params
from ..params.validate import check_model, launch_errors

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LTI13_ROLES_CLAIM = CLAIM + "roles"
LTI13_CONTEXT_CLAIM = CLAIM + "context"
LTI13_RESOURCE_LINK_CLAIM = CLAIM + "resource_link"
LTI13_PLATFORM_CLAIM = CLAIM + "tool_platform"
#: LTI roles that make a teacher by default (the last part of the role URI, case-insensitive).
DEFAULT_TEACHER_ROLES = ("Instructor", "Administrator")


class LaunchError(IpynbToolsError):
    """A launch that cannot start a container; the message is shown to the user."""


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

    @property
    def errors(self) -> list[Finding]:
        """The findings that refuse this launch (the rule of ``container-spec`` too)."""
        return launch_errors(self.findings)


def is_lti13(auth_state: Mapping[str, Any]) -> bool:
    """An LTI 1.3 id token (it has claims), not LTI 1.1 form fields."""
    return any(isinstance(k, str) and k.startswith(CLAIM) for k in auth_state) or "iss" in auth_state


def _text(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if value is None:
        return None
    text = str(value).strip()
    return text or None


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


def has_role(roles: Iterable[str], wanted: Iterable[str]) -> bool:
    """True when one of ``roles`` is one of ``wanted`` (short names, case-insensitive)."""
    names = {w.lower() for w in wanted}
    return any(role_name(r).lower() in names for r in roles)


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
        version = "1.3"
    else:
        params, findings = lti11_with_findings(auth_state)
        course = _text(auth_state.get("context_id"))
        link_id = _text(auth_state.get("resource_link_id"))
        guid = _text(auth_state.get("tool_consumer_instance_guid"))
        fallback_host = _host_of(_text(auth_state.get("launch_presentation_return_url"))) or _host_of(
            _text(auth_state.get("lis_outcome_service_url"))
        )
        version = "1.1"
    findings = list(findings) + check_model(params, now=now)
    ids = params.session_ids
    lti_id = ids[1] if ids else link_id
    host = lms_host or _host_of(params.serverurl) or _host_of(guid) or fallback_host
    return Launch(version, params, findings, lti_roles(auth_state), course, lti_id, host)


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
