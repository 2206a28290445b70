"""Findings in the reader's language (issue 15: the Edit page's findings; docs/languages.md): each finding
is English in ``message`` (JSON, logs, exceptions) and a gettext message (``text``) rendered at the edge."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from ipynb_tools.i18n import N_, JoinedMessage, Message, translation
from ipynb_tools.params.findings import ERROR, Finding
from ipynb_tools.params.storage import StorageLimit
from ipynb_tools.params.validate import validate

#: A text with a problem of every family: parse (unknown key, full-width '＝', an unreadable value, a
#: renamed NAME, white space in an access name, a full-width colon), model (memory, CPU, user names,
#: '*' teachers, a closing time in the past and one of no volume), and the stored length (over).
TEXT = "\n".join(
    [
        "lms_users=alice, Bob, ａｌｉｃｅ, a:b",
        "lms_teachers=*",
        "lms_memlimt=1G",
        "lms_cpulimit=0.01",
        "lms_memlimit=100M",
        "lms_actlimit=soon",
        "lms_image＝x",
        "lms_vol_Ex1=task one",
        "lms_sub_ex1=：bob",
        "lms_sub_ex1_close=2020-01-01T00:00",
        "lms_sub_nope_close=2030-01-01T00:00",
        "lms_vol_zz=" + "x" * 300,
    ]
)
JA = translation("ipynb_tools", ["ja"]).gettext


def findings() -> list[Finding]:
    return validate(TEXT, now=1_900_000_000, storage=StorageLimit())


def test_every_finding_has_a_japanese_text_and_keeps_its_english_message() -> None:
    found = findings()
    assert len(found) >= 15 and found[-1].severity == ERROR  # the length: over the column
    for finding in found:
        assert finding.text is not None, finding
        assert finding.translated(None) == finding.message == str(finding.text)
        japanese = finding.translated(JA)
        assert japanese != finding.message, finding.message
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", japanese), japanese  # kana or kanji
    messages = {f.key: f.translated(JA) for f in found}
    assert messages["lms_memlimit"] == "メモリ制限 100 MiB は 200 MB 未満です。Jupyter サーバが起動しないかもしれません"
    assert (
        "lms_actlimit: 活動時間の制限 'soon' は秒数ではありません" in messages["lms_actlimit"]
    )  # a nested value problem
    assert "自動キー" in found[-1].translated(JA) and "超えています" in found[-1].translated(JA)


def test_machine_read_output_stays_english() -> None:
    """JSON keeps the English message; only the shown text is translated."""
    for finding in findings():
        assert finding.to_dict()["message"] == finding.message
        assert not re.search(r"[\u3040-\u30ff]", finding.message)


def test_params_check_speaks_the_language_of_lang(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from ipynb_tools.cli.main import cli

    path = tmp_path / "p.txt"
    path.write_text("lms_memlimit=100M\nlms_teachers=*\n", encoding="utf-8")
    monkeypatch.setenv("LANGUAGE", "ja")
    ja = CliRunner().invoke(cli, ["params", "check", str(path)])
    assert f"{path}:1: warning: メモリ制限 100 MiB は 200 MB 未満です" in ja.output
    as_json = CliRunner().invoke(cli, ["params", "check", "--json", str(path)])
    assert "is under 200 MB" in json.loads(as_json.output)[0]["message"]  # JSON: English
    monkeypatch.setenv("LANGUAGE", "en")
    en = CliRunner().invoke(cli, ["params", "check", str(path)])
    assert f"{path}:1: warning: memory limit 100 MiB is under 200 MB: the Jupyter server may not start" in en.output


def test_messages_render_nested_messages_in_one_language() -> None:
    inner = Message(N_("contains white space"))
    outer = Message(
        N_("%(key)s: %(user)r %(problem)s: it can never match a user"), key="lms_users", user="a b", problem=inner
    )
    assert str(outer) == "lms_users: 'a b' contains white space: it can never match a user"
    assert outer.render(JA) == "lms_users: 'a b' は空白を含んでいます。どのユーザにも一致しません"
    joined = JoinedMessage(Message(N_("users")), Message(N_("volumes")), separator=", ")
    assert str(joined) == "users, volumes" and joined.render(JA) == "ユーザ, ボリューム"
    assert Message("100% plain").render(JA) == "100% plain"  # no arguments: not %-formatted
    assert outer == Message(outer.msgid, **outer.args) and outer != inner


def test_the_one_line_summary_in_both_languages() -> None:
    """The LTI connections list's line (params/summary.py): English as ``params``/``moodle ltis`` print it."""
    from ipynb_tools.params.summary import one_line, one_line_message
    from ipynb_tools.params.text import parse

    params = parse("lms_users=alice,bob\nlms_vol_kadai1=課題\nlms_sub_kadai1=提出\nlms_image=jupyter/base")
    assert one_line(params) == "users alice,bob; teachers (none); image jupyter/base; task kadai1, submit kadai1"
    assert (
        one_line_message(params).render(JA)
        == "ユーザ alice,bob; 教師（なし）; イメージ jupyter/base; 課題 kadai1, 提出 kadai1"
    )
