"""Validation: what is wrong or surprising in a parameter set, with severity and line.

:func:`validate` takes the text (then it also reports what parsing noticed:
stripped characters, renamed NAMEs, unreadable values, unknown keys) or a
:class:`~ipynb_tools.params.model.Params` (then only the checks of the model).
"""

from __future__ import annotations

import time
from collections import Counter

from ..environ.closing import format_close_time
from ..i18n import N_, Message
from ..usernames import normalize_user_name, same_user, user_name_problem_message, widened_form
from ..volumes.naming import VolumeKind
from .findings import ERROR, INFO, WARNING, Finding, has_errors
from .model import (
    KEY_CPULIMIT,
    KEY_DEFURL,
    KEY_MEMLIMIT,
    KEY_SESSIONINFO,
    KEY_TEACHERS,
    KEY_USERS,
    MIN_ENGINE_MEMORY,
    MIN_USABLE_MEMORY,
    Params,
    ParamsError,
)
from .resources import guarantee_findings
from .storage import StorageLimit
from .text import parse_with_findings

__all__ = [
    "ERROR",
    "INFO",
    "WARNING",
    "Finding",
    "check_model",
    "has_errors",
    "launch_errors",
    "params_for_launch",
    "validate",
]

#: More CPUs than this is almost certainly a typo (a course container is small).
MAX_SENSIBLE_CPUS = 64.0
MIN_SENSIBLE_CPUS = 0.1
DEFAULT_URLS = ("/lab", "/tree")


def validate(
    source: str | Params,
    *,
    now: float | None = None,
    source_name: str = "<params>",
    storage: StorageLimit | None = None,
) -> list[Finding]:
    """All findings for a parameter text or model, parse findings first, then by line.

    With ``storage`` the last finding is about the length the LMS stores
    (:meth:`ipynb_tools.params.storage.StorageLimit.check`: an error when the text does not fit
    Moodle's column, SPEC 10); without it the length is not checked.
    """
    if isinstance(source, Params):
        findings = check_model(source, now=now)
    else:
        params, parsed = parse_with_findings(source, source_name)
        findings = parsed + check_model(params, now=now)
    if storage is not None:
        findings += storage.check(source)
    return findings


def launch_errors(findings: list[Finding]) -> list[Finding]:
    """The findings that refuse a launch: every error (parse and :func:`check_model`).

    The one rule of the spawner (:func:`ipynb_tools.launch.refusal`) and of
    ``ipynb-tools container-spec`` (:func:`params_for_launch`): they refuse the same texts,
    exactly those ``params check`` calls errors (issue 12, item 23).
    """
    return [f for f in findings if f.severity == ERROR]


def params_for_launch(text: str, source: str = "<params>", *, now: float | None = None) -> Params:
    """The parameters of ``text`` when a container may start from them; else :class:`ParamsError`.

    The error names ``source``, the line and the first problem, and how many more there are.
    """
    params, findings = parse_with_findings(text, source)
    errors = launch_errors(findings + check_model(params, now=now))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more error(s); see 'ipynb-tools params check')" if len(errors) > 1 else ""
        problem = first.message.replace(" (kept as it is)", "")
        raise ParamsError(f"{problem}{more}; no container starts from these parameters", source=source, line=first.line)
    return params


def _mib(number: int) -> str:
    return f"{number / 1024 / 1024:.0f} MiB"


def _user_list_findings(key: str, users: tuple[str, ...], lineno: int | None) -> list[Finding]:
    """What is wrong with the names of one user list (issue 12, item 15).

    A name the tools never accept (:func:`ipynb_tools.usernames.user_name_problem`) or one
    written with full-width characters (a Moodle login never has them) can never match a hub
    user: a warning. Upper case matches (the hub lowercases every login): a note saying so.
    """
    found = []
    for user in dict.fromkeys(users):
        if user == "*":
            continue
        problem = user_name_problem_message(user)
        folded = widened_form(user)
        if problem:
            found.append(
                Finding.of(
                    WARNING,
                    lineno,
                    key,
                    N_("%(key)s: %(user)r %(problem)s: it can never match a user"),
                    key=key,
                    user=user,
                    problem=problem,
                )
            )
        elif folded is not None:
            found.append(
                Finding.of(
                    WARNING,
                    lineno,
                    key,
                    N_(
                        "%(key)s: %(user)r has full-width characters and can never match a Moodle login; "
                        "did you mean %(meant)r?"
                    ),
                    key=key,
                    user=user,
                    meant=normalize_user_name(folded),
                )
            )
        elif normalize_user_name(user) != user:
            found.append(
                Finding.of(
                    INFO,
                    lineno,
                    key,
                    N_("%(key)s: %(user)r is read as %(read)r (JupyterHub user names are lower case)"),
                    key=key,
                    user=user,
                    read=normalize_user_name(user),
                )
            )
    return found


def check_model(params: Params, *, now: float | None = None) -> list[Finding]:
    """The checks that need the whole set (memory, CPU, volume references, user lists, times)."""
    now = time.time() if now is None else now
    found: list[Finding] = []
    line = params.line_numbers.get

    def add(severity: str, key: str | None, msgid: str, /, **args: object) -> None:
        found.append(Finding.of(severity, line(key) if key else None, key, msgid, **args))

    def add_problem(severity: str, key: str, problem: Message) -> None:
        found.append(Finding(severity, line(key), key, str(problem), problem))

    # resources
    if params.memlimit is not None and params.memlimit > 0:
        if params.memlimit < MIN_ENGINE_MEMORY:
            add(
                ERROR,
                KEY_MEMLIMIT,
                N_("memory limit %(bytes)d bytes is below the engine minimum of 6 MiB"),
                bytes=params.memlimit,
            )
        elif params.memlimit < MIN_USABLE_MEMORY:
            add(
                WARNING,
                KEY_MEMLIMIT,
                N_("memory limit %(mib)s is under 200 MB: the Jupyter server may not start"),
                mib=_mib(params.memlimit),
            )
    if params.cpulimit is not None:
        if params.cpulimit < 0:
            add(ERROR, KEY_CPULIMIT, N_("CPU limit %(cpus)s is negative (0.0 means no limit)"), cpus=params.cpulimit)
        elif 0 < params.cpulimit < MIN_SENSIBLE_CPUS:
            add(
                WARNING,
                KEY_CPULIMIT,
                N_("CPU limit %(cpus)s is below %(least)s: the server will crawl"),
                cpus=params.cpulimit,
                least=MIN_SENSIBLE_CPUS,
            )
        elif params.cpulimit > MAX_SENSIBLE_CPUS:
            add(
                WARNING,
                KEY_CPULIMIT,
                N_("CPU limit %(cpus)s is over %(most)g CPUs"),
                cpus=params.cpulimit,
                most=MAX_SENSIBLE_CPUS,
            )
    for severity, key, problem in guarantee_findings(params):
        add_problem(severity, key, problem)
    if params.defurl not in (None, "") and not any(
        params.defurl == url or params.defurl.startswith(url + "/") for url in DEFAULT_URLS
    ):
        add(WARNING, KEY_DEFURL, N_("default URL %(url)r is neither /lab nor /tree"), url=params.defurl)
    if params.sessioninfo not in (None, "") and params.session_ids is None:
        add(
            WARNING,
            KEY_SESSIONINFO,
            N_("lms_sessioninfo %(value)r is not '<instance id>,<lti id>'"),
            value=params.sessioninfo,
        )

    # people
    if "*" in params.teachers:
        add(WARNING, KEY_TEACHERS, N_("lms_teachers contains '*': everyone is a teacher"))
    for key, users in ((KEY_USERS, params.users), (KEY_TEACHERS, params.teachers)):
        if "*" in users and len(users) > 1:
            add(INFO, key, N_("%(key)s has '*' and names: '*' already means everyone"), key=key)
        for user, count in Counter(normalize_user_name(u) for u in users).items():
            if count > 1:
                add(INFO, key, N_("%(key)s lists %(user)r %(count)d times"), key=key, user=user, count=count)
        found.extend(_user_list_findings(key, users, line(key)))

    # volumes
    counts = Counter((v.kind, v.name) for v in params.volumes)
    for (kind, name), count in counts.items():
        if count > 1:
            add(
                WARNING,
                f"lms_{kind}_{name}",
                N_("%(key)s is given %(count)d times: the last one is used"),
                key=f"lms_{kind}_{name}",
                count=count,
            )
    everyone = "*" in params.users
    effective = params.effective_volumes()
    task_names = {v.name for v in effective if v.kind is VolumeKind.TASK}
    submit_names = {v.name for v in effective if v.kind is VolumeKind.SUBMIT}
    open_to_list = False
    for volume in effective:
        key = volume.key
        if not volume.access_name.usable:
            add(
                ERROR,
                key,
                N_("access name %(access)r of %(key)s leaves no usable link name"),
                access=volume.access,
                key=key,
            )
        if volume.kind is VolumeKind.SUBMIT and volume.access.startswith("-"):
            add(
                WARNING,
                key,
                N_(
                    "'-' on the submit volume %(key)s is not a teacher-only marker: everyone gets the link "
                    "%(link)r (students need it to hand in)"
                ),
                key=key,
                link=volume.link_name("<full name>"),
            )
        if volume.kind is VolumeKind.PERSONAL and volume.name not in task_names:
            add(
                INFO,
                key,
                N_("personal volume %(key)s has no task volume %(task)s: nothing is copied into it"),
                key=key,
                task=f"lms_{VolumeKind.TASK}_{volume.name}",
            )
        if volume.users is None:
            open_to_list = True
        else:
            strangers = [
                u
                for u in volume.users
                if u != "*" and not any(same_user(u, known) for known in (*params.users, *params.teachers))
            ]
            if strangers and not everyone:
                add(
                    INFO,
                    key,
                    N_("%(key)s lists users who are not in lms_users: %(users)s (they mount this volume all the same)"),
                    key=key,
                    users=", ".join(strangers),
                )
            if "*" in volume.users and len(volume.users) > 1:
                add(INFO, key, N_("%(key)s has '*' and names: '*' already means everyone"), key=key)
            found.extend(_user_list_findings(key, volume.users, line(key)))
    if open_to_list and not params.users and effective:
        add(
            INFO,
            KEY_USERS,
            N_("lms_users is empty: only teachers mount the volumes that have no user list of their own"),
        )
    if task_names and not params.teachers:
        add(WARNING, KEY_TEACHERS, N_("lms_teachers is empty: nobody can write to the task volumes"))

    # closing times
    for name, when in params.closes.items():
        key = f"lms_sub_{name}_close"
        if name not in submit_names:
            add(
                WARNING,
                key,
                N_("%(key)s is a closing time for %(volume)s, which is not defined"),
                key=key,
                volume=f"lms_sub_{name}",
            )
        elif when < now:
            add(
                WARNING,
                key,
                N_("%(key)s: the closing time %(time)s is in the past: submissions are refused"),
                key=key,
                time=format_close_time(when),
            )
    return sorted(found, key=lambda f: (f.line is None, f.line or 0))
