"""CPU and memory of a launch: limits and guarantees, with "unset" and "no limit" kept apart (SPEC 4, 12).

One reading for the container spec, ``params show`` and ``params check``:

- ``lms_cpulimit`` / ``lms_memlimit`` absent or empty: :data:`SITE_DEFAULT` (the site's
  ``DockerSpawner.cpu_limit`` / ``mem_limit`` apply);
- ``lms_cpulimit=0.0`` / ``lms_memlimit=0``: :data:`NO_LIMIT`, the old module's "no limit" choice
  (the container gets no quota, whatever the site default);
- a positive number: that limit (CPUs, bytes).

``lms_cpugrnt`` / ``lms_memgrnt`` (kept as text by the model, reserved by the old module) are the
old spawner's guarantees: read with the same number rules as the limits (``1.5``; ``512M``,
``1,073,741,824``), absent/empty/``0`` = none. The engine gets them as reservations
(:meth:`ipynb_tools.spec.ContainerSpec.to_docker_kwargs`: ``cpu_shares`` = 1024 per CPU,
``mem_reservation`` in bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..i18n import N_, Message
from .findings import ERROR, WARNING
from .model import Params, ParamsError
from .values import BadValue, parse_cpu, parse_memory

#: ``lms_*limit`` absent: the site default applies.
SITE_DEFAULT: Final = "site default"
#: ``lms_*limit`` is 0: no limit at all.
NO_LIMIT: Final = "no limit"
KEY_CPUGRNT = "lms_cpugrnt"
KEY_MEMGRNT = "lms_memgrnt"
#: Docker's CPU weight of one CPU (the default weight of a container).
CPU_SHARES_PER_CPU = 1024
#: Docker refuses a weight below 2.
MIN_CPU_SHARES = 2


@dataclass(frozen=True)
class Resources:
    """CPU and memory of one launch.

    ``cpu_limit`` (CPUs) and ``mem_limit`` (bytes): None = the site default, 0 = no limit,
    else the limit. ``cpu_guarantee`` (CPUs) and ``mem_guarantee`` (bytes): None = none.
    """

    cpu_limit: float | None
    mem_limit: int | None
    cpu_guarantee: float | None
    mem_guarantee: int | None

    @property
    def cpu_shares(self) -> int | None:
        """Docker's relative CPU weight for :attr:`cpu_guarantee` (1024 per CPU), or None."""
        if not self.cpu_guarantee:
            return None
        return max(MIN_CPU_SHARES, round(self.cpu_guarantee * CPU_SHARES_PER_CPU))


def guarantee_findings(params: Params) -> list[tuple[str, str, Message]]:
    """(severity, key, problem) for each guarantee that cannot be read (error), a memory guarantee
    above the memory limit (error: the engine refuses such a container) and a CPU guarantee above
    the CPU limit (warning: the limit wins). Each problem is a message to translate where it is shown."""
    problems: list[tuple[str, str, Message]] = []
    for key, text in ((KEY_CPUGRNT, params.cpugrnt), (KEY_MEMGRNT, params.memgrnt)):
        problem = _read_guarantee(key, text)[1]
        if problem is not None:
            problems.append((ERROR, key, problem))
    if problems:
        return problems
    res = resources(params)
    if res.mem_guarantee and res.mem_limit and res.mem_guarantee > res.mem_limit:
        problems.append(
            (
                ERROR,
                KEY_MEMGRNT,
                Message(
                    N_("memory guarantee %(bytes)d bytes is above lms_memlimit (%(limit)d)"),
                    bytes=res.mem_guarantee,
                    limit=res.mem_limit,
                ),
            )
        )
    if res.cpu_guarantee and res.cpu_limit and res.cpu_guarantee > res.cpu_limit:
        problems.append(
            (WARNING, KEY_CPUGRNT, Message(N_("CPU guarantee %(cpus)g is above lms_cpulimit"), cpus=res.cpu_guarantee))
        )
    return problems


def _read_guarantee(key: str, text: str | None) -> tuple[float | None, Message | None]:
    """(the guarantee, None), or (None, why it cannot be read)."""
    if text is None or not text.strip():
        return None, None
    try:
        value = parse_memory(text) if key == KEY_MEMGRNT else parse_cpu(text)
    except BadValue:
        if key == KEY_MEMGRNT:
            return None, Message(
                N_("%(key)s=%(text)r is not a number of bytes (like 536870912, 512M or 2G)"), key=key, text=text
            )
        return None, Message(N_("%(key)s=%(text)r is not a number of CPUs (like 0.5)"), key=key, text=text)
    if value < 0:
        return None, Message(N_("%(key)s: %(text)r is negative (0 or empty means no guarantee)"), key=key, text=text)
    return value or None, None


def _guarantee(key: str, text: str | None) -> float | None:
    value, problem = _read_guarantee(key, text)
    if problem is not None:
        raise ParamsError(str(problem))
    return value


def resources(params: Params) -> Resources:
    """The CPU and memory of ``params``; raises :class:`ParamsError` for an unreadable guarantee."""
    cpu = _guarantee(KEY_CPUGRNT, params.cpugrnt)
    mem = _guarantee(KEY_MEMGRNT, params.memgrnt)
    return Resources(
        cpu_limit=params.cpulimit,
        mem_limit=params.memlimit,
        cpu_guarantee=cpu,
        mem_guarantee=None if mem is None else int(mem),
    )


def describe_limit(value: float | None, unit: str = "") -> str:
    """``site default``, ``no limit`` or the value with ``unit``: one wording for every page."""
    if value is None:
        return SITE_DEFAULT
    if value == 0:
        return NO_LIMIT
    return f"{value:g}{unit}" if isinstance(value, float) else f"{value}{unit}"
