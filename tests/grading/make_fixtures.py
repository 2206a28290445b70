"""Regenerate tests/data/grading (run by hand: python tests/grading/make_fixtures.py).

The notebooks are what Jupyter writes for a small deployed task and three
students' hand-ins (one per recognised form), plus files in bad shape. The
golden outputs under expected/ are made by the code under test and then checked
by eye; regenerate them only on purpose.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "grading"

KERNEL = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "version": "3.11.2"},
}


def dump(path: Path, nb: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def code(source: str, n: int | None, cid: str, outputs: list | None = None, count: int | None = None) -> dict:
    tags = [] if n is None else ["filename:kadai-1.ipynb", f"codenum:{n}"]
    return {
        "cell_type": "code",
        "execution_count": count,
        "id": cid,
        "metadata": {"tags": tags} if tags else {},
        "outputs": outputs or [],
        "source": source,
    }


def md(source: str, cid: str) -> dict:
    return {"cell_type": "markdown", "id": cid, "metadata": {}, "source": source}


def stream(text: str) -> dict:
    return {"name": "stdout", "output_type": "stream", "text": text}


def result(text: str, count: int) -> dict:
    return {"data": {"text/plain": text}, "execution_count": count, "metadata": {}, "output_type": "execute_result"}


def error(ename: str, evalue: str) -> dict:
    return {
        "ename": ename,
        "evalue": evalue,
        "output_type": "error",
        "traceback": [f"\u001b[0;31m{ename}\u001b[0m: {evalue}"],
    }


def task() -> dict:
    return {
        "cells": [
            md("# 課題1: Python の基本\n\n各セルを完成させなさい。", "t-intro"),
            code("# 1. 'Hello, world' を表示する\n", 1, "t-c1"),
            code("# 2. 1 から 10 までの和\ntotal = 0\n", 2, "t-c2"),
            md("次は関数です。", "t-md2"),
            code("def square(x):\n    # 3. x の二乗を返す\n    pass\n", 3, "t-c3"),
            code("square(12)\n", 4, "t-c4"),
        ],
        "metadata": copy.deepcopy(KERNEL),
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def alice() -> dict:
    nb = task()
    c = nb["cells"]
    c[1] = code("print('Hello, world')\n", 1, "t-c1", [stream("Hello, world\n")], 1)
    c[2] = code("total = sum(range(1, 11))\ntotal\n", 2, "t-c2", [result("55", 2)], 2)
    c[4] = code("def square(x):\n    return x * x\n", 3, "t-c3", [], 3)
    c[5] = code("square(12)\n", 4, "t-c4", [result("144", 4)], 4)
    nb["metadata"]["ipynb_tools"] = {
        "submission": {
            "user": "alice",
            "submitted_at": "2024-04-17T10:05:00Z",
            "source_sha256": "0" * 64,
            "source_name": "kadai-1.ipynb",
        }
    }
    return nb


def bob() -> dict:
    nb = task()
    c = nb["cells"]
    c[1] = code(
        "print('Hello, world'\n", 1, "t-c1", [error("SyntaxError", "'(' was never closed (3470425140.py, line 1)")], 1
    )
    c[2] = code("# 2. 1 から 10 までの和\ntotal = 0\n", 2, "t-c2", [], None)  # untouched, never run
    del c[4]  # deleted cell 3
    c[4] = code("square(12)\n", 4, "t-c4", [error("NameError", "name 'square' is not defined")], 3)
    c.append(code("print('extra work 日本語')\n", None, "b-extra", [stream("extra work 日本語\n")], 4))
    return nb


def carol() -> dict:
    nb = task()
    nb["nbformat_minor"] = 4
    c = nb["cells"]
    c[1] = code("print('Hello, world')\n", 1, "t-c1", [stream("Hello, world\n")], 1)
    c[2] = code("total = 0\nfor i in range(1, 11):\n    total += i\nprint(total)\n", 2, "t-c2", [stream("55\n")], 2)
    c[4] = code("def square(x):\n    return x ** 2\n", 3, "t-c3", [], 3)
    # a copied cell keeps its tags: two cells numbered 4
    c[5] = code("square(12)\n", 4, "t-c4", [result("144", 4)], 4)
    c.append(code("square(3)\n", 4, "t-c4-copy", [result("9", 5)], 5))
    for cell in c:
        del cell["id"]  # nbformat 4.4 has no cell ids
    return nb


def dave_other() -> dict:
    nb = task()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["metadata"]["tags"][0] = "filename:kadai-2.ipynb"
    nb["metadata"]["ipynb_tools"] = {
        "submission": {
            "user": "dave",
            "submitted_at": "2024-04-18T08:00:00Z",
            "source_sha256": "1" * 64,
            "source_name": "kadai-2.ipynb",
        }
    }
    return nb


def main() -> None:
    for sub in ("task", "submit"):
        shutil.rmtree(DATA / sub, ignore_errors=True)
    dump(DATA / "task" / "kadai-1.ipynb", task())
    dump(DATA / "submit" / "kadai-1_alice.ipynb", alice())
    dump(DATA / "submit" / "kadai-1_bob.ipynb", bob())
    dump(DATA / "submit" / "carol_kadai-1.ipynb", carol())
    dump(DATA / "submit" / "kadai-2_dave.ipynb", dave_other())
    (DATA / "submit" / "kadai-1_mallory.ipynb").write_text('{"cells": [', encoding="utf-8")
    (DATA / "submit" / "kadai-1_oldver.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 3, "nbformat_minor": 0}) + "\n", encoding="utf-8"
    )
    (DATA / "submit" / "readme.txt").write_text("not a notebook\n", encoding="utf-8")


def golden() -> None:
    """expected/ and graded/: made by the code under test, checked by eye when regenerated."""
    from ipynb_tools.grading.extract import extract
    from ipynb_tools.grading.scores import write_scores

    for sub in ("expected", "graded"):
        shutil.rmtree(DATA / sub, ignore_errors=True)
        (DATA / sub).mkdir()
    extract("kadai-1.ipynb", [1, 3], DATA / "submit", DATA / "expected")
    extract("kadai-1", [4], DATA / "submit", DATA / "expected", nonum=True)
    # graded/: the grader typed scores into the extracted notebooks (one with a comment, one a float)
    scores = {
        "001": {"alice": "10", "bob": "3  # syntax error in 1", "carol": "10"},
        "004": {"alice": "5", "bob": "0", "carol": "4.5"},
    }
    for number, by_user in scores.items():
        nb = json.loads((DATA / "expected" / f"{number}-kadai-1.ipynb").read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            for tag in cell.get("metadata", {}).get("tags", []):
                if tag.startswith("user: "):
                    cell["source"] = by_user[tag[6:]]
        dump(DATA / "graded" / f"{number}-kadai-1.ipynb", nb)
    write_scores("kadai-1", DATA / "graded", out=DATA / "expected" / "kadai-1.csv")


if __name__ == "__main__":
    main()
    golden()
