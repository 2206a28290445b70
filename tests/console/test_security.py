"""Who may do what, checked on the server through a real hub and browser (issue 15): a student cannot open
teacher pages, a teacher of one course gets a 403 that reveals nothing on another, a POST without the
XSRF token is refused, a hub admin sees every course, and no secret appears in any page."""

from __future__ import annotations

import pytest

from .conftest import INSTRUCTOR, LMS_PASSWORD, teacher_custom
from .hubconsole import ADMIN, ConsoleHub

pytestmark = pytest.mark.slow

TEACHER_PAGES = ["", "users", "volumes", "volumes/delete?volume=lms_vol_ex1_94_moodle.example.ac.jp"]


def status_and_main(page, url: str) -> tuple[int, str]:
    reply = page.goto(url)
    return reply.status, page.inner_html("main")


def test_access_rules_and_secrets(engine_login, engine_console_hub: ConsoleHub, docker_engine) -> None:
    hub = engine_console_hub
    base = hub.console_url
    student = engine_login("ito", "Learner", teacher_custom("sato"), course="94")
    engine_login("abe", INSTRUCTOR, teacher_custom("abe"), course="93").context.close()
    teacher = engine_login("sato", INSTRUCTOR, teacher_custom("sato"), course="94")
    admin = engine_login(ADMIN, "Learner", teacher_custom("sato"), course="92")

    # the refusal page says nothing about the course: the same for a course that exists and one that does not
    refused = status_and_main(teacher, base + "course/99999/")
    assert refused[0] == 403 and "You may not open this page." in refused[1]
    for page in TEACHER_PAGES:
        assert status_and_main(teacher, base + f"course/93/{page}".replace("_94_", "_93_")) == refused
        assert status_and_main(student, base + f"course/94/{page}") == refused
        # their own course: the page (a volume that does not exist is a plain 404 there)
        assert status_and_main(teacher, base + f"course/94/{page}")[0] == (404 if "delete" in page else 200)
    assert status_and_main(student, base + "course/..%2F94/")[0] in (403, 404)
    student.goto(base)
    assert student.locator("a[href*='/course/']").count() == 0  # a student sees no course
    assert status_and_main(student, base + "me")[0] == 200

    # a POST without the XSRF token is refused, and does nothing (cookies are sent, the token is not)
    assert hub.api("POST", "users/ito/server").status_code in (201, 202)
    reply = teacher.request.post(base + "course/94/users/action", form={"user": "ito", "action": "stop"})
    assert reply.status == 403
    reply = student.request.post(base + "me/reset", form={})
    assert reply.status == 403
    # the teacher's own form (with the token) works; a student cannot act on another user's server
    reply = student.request.post(
        base + "course/94/users/action",
        form={"user": "sato", "action": "stop", "_xsrf": student_xsrf(student)},
    )
    assert reply.status == 403

    # a hub admin sees every course and opens any
    admin.goto(base)
    listed = admin.inner_text("main")
    assert "94" in listed and "93" in listed
    assert status_and_main(admin, base + "course/93/")[0] == 200

    # no secret in any page any of them saw: the console's hub token, the tests' token, the LMS password,
    # the engine's TLS key and its directory
    pages = []
    for who, paths in (
        (teacher, ["", "course/94/", "course/94/users", "course/94/volumes", "me"]),
        (admin, ["", "course/93/", "course/93/users", "course/93/volumes", "me"]),
        (student, ["", "me", "course/94/"]),
    ):
        for path in paths:
            who.goto(base + path)
            pages.append(who.content())
    text = "\n".join(pages)
    assert "The LMS cannot be read" in text  # the adapter was tried: its problem line is shown, without secrets
    secrets = [hub.console_token, hub.token, LMS_PASSWORD]
    if docker_engine.tls_dir:
        secrets += [str(docker_engine.tls_dir), (docker_engine.tls_dir / "key.pem").read_text().splitlines()[1]]
    for secret in secrets:
        assert secret not in text


def student_xsrf(page) -> str:
    """The XSRF token of the student's own page (the reset form)."""
    page.goto(page.url.split("/services/console/")[0] + "/services/console/me")
    return page.locator("input[name='_xsrf']").first.get_attribute("value")
