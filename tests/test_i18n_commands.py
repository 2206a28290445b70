"""The real ``ipynb_submit`` and ``ipynb_deploy`` processes speak the language their environment asks for.

Issue 16 item 8: Japanese with ``LANG=ja_JP.UTF-8`` (or ``LANGUAGE``, as the spawner's site
language sets it), English with ``LANG=C``/``en_US`` or an unknown language; what programs read
(file names, hashes, tags, exit codes) is the same in every language.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ipynb_tools.notebook import dumps_notebook

BIN = Path(sys.executable).parent
FULL = "lms_sub_k1_42_lms.example.org"
ACCESS = "課題1提出用"
NB = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "a", "metadata": {}, "outputs": [], "source": ["1 + 1"]}
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture
def course(tmp_path: Path) -> dict[str, Path]:
    """A works directory with one 3777 submit volume and its access link, a home, a notebook."""
    works = tmp_path / "works"
    volume = works / ".volumes" / FULL
    volume.mkdir(parents=True)
    os.chmod(volume, 0o3777)
    (works / ACCESS).symlink_to(f".volumes/{FULL}")
    (tmp_path / "home").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "kadai-1.ipynb").write_text(dumps_notebook(NB), encoding="utf-8")
    return {"works": works, "volume": volume, "home": tmp_path / "home", "work": work}


def command(
    name: str, args: list[str], cwd: Path, language: dict[str, str], **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script ``name`` with only ``language``'s locale variables set."""
    env = {k: v for k, v in os.environ.items() if k not in LANGUAGE_VARIABLES and not k.startswith("NB_")}
    env.update(language)
    env.update(extra)
    return subprocess.run(
        [str(BIN / name), *args], cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120
    )


def submit(
    course: dict[str, Path], language: dict[str, str], *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    return command(
        "ipynb_submit",
        list(args),
        course["work"],
        language,
        HOME=str(course["home"]),
        NB_WRKDIR=str(course["works"]),
        NB_SUBMITS=f".volumes/{FULL}:{ACCESS}",
        JUPYTERHUB_USER="alice",
        **extra,
    )


def test_submit_receipt_in_japanese_and_english(course: dict[str, Path]) -> None:
    ja = submit(course, {"LANG": "ja_JP.UTF-8"}, "kadai-1.ipynb", ACCESS)
    assert ja.returncode == 0, ja.stderr
    first = ja.stdout.splitlines()[0]
    assert first.startswith(f"提出しました kadai-1.ipynb -> {ACCESS}/kadai-1_alice.ipynb（")
    sha = re.search(r"sha256 ([0-9a-f]{64})", first)
    assert sha is not None  # the hash is printed the same way in every language
    assert "に保存し、受領記録を残しました" in ja.stdout
    again = submit(course, {"LANG": "ja_JP.UTF-8"}, "kadai-1.ipynb", ACCESS)
    assert again.stderr == "警告: kadai-1.ipynb: 前回の提出から変更がありません\n"

    en = submit(course, {"LANG": "C.UTF-8"}, "kadai-1.ipynb", ACCESS)
    assert en.returncode == 0, en.stderr
    assert en.stdout.startswith(f"submitted kadai-1.ipynb -> {ACCESS}/kadai-1_alice.ipynb at ")
    assert re.search(r"sha256 [0-9a-f]{64}", en.stdout)
    assert en.stderr == "warning: kadai-1.ipynb: no changes since your last submission\n"
    assert not JAPANESE.search(en.stdout.replace(ACCESS, ""))
    # the receipt log is machine-read: the same JSON keys whatever the language
    records = [json.loads(line) for line in (course["home"] / ".ipynb-tools" / "submit.log").read_text().splitlines()]
    assert {r["event"] for r in records} == {"submit"} and len(records) == 3


def test_closed_target_error_in_japanese_then_english(course: dict[str, Path]) -> None:
    closed = {"NB_SUBMITS_CLOSE": f"{FULL}=1700000000"}
    ja = submit(course, {"LANG": "ja_JP.UTF-8"}, "kadai-1.ipynb", **closed)
    assert ja.returncode == 1
    assert ja.stderr == (
        f"ipynb_submit: エラー: {ACCESS}: 提出は 2023-11-14 22:13:20 UTC に締め切られました。何も提出していません\n"
    )
    en = submit(course, {"LANG": "en_US.UTF-8"}, "kadai-1.ipynb", **closed)
    assert en.returncode == 1
    assert en.stderr == (
        f"ipynb_submit: error: {ACCESS}: submissions closed at 2023-11-14 22:13:20 UTC; nothing was submitted\n"
    )
    assert list(course["volume"].iterdir()) == []


@pytest.mark.parametrize(
    ("language", "japanese"),
    [
        ({"LANG": "ja_JP.UTF-8"}, True),
        ({"LANG": "ja"}, True),
        ({"LC_MESSAGES": "ja_JP.UTF-8", "LANG": "C.UTF-8"}, True),
        ({"LANGUAGE": "ja", "LANG": "C.UTF-8"}, True),  # the spawner's site language
        ({"LANGUAGE": "fr:ja", "LANG": "en_US.UTF-8"}, True),  # no French: the next one
        ({"LANGUAGE": "en:ja", "LANG": "ja_JP.UTF-8"}, False),  # English first
        ({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, False),  # LC_ALL before LANG
        ({"LANG": "C"}, False),
        ({"LANG": "en_US.UTF-8"}, False),
        ({"LANG": "xx_XX.UTF-8"}, False),  # no catalogue: English
        ({}, False),
    ],
)
def test_language_choice_of_a_real_process(course: dict[str, Path], language: dict[str, str], japanese: bool) -> None:
    result = submit(course, language, "--list")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("提出はありません\n" if japanese else "no submissions\n")


def test_deploy_in_japanese_and_english(course: dict[str, Path], tmp_path: Path) -> None:
    src = course["work"]
    dest = tmp_path / "dest"
    dest.mkdir()
    ja = command("ipynb_deploy", [str(dest)], src, {"LANG": "ja_JP.UTF-8"})
    assert ja.returncode == 0, ja.stderr
    assert f"番号付け: {dest / 'kadai-1.ipynb'}（1 セル）" in ja.stdout
    assert ja.stdout.splitlines()[-1] == "番号付け 1 ファイル、1 セル、コピー 0、変更なし 0、失敗 0"
    # the tags are the same in every language
    tags = json.loads((dest / "kadai-1.ipynb").read_text())["cells"][0]["metadata"]["tags"]
    assert tags == ["filename:kadai-1.ipynb", "codenum:1"]

    en = command("ipynb_deploy", [str(dest)], src, {"LANG": "en_US.UTF-8"})
    assert en.returncode == 0, en.stderr
    assert en.stdout.splitlines()[-1] == "numbered 0 file(s), 1 cell(s); copied 0; unchanged 1; failed 0"

    missing = command("ipynb_deploy", ["nothing-here", "--to", str(tmp_path / "nope")], src, {"LANG": "ja_JP.UTF-8"})
    assert missing.returncode == 1
    assert missing.stderr == f"ipynb_deploy: エラー: {tmp_path / 'nope'}: コピー先のディレクトリがありません\n"


def test_help_in_japanese(course: dict[str, Path]) -> None:
    submit_help = command("ipynb_submit", ["--help"], course["work"], {"LANG": "ja_JP.UTF-8"})
    assert "ノートブックを提出します" in submit_help.stdout
    assert "個人ディレクトリのすべてのノートブックを提出します。" in submit_help.stdout
    # click wraps only at spaces (or inside a word too long for the line): the example names stay whole
    assert "kadai-1_alice.ipynb（既定）" in submit_help.stdout and " alice_kadai-1.ipynb、" in submit_help.stdout
    deploy_help = command("ipynb_deploy", ["--help"], course["work"], {"LANGUAGE": "ja"})
    assert "filename:/codenum: タグで番号を付けます" in deploy_help.stdout
    english = command("ipynb_submit", ["--help"], course["work"], {"LANG": "C"})
    assert "Hand in a notebook" in english.stdout and not JAPANESE.search(english.stdout.replace(ACCESS, ""))


def test_bad_notebook_error_in_japanese(course: dict[str, Path]) -> None:
    (course["work"] / "broken.ipynb").write_text("{not json", encoding="utf-8")
    result = submit(course, {"LANG": "ja_JP.UTF-8"}, "broken.ipynb")
    assert result.returncode == 1
    assert result.stderr == (
        "ipynb_submit: エラー: broken.ipynb: 正しい JSON ではありません"
        '（1 行 2 桁: ダブルクォート（"）で囲んだキーが必要です）\n'
    )
    # a file's problem after '<path>: ' reads as a label, never with a dangling particle ('は...')
    (course["work"] / "dir.ipynb").mkdir()
    (course["work"] / "list.ipynb").write_text("[]", encoding="utf-8")
    assert submit(course, JA, "dir.ipynb").stderr == (
        "ipynb_submit: エラー: dir.ipynb: ディレクトリで、ノートブックのファイルではありません\n"
    )
    assert submit(course, JA, "list.ipynb").stderr == (
        "ipynb_submit: エラー: list.ipynb: JSON ですがノートブックではありません（最上位がオブジェクトではない）\n"
    )
    assert list(course["volume"].iterdir()) == []


# -- click's own parser and help messages (domain click, bound by ipynb_tools/cli/scripts.py) -----------
JA = {"LANG": "ja_JP.UTF-8"}
EN = {"LANG": "en_US.UTF-8"}


def test_unknown_option_in_japanese_then_english(course: dict[str, Path]) -> None:
    ja = command("ipynb_submit", ["--lst"], course["work"], JA)
    assert ja.returncode == 2
    assert ja.stdout == ""
    assert ja.stderr == (
        "使い方: ipynb_submit [OPTIONS] FILE [TARGET] | --all [TARGET] | --list\n"
        "'ipynb_submit --help' で使い方を表示できます。\n"
        "\n"
        "エラー: '--lst' というオプションはありません。 もしかして: '--all', '--list'\n"
    )
    en = command("ipynb_submit", ["--lst"], course["work"], {"LANG": "C"})
    assert en.returncode == 2
    assert en.stderr == (
        "Usage: ipynb_submit [OPTIONS] FILE [TARGET] | --all [TARGET] | --list\n"
        "Try 'ipynb_submit --help' for help.\n"
        "\n"
        "Error: No such option '--lst'. (Did you mean one of: '--all', '--list'?)\n"
    )
    one = command("ipynb_deploy", ["--dry-rn"], course["work"], {"LANGUAGE": "ja", "LANG": "C.UTF-8"})
    assert one.returncode == 2
    assert one.stderr.endswith("エラー: '--dry-rn' というオプションはありません。 もしかして: '--dry-run'\n")


def test_missing_argument_in_japanese_then_english(course: dict[str, Path]) -> None:
    ja = command("ipynb-tools", ["tocsv"], course["work"], JA)
    assert ja.returncode == 2
    assert ja.stderr == (
        "使い方: ipynb-tools tocsv [OPTIONS] BASE\n"
        "'ipynb-tools tocsv --help' で使い方を表示できます。\n"
        "\n"
        "エラー: 引数が足りません: 'BASE'.\n"
    )
    en = command("ipynb-tools", ["tocsv"], course["work"], EN)
    assert en.stderr.splitlines()[-1] == "Error: Missing argument 'BASE'."
    # an option without its value
    to = command("ipynb_deploy", ["--to"], course["work"], JA)
    assert (to.returncode, to.stderr) == (2, "エラー: オプション '--to' には値が 1 個必要です。\n")
    to_en = command("ipynb_deploy", ["--to"], course["work"], EN)
    assert to_en.stderr == "Error: Option '--to' requires an argument.\n"


def test_invalid_value_in_japanese_then_english(course: dict[str, Path]) -> None:
    word = command("ipynb_deploy", ["--step", "x"], course["work"], JA)
    assert word.returncode == 2
    assert word.stderr.splitlines() == [
        "使い方: ipynb_deploy [OPTIONS] [. | DEST [STEP] | SRC...]",
        "'ipynb_deploy --help' で使い方を表示できます。",
        "",
        "エラー: '--step' の値が正しくありません: 'x' は正しい数値（integer range）ではありません。",
    ]
    zero = command("ipynb_deploy", ["--step", "0"], course["work"], JA)
    assert zero.stderr.splitlines()[-1] == "エラー: '--step' の値が正しくありません: 0 は範囲 x>=1 に入っていません。"
    en = command("ipynb_deploy", ["--step", "x"], course["work"], EN)
    assert en.stderr.splitlines()[-1] == "Error: Invalid value for '--step': 'x' is not a valid integer range."
    # nothing was written in either language
    assert sorted(p.name for p in course["work"].iterdir()) == ["kadai-1.ipynb"]


def test_extra_argument_and_unknown_command_in_japanese(course: dict[str, Path]) -> None:
    extra = command("ipynb-tools", ["tocsv", "a", "b", "c"], course["work"], JA)
    assert extra.returncode == 2
    assert extra.stderr.splitlines()[-1] == "エラー: 余分な引数があります（b c）"
    unknown = command("ipynb-tools", ["submt"], course["work"], JA)
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[-1] == "エラー: 'submt' というコマンドはありません。"


def test_clicks_help_words_in_japanese_then_english(course: dict[str, Path]) -> None:
    ja = command("ipynb_submit", ["--help"], course["work"], JA)
    assert ja.returncode == 0
    lines = ja.stdout.splitlines()
    assert lines[0] == "使い方: ipynb_submit [OPTIONS] FILE [TARGET] | --all [TARGET] | --list"
    assert "オプション:" in lines
    assert re.search(r"^  -V, --version +バージョンを表示して終了します。$", ja.stdout, re.M)
    assert re.search(r"^  -h, --help +このメッセージを表示して終了します。$", ja.stdout, re.M)
    group = command("ipynb-tools", ["--help"], course["work"], {"LC_MESSAGES": "ja_JP.UTF-8", "LANG": "C.UTF-8"})
    assert group.stdout.startswith("使い方: ipynb-tools [OPTIONS] COMMAND [ARGS]...\n")
    assert "\nコマンド:\n" in group.stdout and "\nオプション:\n" in group.stdout
    version = command("ipynb_deploy", ["--version"], course["work"], JA)
    assert version.stdout.startswith("ipynb_deploy バージョン ")

    for language in ({"LANG": "C"}, EN, {"LANGUAGE": "en:ja", "LANG": "ja_JP.UTF-8"}):
        en = command("ipynb_submit", ["--help"], course["work"], language)
        assert en.stdout.startswith("Usage: ipynb_submit [OPTIONS]"), language
        assert "\nOptions:\n" in en.stdout and "Show this message and exit." in en.stdout
        assert not JAPANESE.search(en.stdout.replace(ACCESS, "")), language
        group_en = command("ipynb-tools", ["--help"], course["work"], language)
        assert "\nCommands:\n" in group_en.stdout and not JAPANESE.search(group_en.stdout)


def test_a_file_name_that_is_not_utf8_is_one_line_in_japanese(course: dict[str, Path]) -> None:
    """A file name whose bytes are not UTF-8 (a student's ``touch $'\\xff.ipynb'``): one line, never a traceback."""
    bad = course["work"] / os.fsdecode(b"bad\xff.ipynb")
    before = (course["work"] / "kadai-1.ipynb").read_bytes()
    bad.write_bytes(before)
    one = submit(course, JA, os.fsdecode(b"bad\xff.ipynb"))
    assert (one.returncode, one.stdout) == (1, "")
    assert one.stderr == (
        "ipynb_submit: エラー: 'bad\\udcff.ipynb': ファイル名が正しい UTF-8 ではありません。"
        "ノートブックの名前を変更してから提出してください\n"
    )
    every = submit(course, JA, "--all", "-q")
    assert every.returncode == 1 and "Traceback" not in every.stderr
    assert every.stderr.startswith("失敗: 'bad\\udcff.ipynb': ファイル名が正しい UTF-8 ではありません。")
    assert sorted(p.name for p in course["volume"].iterdir()) == ["kadai-1_alice.ipynb"]  # the others are handed in
    deployed = command("ipynb_deploy", ["."], course["work"], JA)
    assert deployed.returncode == 1 and "Traceback" not in deployed.stderr
    assert deployed.stderr == (
        "失敗: 'bad\\udcff.ipynb': ファイル名が正しい UTF-8 ではないため、filename: タグに書けません。"
        "ファイル名を変更してください\n"
    )
    assert bad.read_bytes() == before  # failed: not rewritten
