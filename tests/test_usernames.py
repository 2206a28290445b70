"""The one user-name rule and the hub's normalisation (issue 12, items 15 and 23)."""

from __future__ import annotations

import pytest

from ipynb_tools.usernames import in_user_list, normalize_user_name, same_user, user_name_problem, widened_form


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        (".", "is not a name"),
        ("..", "is not a name"),
        ("../../etc", "contains '/'"),
        ("a:b", "contains ':'"),
        ("a\\b", "contains '\\\\'"),
        ("a b", "contains white space"),
        ("a\u3000b", "contains white space"),  # the ideographic space
        ("al\nice", "control character"),
        ("a\u2028b", "control character"),
        ("a\u200bb", "control character"),  # zero-width space (format character)
        ("-rf", "starts with '-'"),
        (".profile", "starts with '.'"),
        ("x" * 256, "longer than 255 bytes"),
        ("山" * 86, "longer than 255 bytes"),
    ],
)
def test_names_the_tools_never_accept(name: str, problem: str) -> None:
    assert problem in (user_name_problem(name) or "")


@pytest.mark.parametrize(
    "name", ["alice", "s2024001", "21001234", "山田太郎", "a.b@example.ac.jp", "x" * 255, "o'neil"]
)
def test_names_the_tools_accept(name: str) -> None:
    assert user_name_problem(name) is None


def test_names_compare_as_jupyterhub_normalises_them() -> None:
    assert normalize_user_name("S2024001") == "s2024001"
    assert same_user("Iseki", "iseki") and not same_user("iseki", "iseki2")
    assert in_user_list("s2024001", ("S2024001",)) and in_user_list("anyone", ("*",))
    assert not in_user_list("s2024001", ("Ｓ２０２４００１",))  # full-width is not folded: never a Moodle login
    assert widened_form("Ｓ２０２４００１") == "S2024001" and widened_form("alice") is None
