"""A readable summary of a parameter set (``params show``)."""

from __future__ import annotations

from ..environ.closing import format_close_time
from ..i18n import N_, JoinedMessage, Message
from ..volumes.naming import VolumeKind
from .model import AUTOMATIC_KEYS, RESERVED_KEYS, Params, ParamsError
from .resources import describe_limit, resources


def _people(users: tuple[str, ...], empty: str) -> str:
    if not users:
        return empty
    if "*" in users:
        return "everyone (*)" + (f" [also listed: {', '.join(u for u in users if u != '*')}]" if len(users) > 1 else "")
    return ", ".join(users)


def _bytes(number: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if number >= size:
            return f"{number} bytes ({number / size:.4g} {unit})"
    return f"{number} bytes"


def describe(params: Params) -> str:
    """Several lines saying what the parameters mean, for people."""
    memory = describe_limit(params.memlimit) if not params.memlimit else _bytes(params.memlimit)
    activity = "no limit" if params.actlimit == 0 else f"{params.actlimit} s" if params.actlimit is not None else None
    out = [
        f"users:        {_people(params.users, 'nobody (empty)')}",
        f"teachers:     {_people(params.teachers, 'none')}",
        f"image:        {params.effective_image or 'site default'}",
        f"default URL:  {params.defurl or 'site default'}",
        f"CPU limit:    {describe_limit(params.cpulimit)}",
        f"memory limit: {memory}",
        f"activity:     {activity or 'site default'}",
    ]
    try:
        res = resources(params)
    except ParamsError as exc:
        out.append(f"guarantees:   unreadable ({exc})")
    else:
        if res.cpu_guarantee:
            out.append(f"CPU guarantee: {res.cpu_guarantee:g} ({res.cpu_shares} CPU shares)")
        if res.mem_guarantee:
            out.append(f"memory guarantee: {_bytes(res.mem_guarantee)}")
    if params.iframe is not None:
        out.append(f"iframe:       {'yes' if params.iframe else 'no'}")
    out.append("volumes:" if params.volumes else "volumes:      none")
    for v in params.volumes:
        who = "lms_users + teachers" if v.users is None else ", ".join(v.users)
        link = "full name" if v.full_name_link else repr(v.link_name(""))
        if v.teacher_only:
            link += " (teachers only)"
        line = f"  {v.kind_label:<8} {v.name:<12} access {v.access!r}: link {link}; mounted by {who}"
        if v.kind is VolumeKind.SUBMIT and v.name in params.closes:
            line += f"; closes {format_close_time(params.closes[v.name])}"
        out.append(line)
    for name, stamp in params.closes.items():
        if params.volume(VolumeKind.SUBMIT, name) is None:
            out.append(f"  (closing time for undefined submit volume {name}: {format_close_time(stamp)})")
    for key in AUTOMATIC_KEYS + RESERVED_KEYS:
        value = params.fixed_value(key)
        if value is not None:
            out.append(f"{key}: {value}")
    if params.others:
        out.append(f"other lines kept as they are: {len(params.others)}")
        out.extend(f"  {line}" for line in params.others)
    return "\n".join(out)


def one_line(params: Params) -> str:
    """One line: who (users, teachers), the image when not the default, the volumes by kind and NAME
    (``task kadai1, submit kadai1``). Used where many parameter sets are listed (``moodle ltis``)."""
    return str(one_line_message(params))


#: The volume kinds as :func:`one_line` names them (translated where the line is shown).
_KIND_WORDS = {"task": N_("task %(name)s"), "submit": N_("submit %(name)s"), "personal": N_("personal %(name)s")}


def one_line_message(params: Params) -> Message:
    """:func:`one_line` as a message to translate where it is shown (the console's LTI connections)."""
    users = ",".join(params.users) if params.users else None
    teachers = ",".join(params.teachers) if params.teachers else None
    parts: list[Message] = [
        Message(N_("users %(users)s"), users=users) if users else Message(N_("users (none)")),
        Message(N_("teachers %(teachers)s"), teachers=teachers) if teachers else Message(N_("teachers (none)")),
    ]
    if params.effective_image:
        parts.append(Message(N_("image %(image)s"), image=params.effective_image))
    volumes = [Message(_KIND_WORDS[v.kind_label], name=v.name) for v in params.effective_volumes()]
    parts.append(JoinedMessage(*volumes, separator=", ") if volumes else Message(N_("no volumes")))
    return JoinedMessage(*parts, separator="; ")
