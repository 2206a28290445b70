"""A demo course in a local folder: the whole life of an assignment, end to end.

``python -m ipynb_tools.demo DIR`` (``make demo``) runs, on the bundled sample
notebooks and with the real library code:

1. params  - the course's LTI custom parameters are checked; who mounts what is shown;
2. deploy  - the teacher numbers the notebooks into the task volume;
3. start   - each student's start copies the task into their personal directory (sync);
4. work    - the students answer (the demo writes answers and outputs into their copies) and
             run their cells in real kernels: the server extension's capture records every
             ``execute_request``/``execute_reply`` (:mod:`.kernelruns`); the records, kept in
             each student's spool, are stored as that student in the SQLite store
             ``DIR/execlog.sqlite`` (no hub, so no collector: the library call it makes);
5. submit  - each student hands in: receipts, metadata, the submit volume;
6. grade   - extract cells into a grading notebook, scores typed in, ``tocsv``;
7. analyse - per-cell analysis of all submissions, and the HTML report with the
             execution-log charts, read from that store (``report --db``).

Volumes are plain directories here (``DIR/volumes/<full name>``): the ownership
and mode steps of container start need root and real containers, and are
proven by the container tests (``tests/containers``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IpynbToolsError
from ..volumes.naming import VolumeKind, full_name

COURSE = Path(__file__).parent / "course"
MARKER = ".ipynb-tools-demo"
COURSE_ID = "101"
#: The LTI activity the students launched (the demo records their launches as the spawner would).
LTI_ID = "7"
LMS_HOST = "lms.example.ac.jp"
TEACHER = "tanaka"
STUDENTS = ("alice", "bob", "chen", "daisuke")
PARAMS_TEXT = (
    "lms_users=*\r\n"
    f"lms_teachers={TEACHER}\r\n"
    "lms_image=jupyter/base-notebook\r\n"
    "lms_cpulimit=1.0\r\n"
    "lms_memlimit=1G\r\n"
    "lms_defurl=/lab\r\n"
    "lms_vol_kadai=-課題\r\n"
    "lms_prs_kadai=課題\r\n"
    "lms_sub_kadai=課題提出\r\n"
)

#: What each student writes into the cells of kadai-1 (codenum -> source, output or error).
ANSWERS: dict[str, dict[int, tuple[str, str | None, str | None]]] = {
    "alice": {
        1: ("name = 'Alice'\nprint(f'こんにちは、{name}')", "こんにちは、Alice\n", None),
        2: ("total = sum(range(1, 101))\nprint(total)", "5050\n", None),
        3: ("def square(x):\n    return x * x\n\nprint(square(12))", "144\n", None),
        4: ("assert square(3) == 9\nprint('OK')", "OK\n", None),
    },
    "bob": {
        1: ("name = 'Bob'\nprint(f'こんにちは、{name}')", "こんにちは、Bob\n", None),
        2: ("total = 0\nfor i in range(100):\n    total += i\nprint(total)", "4950\n", None),
        3: ("def square(x):\n    x * x\n\nprint(square(12))", "None\n", None),
        4: ("assert square(3) == 9\nprint('OK')", None, "AssertionError"),
    },
    "chen": {
        1: ("name = '陳'\nprint(f'こんにちは、{name}')", "こんにちは、陳\n", None),
        2: ("total = sum(range(101))\nprint(total)", "5050\n", None),
    },
    "daisuke": {
        1: ("name = '大輔'\nprint(f'こんにちは、{name}')", "こんにちは、大輔\n", None),
        2: ("print(sum(range(1, 101))", None, "SyntaxError"),
        3: ("square = lambda x: x ** 2\nprint(square(12))", "144\n", None),
    },
}
SCORES = {"alice": 10, "bob": 6, "chen": 4, "daisuke": 7}


class DemoError(IpynbToolsError):
    """The demo cannot run in the given directory."""


@dataclass
class DemoResult:
    """Where the demo left its results."""

    root: Path
    task: Path
    submit: Path
    grading_notebook: Path
    scores_csv: Path
    report: Path
    execlog: Path
    receipts: list[str] = field(default_factory=list)


def _full(kind: VolumeKind) -> str:
    return full_name(kind, "kadai", COURSE_ID, LMS_HOST)


def prepare(root: Path) -> None:
    """Make ``root`` an empty demo folder; refuse to clear a folder the demo did not make."""
    if root.exists():
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise DemoError(f"{root}: exists and is not a demo folder; choose another directory")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by python -m ipynb_tools.demo; safe to delete\n")


def answer(notebook: Path, user: str) -> None:
    """Write ``user``'s answers (source, outputs, execution counts) into their copy of kadai-1."""
    from ..notebook import read_notebook, write_notebook
    from ..tags import cell_codenum

    nb = read_notebook(notebook)
    count = 0
    for cell in nb["cells"]:
        number = cell_codenum(cell) if cell.get("cell_type") == "code" else None
        if number is None or number not in ANSWERS[user]:
            continue
        source, output, error = ANSWERS[user][number]
        count += 1
        cell["source"] = source
        cell["execution_count"] = count
        if error:
            cell["outputs"] = [{"output_type": "error", "ename": error, "evalue": "demo", "traceback": [error]}]
        else:
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": output}]
    write_notebook(notebook, nb)


def set_scores(grading_notebook: Path, scores: dict[str, int]) -> None:
    """What a grader does by hand: type each student's score into their score cell."""
    from ..notebook import read_notebook, write_notebook
    from ..tags import cell_user

    nb = read_notebook(grading_notebook)
    for cell in nb["cells"]:
        user = cell_user(cell)
        if user in scores:
            cell["source"] = str(scores[user])
    write_notebook(grading_notebook, nb)


def record_runs(base: Path, personal: dict[str, Path], execlog: Path, say: Callable[[str], None]) -> None:
    """Each student's kernel runs their answered cells, captured; the spools are stored as the students.

    Every student launched the course's LTI activity (recorded as the spawner records a launch),
    so their records carry course :data:`COURSE_ID` and LTI id :data:`LTI_ID`.
    """
    from ..environ import UserPaths
    from ..execlog.buffer import Spool
    from ..execlog.importer import import_spool
    from ..execlog.records import now_us
    from ..execlog.store import Launch, Store
    from .kernelruns import run_cells, start_kernels, stop_kernels

    states = {user: UserPaths.for_user(user, home_root=base / "home").state for user in STUDENTS}
    for state in states.values():
        state.mkdir(parents=True, exist_ok=True)
    managers = start_kernels(personal, {user: state / "kernel.log" for user, state in states.items()})
    try:
        with Store.open(execlog) as store:
            for user in STUDENTS:
                store.record_launch(Launch(user, COURSE_ID, LTI_ID, None, now_us()))
                paths = UserPaths.for_user(user, home_root=base / "home")
                spool = Spool(paths.state / "execlog-spool")
                notebook = personal[user] / "kadai-1.ipynb"
                runs = run_cells(managers[user], notebook, paths.home, spool, set(ANSWERS[user]))
                shown = ", ".join(f"{r.codenum}:{r.status}" + (f"({r.ename})" if r.ename else "") for r in runs)
                held = len([line for seg in spool.pending() for line in spool.read(seg)])
                stored = import_spool(store, spool, user)
                say(f"   {user}: ran {shown}; {held} records captured in the spool, {stored.stored} stored as {user}")
    finally:
        stop_kernels(managers)
    say(
        f"   (no JupyterHub here, so no collector: each spool was stored with the library call the collector makes"
        f" for a user's token, into {execlog})"
    )


def run_demo(root: str | os.PathLike[str], say: Callable[[str], None] = print) -> DemoResult:
    """Run the whole demo into ``root`` (see the module docstring); return where things are."""
    from ..deploy import deploy
    from ..environ import UserPaths
    from ..execlog.query import Filters
    from ..grading.extract import extract
    from ..grading.report import build_report
    from ..grading.scores import write_scores
    from ..params.rules import mounts
    from ..params.text import parse
    from ..params.validate import validate
    from ..submit import submit_notebook
    from ..sync import sync_tree

    base = Path(root).resolve()
    prepare(base)
    volumes = base / "volumes"
    task, submit = volumes / _full(VolumeKind.TASK), volumes / _full(VolumeKind.SUBMIT)
    task.mkdir(parents=True)
    submit.mkdir()
    os.chmod(submit, 0o3777)

    say(f"== 1. params: the course's custom parameters ({base / 'params.txt'})")
    (base / "params.txt").write_bytes(PARAMS_TEXT.encode())
    params = parse(PARAMS_TEXT, "params.txt")
    findings = validate(PARAMS_TEXT, source_name="params.txt")
    say(f"   {len(findings)} finding(s)" + "".join(f"\n   {f.format('params.txt')}" for f in findings))
    for user, teacher in ((TEACHER, True), (STUDENTS[0], False)):
        got = mounts(params, user, teacher=teacher, course=COURSE_ID, host=LMS_HOST)
        shown = ", ".join(f"{m.kind}:{m.full_name} link={m.link}" for m in got)
        say(f"   {user} ({'teacher' if teacher else 'student'}) mounts: {shown}")

    say("== 2. deploy: the teacher numbers the notebooks into the task volume")
    teacher_dir = base / "teacher"
    shutil.copytree(COURSE, teacher_dir)
    report = deploy([teacher_dir], task)
    say(f"   {report.summary()}")

    say("== 3. start: each student's start copies the task volume into their personal directory")
    personal: dict[str, Path] = {}
    for user in STUDENTS:
        personal[user] = UserPaths.for_user(user, home_root=base / "home").volume(_full(VolumeKind.PERSONAL))
        personal[user].mkdir(parents=True, mode=0o700)
        synced = sync_tree(task, personal[user], durable=False)
        say(f"   {user}: {synced.summary()}")

    say("== 4. work: students answer kadai-1 and run their cells in real kernels (execution log captured)")
    execlog = base / "execlog.sqlite"
    for user in STUDENTS:
        answer(personal[user] / "kadai-1.ipynb", user)
    record_runs(base, personal, execlog, say)

    say("== 5. submit: students hand kadai-1 in")
    receipts = []
    for user in STUDENTS:
        home = UserPaths.for_user(user, home_root=base / "home").home
        env = {**os.environ, "NB_HOME": str(home), "HOME": str(home), "NB_USER": user, "JUPYTERHUB_USER": user}
        receipt = submit_notebook(personal[user] / "kadai-1.ipynb", submit, user=user, env=env)
        receipts.append(receipt.line())
        say(f"   {receipt.line()}")

    say("== 6. grade: extract cells 1-4 of every submission, type scores, make the table")
    grading = base / "grading"
    grading.mkdir()
    grading_notebook = extract("kadai-1.ipynb", [1, 2, 3, 4], submit, grading)
    set_scores(grading_notebook, SCORES)
    (scores_csv,) = [p for p in write_scores("kadai-1.ipynb", grading) if p.suffix == ".csv"]
    say(f"   {grading_notebook.name} -> {scores_csv}")
    say("   " + scores_csv.read_text(encoding="utf-8").replace("\n", "\n   ").rstrip())

    say(f"== 7. analyse: per-cell analysis and the HTML report with the execution-log charts from {execlog.name}")
    (base / "report").mkdir()
    result = build_report(
        base / "report" / "report.html",
        submit_dir=submit,
        task_dir=task,
        db=execlog,
        filters=Filters(course=COURSE_ID),
        title="Demo course 101: kadai-1",
    )
    say(f"   {len(result.renderings)} notebooks rendered; report: {result.path}")
    (base / "receipts.json").write_text(json.dumps(receipts, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    report_path = base / "report" / "report.html"
    return DemoResult(base, task, submit, grading_notebook, scores_csv, report_path, execlog, receipts)
