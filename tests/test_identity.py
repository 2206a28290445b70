"""The old spawner's identity rules (SPEC 12; issue 16 item 3): passwd, LMS extension fields, base + user_id."""

from __future__ import annotations

import grp
import pwd

import pytest

from ipynb_tools.identity import DEFAULT_UID_BASE, IdentityError, resolve_identity
from ipynb_tools.launch import LmsUser, read_launch


def test_passwd_entry_first() -> None:
    me = pwd.getpwuid(0)
    ident = resolve_identity(me.pw_name, LmsUser("31", "4711", "2024", "g"))
    assert (ident.uid, ident.gid, ident.group, ident.source) == (
        0,
        me.pw_gid,
        grp.getgrgid(me.pw_gid).gr_name,
        "passwd",
    )
    # switched off: the LMS decides
    assert resolve_identity(me.pw_name, LmsUser("31"), lookup_passwd=False).uid == DEFAULT_UID_BASE + 31


def test_extension_fields_then_base_plus_user_id() -> None:
    ident = resolve_identity("nobody-here-x", LmsUser("31", "4711", "2024", "g2024"))
    assert (ident.uid, ident.gid, ident.group, ident.source) == (4711, 2024, "g2024", "LMS ext_user_userid")
    ident = resolve_identity("nobody-here-x", LmsUser("31", None, "2024", None))
    assert (ident.uid, ident.gid, ident.group) == (30031, 2024, "users")  # the group on its own
    ident = resolve_identity("nobody-here-x", LmsUser("31", "4711"), use_lms_fields=False, uid_base=40000)
    assert (ident.uid, ident.gid, ident.group, ident.source) == (40031, 100, "users", "uid_base + LMS user_id")


@pytest.mark.parametrize(
    "lms,words",
    [
        (LmsUser(None), "no LMS user_id"),
        (LmsUser("abc"), "not a decimal number"),
        (LmsUser("31", "0"), "out of range"),
        (LmsUser("31", "٣"), "not a decimal number"),  # a non-ASCII digit
        (LmsUser("31", None, "-1"), "not a decimal number"),
        (LmsUser("31", None, None, "a b"), "ext_user_groupname"),
        (LmsUser("3000000000"), "out of range"),
    ],
)
def test_unusable_values_are_refused(lms: LmsUser, words: str) -> None:
    with pytest.raises(IdentityError, match=words):
        resolve_identity("nobody-here-x", lms)


def test_the_launch_carries_the_lms_user_for_lti11_and_lti13() -> None:
    form = {"context_id": "1", "resource_link_id": "2", "user_id": "31", "ext_user_userid": "4711"}
    form |= {"ext_user_groupid": "2024", "ext_user_groupname": "g2024"}
    assert read_launch(form).lms_user == LmsUser("31", "4711", "2024", "g2024")
    claims = {
        "iss": "https://lms.example.jp",
        "sub": "31",
        "https://purl.imsglobal.org/spec/lti/claim/ext": {"user_userid": "4711", "user_groupname": "g"},
    }
    assert read_launch(claims).lms_user == LmsUser("31", "4711", None, "g")
