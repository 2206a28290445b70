"""A real JupyterHub over TLS inside Moodle's page, in headless Chromium (issue 16 item 6).

The hub (LTI 1.1 + LTIContainerSpawner, configured with ``configure_hub`` as docs/jupyterhub_config.py
does) is served over HTTPS on 127.0.0.1 by configurable-http-proxy; "Moodle" is another loopback
origin (https://127.0.0.2) whose course page frames Moodle's launch page, which posts the signed LTI
1.1 launch to the hub from inside the frame, as Moodle's "embed" launch container does. Checked:

- the launch logs in inside the frame and the hub's page shows there (its cookies are third-party
  cookies in that frame, set and sent only because they are ``SameSite=None; Secure``);
- the hub's answers carry ``frame-ancestors 'self' https://127.0.0.2:<port>``;
- the same course page served by https://127.0.0.3 (not allowed) is refused by ``frame-ancestors``;
- with a spawn: the user's server (a container from the test image) is reached inside the frame
  through the hub's OAuth, its cookies are ``SameSite=None; Secure`` too (``JUPYTERHUB_COOKIE_OPTIONS``),
  its answers carry the same policy (the server extension, from ``IPYNB_TOOLS_FRAME_ANCESTORS``), and
  a call from the framed page with those cookies is answered.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3

from tests.browser import artifact_dir
from tests.requirements import require_root, unavailable

from .hubrun import Hub, HubStartError, moodle_fields, signed_launch, start_hub
from .lmspage import (
    LmsSite,
    browser_allowing_third_party_cookies,
    course_page,
    framed,
    launch_form,
    refused,
    self_signed,
)

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.root]

HOST = "moodle.example.ac.jp"
COURSE = "97"
CUSTOM = {"lms_teachers": "tanaka", "lms_users": "*", "lms_iframe": "1", "lms_sessioninfo": "3,8"}


@pytest.fixture(scope="module")
def lms(tmp_path_factory) -> Iterator[tuple[Any, LmsSite, LmsSite]]:
    cert = self_signed(tmp_path_factory.mktemp("tls"))
    moodle = LmsSite("127.0.0.2", cert).start()
    other = LmsSite("127.0.0.3", cert).start()
    try:
        yield cert, moodle, other
    finally:
        moodle.stop()
        other.stop()


@pytest.fixture(scope="module")
def hub(lms, docker_engine, debian_image, tmp_path_factory) -> Iterator[Hub]:
    require_root("containers that run setup as root, bind mounts")
    cert, moodle, _ = lms
    extra = (
        "\n# docs/jupyterhub_config.py's embedding section, with the test's LMS origin\n"
        "from ipynb_tools.hub.embedding import configure_hub\n"
        f"configure_hub(c, [{moodle.origin!r}])\n"
        'c.LTI11Authenticator.uri_scheme = "https"\n'
        'c.JupyterHub.default_url = "/hub/home"  # a hub page; the spawn test asks for /hub/spawn (custom next)\n'
    )
    try:
        running = start_hub(
            tmp_path_factory.mktemp("hub"),
            image=debian_image,
            docker_url=docker_engine.url,
            tls=(cert.cert, cert.key),
            extra_config=extra,
        )
    except HubStartError as exc:
        unavailable(str(exc))
    client = docker_engine.client()
    try:
        yield running
    finally:
        for name in ("hana", "kenta"):
            with contextlib.suppress(Exception):  # best-effort cleanup: the server may be gone already
                running.api("DELETE", f"users/{name}/server")
        running.stop()
        for container in client.containers.list(all=True, filters={"label": f"io.ipynb-tools.host={HOST}"}):
            if container.labels.get("io.ipynb-tools.course") == COURSE:
                container.remove(force=True)
        for volume in client.volumes.list():
            if volume.name in ("ipt-e2e-home-hana", "ipt-e2e-home-kenta"):
                with contextlib.suppress(Exception):  # best-effort cleanup
                    volume.remove(force=True)


def insecure_get(url: str) -> requests.Response:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        return requests.get(url, verify=False, timeout=30)


def serve_launch(hub: Hub, site: LmsSite, user: str, custom: dict[str, str]) -> str:
    """Put Moodle's course page and its launch page (signed for ``user``) on ``site``; the course page's URL."""
    action = f"{hub.url}/hub/lti/launch"
    fields = moodle_fields(user, "Learner", custom, course=COURSE, host=HOST)
    site.pages[f"/launch-{user}"] = lambda _query: launch_form(action, signed_launch(action, fields))
    site.pages[f"/course-{user}"] = course_page(f"{site.origin}/launch-{user}")
    return f"{site.origin}/course-{user}"


def test_the_hub_works_inside_moodles_page_and_nowhere_else(hub: Hub, lms, chromium, tmp_path: Path) -> None:
    _, moodle, other = lms
    home = insecure_get(f"{hub.url}/hub/login")
    assert home.headers["Content-Security-Policy"] == f"frame-ancestors 'self' {moodle.origin}"

    context = browser_allowing_third_party_cookies(chromium, tmp_path / "profile")
    try:
        page, frame, console = framed(context, serve_launch(hub, moodle, "hana", CUSTOM))
        frame.wait_for_url(f"{hub.url}/hub/home", timeout=60_000)
        frame.wait_for_load_state("load")
        # the hub's home page for the logged-in user, inside Moodle's page
        assert "hana" in frame.content(), frame.content()[:2000]
        assert frame.locator("#start").count() == 1, frame.content()[:2000]  # "Start My Server"
        page.screenshot(path=str(artifact_dir("embedding") / "hub-in-lms.png"))
        cookies = {c["name"]: c for c in context.cookies(f"{hub.url}/hub/")}
        assert "jupyterhub-session-id" in cookies and "jupyterhub-hub-login" in cookies, cookies
        for cookie in cookies.values():
            assert (cookie["sameSite"], cookie["secure"]) == ("None", True), cookie
        # the same launch from an origin the hub does not name: refused by the browser
        page, frame, console = framed(context, serve_launch(hub, other, "kenta", CUSTOM))
        assert refused(page, frame, console, hub.url), (frame.url, console)
    finally:
        context.close()
    # (frame-ancestors stops the display of the answer, not the request: the signed launch itself reached
    # the hub; what the other origin cannot do is show the hub's pages inside its own)


def test_the_users_server_works_inside_moodles_page(hub: Hub, lms, chromium, docker_engine, tmp_path: Path) -> None:
    _, moodle, _ = lms
    context = browser_allowing_third_party_cookies(chromium, tmp_path / "profile")
    try:
        page, frame, _console = framed(context, serve_launch(hub, moodle, "hana", {**CUSTOM, "next": "/hub/spawn"}))
        visited: list[str] = []
        page.on("response", lambda response: visited.append(response.url))
        # spawn page -> the server (its default URL: the test image has no JupyterLab, a 404 page)
        frame.wait_for_url(f"{hub.url}/user/hana/**", timeout=240_000)
        frame.wait_for_load_state("load")
        # an authenticated page of the server, inside the frame: the hub's OAuth runs there
        # (/files/ is one in plain jupyter_server; the file need not exist)
        frame.goto(f"{hub.url}/user/hana/files/.probe")
        assert frame.url == f"{hub.url}/user/hana/files/.probe", frame.url
        assert any("/hub/api/oauth2/authorize" in url for url in visited), visited
        assert any("/user/hana/oauth_callback" in url for url in visited), visited
        # a page of the server that is not sandboxed (/files/ answers carry CSP "sandbox"): with no
        # JupyterLab in the test image, its 404 page; it sets the _xsrf cookie for the logged-in user
        frame.goto(f"{hub.url}/user/hana/lab")
        page.screenshot(path=str(artifact_dir("embedding") / "server-in-lms.png"))
        # what JupyterLab does: an API call with the OAuth cookie and the _xsrf cookie's value as X-XSRFToken
        answered = frame.evaluate(
            """async () => {
                const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
                const r = await fetch('/user/hana/api/status', {headers: {'X-XSRFToken': decodeURIComponent(xsrf)}});
                return [r.status, r.headers.get('content-security-policy'), xsrf !== ''];
            }"""
        )
        assert answered[2], "no _xsrf cookie readable inside the frame"
        assert answered[0] == 200, answered  # the server's cookies came back from inside the frame
        assert answered[1].startswith(f"frame-ancestors 'self' {moodle.origin}"), answered
        cookies = {c["name"]: c for c in context.cookies(f"{hub.url}/user/hana/")}
        assert "jupyterhub-user-hana" in cookies, cookies
        assert "_xsrf" in cookies, cookies
        for name in ("jupyterhub-user-hana", "_xsrf"):
            assert (cookies[name]["sameSite"], cookies[name]["secure"]) == ("None", True), cookies[name]
    finally:
        context.close()
    [container] = docker_engine.client().containers.list(filters={"label": "io.ipynb-tools.user=hana"})
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    assert env["IPYNB_TOOLS_FRAME_ANCESTORS"] == moodle.origin
    assert env["JUPYTERHUB_COOKIE_OPTIONS"] == '{"samesite": "None", "secure": true}'
