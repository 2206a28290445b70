"""CPU and memory: unset (site default) and 0 (no limit) kept apart; guarantees (issue 16 item 2)."""

from __future__ import annotations

import pytest

from ipynb_tools.params.findings import ERROR, WARNING
from ipynb_tools.params.model import ParamsError
from ipynb_tools.params.resources import NO_LIMIT, SITE_DEFAULT, resources
from ipynb_tools.params.summary import describe
from ipynb_tools.params.text import parse
from ipynb_tools.params.validate import check_model


def shown(text: str, label: str) -> str:
    (line,) = [line for line in describe(parse(text)).splitlines() if line.startswith(label)]
    return line.split(":", 1)[1].strip()


def test_show_says_site_default_for_unset_and_no_limit_for_zero() -> None:
    assert shown("lms_users=*", "CPU limit") == SITE_DEFAULT
    assert shown("lms_users=*", "memory limit") == SITE_DEFAULT
    assert shown("lms_users=*\nlms_cpulimit=", "CPU limit") == SITE_DEFAULT  # empty: the old form's default
    assert shown("lms_users=*\nlms_cpulimit=0.0", "CPU limit") == NO_LIMIT
    assert shown("lms_users=*\nlms_memlimit=0", "memory limit") == NO_LIMIT
    assert shown("lms_users=*\nlms_cpulimit=1.5", "CPU limit") == "1.5"
    assert shown("lms_users=*\nlms_memlimit=1G", "memory limit").startswith("1073741824 bytes")


def test_model_keeps_unset_and_zero_apart() -> None:
    assert (parse("lms_users=*").cpulimit, parse("lms_users=*").memlimit) == (None, None)
    zero = parse("lms_cpulimit=0.0\nlms_memlimit=0")
    assert (zero.cpulimit, zero.memlimit) == (0.0, 0)
    res = resources(zero)
    assert (res.cpu_limit, res.mem_limit) == (0.0, 0)


def test_guarantees_are_read_like_limits_and_shown() -> None:
    res = resources(parse("lms_cpugrnt=1.5\nlms_memgrnt=1,073,741,824"))
    assert res.cpu_guarantee == 1.5 and res.mem_guarantee == 1024**3 and res.cpu_shares == 1536
    assert resources(parse("lms_cpugrnt=\nlms_memgrnt=0")).mem_guarantee is None
    text = describe(parse("lms_cpugrnt=0.25\nlms_memgrnt=512M"))
    assert "CPU guarantee: 0.25 (256 CPU shares)" in text
    assert "memory guarantee: 536870912 bytes" in text
    with pytest.raises(ParamsError, match="lms_cpugrnt='x' is not a number of CPUs"):
        resources(parse("lms_cpugrnt=x"))


@pytest.mark.parametrize(
    "text,severity,words",
    [
        ("lms_memgrnt=lots", ERROR, "lms_memgrnt='lots' is not a number of bytes"),
        ("lms_cpugrnt=-1", ERROR, "negative"),
        ("lms_memlimit=512M\nlms_memgrnt=1G", ERROR, "above lms_memlimit"),
        ("lms_cpulimit=1\nlms_cpugrnt=2", WARNING, "above lms_cpulimit"),
    ],
)
def test_check_reports_bad_guarantees(text: str, severity: str, words: str) -> None:
    found = [f for f in check_model(parse("lms_users=*\n" + text)) if f.key in ("lms_cpugrnt", "lms_memgrnt")]
    assert [(f.severity, words in f.message) for f in found] == [(severity, True)], found


def test_guarantees_within_limits_and_no_limit_are_fine() -> None:
    for text in ("lms_memlimit=1G\nlms_memgrnt=512M", "lms_memlimit=0\nlms_memgrnt=512M", "lms_cpugrnt=1"):
        assert not [f for f in check_model(parse(text)) if f.key in ("lms_cpugrnt", "lms_memgrnt")]
