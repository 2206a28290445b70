"""Validation: what is wrong or surprising in a parameter set, with severity and line.

:func:`validate` takes the text (then it also reports what parsing noticed:
stripped characters, renamed NAMEs, unreadable values, unknown keys) or a
:class:`~ipynb_tools.params.model.Params` (then only the checks of the model).
"""

from __future__ import annotations

import time
from collections import Counter

from ..environ.closing import format_close_time
from ..usernames import normalize_user_name, same_user, user_name_problem, widened_form
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
        problem = user_name_problem(user)
        folded = widened_form(user)
        if problem:
            found.append(Finding(WARNING, lineno, key, f"{key}: {user!r} {problem}: it can never match a user"))
        elif folded is not None:
            found.append(
                Finding(
                    WARNING,
                    lineno,
                    key,
                    f"{key}: {user!r} has full-width characters and can never match a Moodle login; "
                    f"did you mean {normalize_user_name(folded)!r}?",
                )
            )
        elif normalize_user_name(user) != user:
            found.append(
                Finding(
                    INFO,
                    lineno,
                    key,
                    f"{key}: {user!r} is read as {normalize_user_name(user)!r} (JupyterHub user names are lower case)",
                )
            )
    return found


def check_model(params: Params, *, now: float | None = None) -> list[Finding]:
    """The checks that need the whole set (memory, CPU, volume references, user lists, times)."""
    now = time.time() if now is None else now
    found: list[Finding] = []
    line = params.line_numbers.get

    def add(severity: str, key: str | None, message: str, at: int | None = None) -> None:
        found.append(Finding(severity, at if at is not None else (line(key) if key else None), key, message))

    # resources
    if params.memlimit is not None and params.memlimit > 0:
        if params.memlimit < MIN_ENGINE_MEMORY:
            add(ERROR, KEY_MEMLIMIT, f"memory limit {params.memlimit} bytes is below the engine minimum of 6 MiB")
        elif params.memlimit < MIN_USABLE_MEMORY:
            add(
                WARNING,
                KEY_MEMLIMIT,
                f"memory limit {_mib(params.memlimit)} is under 200 MB: the Jupyter server may not start",
            )
    if params.cpulimit is not None:
        if params.cpulimit < 0:
            add(ERROR, KEY_CPULIMIT, f"CPU limit {params.cpulimit} is negative (0.0 means no limit)")
        elif 0 < params.cpulimit < MIN_SENSIBLE_CPUS:
            add(
                WARNING,
                KEY_CPULIMIT,
                f"CPU limit {params.cpulimit} is below {MIN_SENSIBLE_CPUS}: the server will crawl",
            )
        elif params.cpulimit > MAX_SENSIBLE_CPUS:
            add(WARNING, KEY_CPULIMIT, f"CPU limit {params.cpulimit} is over {MAX_SENSIBLE_CPUS:g} CPUs")
    for severity, key, problem in guarantee_findings(params):
        add(severity, key, problem)
    if params.defurl not in (None, "") and not any(
        params.defurl == url or params.defurl.startswith(url + "/") for url in DEFAULT_URLS
    ):
        add(WARNING, KEY_DEFURL, f"default URL {params.defurl!r} is neither /lab nor /tree")
    if params.sessioninfo not in (None, "") and params.session_ids is None:
        add(WARNING, KEY_SESSIONINFO, f"lms_sessioninfo {params.sessioninfo!r} is not '<instance id>,<lti id>'")

    # people
    if "*" in params.teachers:
        add(WARNING, KEY_TEACHERS, "lms_teachers contains '*': everyone is a teacher")
    for key, users in ((KEY_USERS, params.users), (KEY_TEACHERS, params.teachers)):
        if "*" in users and len(users) > 1:
            add(INFO, key, f"{key} has '*' and names: '*' already means everyone")
        for user, count in Counter(normalize_user_name(u) for u in users).items():
            if count > 1:
                add(INFO, key, f"{key} lists {user!r} {count} times")
        found.extend(_user_list_findings(key, users, line(key)))

    # volumes
    counts = Counter((v.kind, v.name) for v in params.volumes)
    for (kind, name), count in counts.items():
        if count > 1:
            add(WARNING, f"lms_{kind}_{name}", f"lms_{kind}_{name} is given {count} times: the last one is used")
    everyone = "*" in params.users
    effective = params.effective_volumes()
    task_names = {v.name for v in effective if v.kind is VolumeKind.TASK}
    submit_names = {v.name for v in effective if v.kind is VolumeKind.SUBMIT}
    open_to_list = False
    for volume in effective:
        key = volume.key
        if not volume.access_name.usable:
            add(ERROR, key, f"access name {volume.access!r} of {key} leaves no usable link name")
        if volume.kind is VolumeKind.SUBMIT and volume.access.startswith("-"):
            add(
                WARNING,
                key,
                f"'-' on the submit volume {key} is not a teacher-only marker: everyone gets the link "
                f"{volume.link_name('<full name>')!r} (students need it to hand in)",
            )
        if volume.kind is VolumeKind.PERSONAL and volume.name not in task_names:
            add(
                INFO,
                key,
                f"personal volume {key} has no task volume lms_{VolumeKind.TASK}_{volume.name}: "
                "nothing is copied into it",
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
                    f"{key} lists users who are not in lms_users: {', '.join(strangers)} "
                    "(they mount this volume all the same)",
                )
            if "*" in volume.users and len(volume.users) > 1:
                add(INFO, key, f"{key} has '*' and names: '*' already means everyone")
            found.extend(_user_list_findings(key, volume.users, line(key)))
    if open_to_list and not params.users and effective:
        add(INFO, KEY_USERS, "lms_users is empty: only teachers mount the volumes that have no user list of their own")
    if task_names and not params.teachers:
        add(WARNING, KEY_TEACHERS, "lms_teachers is empty: nobody can write to the task volumes")

    # closing times
    for name, when in params.closes.items():
        key = f"lms_sub_{name}_close"
        if name not in submit_names:
            add(WARNING, key, f"{key} is a closing time for lms_sub_{name}, which is not defined")
        elif when < now:
            add(
                WARNING,
                key,
                f"{key}: the closing time {format_close_time(when)} is in the past: submissions are refused",
            )
    return sorted(found, key=lambda f: (f.line is None, f.line or 0))
