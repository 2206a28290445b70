"""A real jupyter_server with the extension, framed by the LMS in headless Chromium (issue 16 item 6).

The server runs over TLS on 127.0.0.1 with ``IPYNB_TOOLS_FRAME_ANCESTORS`` as the spawner passes it;
"Moodle" (https://127.0.0.2) frames the server's login page; inside the frame the user logs in
(a form POST that needs the ``_xsrf`` cookie) and reaches an authenticated page (the login cookie):
both are third-party cookies there, so this works only with ``SameSite=None; Secure``. The same page
on https://127.0.0.3 (not in the list) is refused by ``frame-ancestors``; so is the server without
the variable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import urllib3

from ipynb_tools.hub.embedding import FRAME_ANCESTORS_ENV
from tests.browser import artifact_dir
from tests.hub.hubrun import free_port
from tests.hub.lmspage import (
    Certificate,
    LmsSite,
    browser_allowing_third_party_cookies,
    course_page,
    framed,
    refused,
    self_signed,
)

pytestmark = pytest.mark.slow  # a jupyter_server process and Chromium windows per test
TOKEN = "embedding-test-token"


def insecure_get(url: str) -> requests.Response:
    """GET from a loopback server with the test's self-signed certificate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        return requests.get(url, verify=False, timeout=10)


@contextmanager
def jupyter_server(tmp: Path, cert: Certificate, env: dict[str, str]) -> Iterator[str]:
    """``python -m jupyter_server`` over TLS on 127.0.0.1 with the ipynb-tools extension (as installed)."""
    port = free_port()
    root = tmp / "root"
    root.mkdir()
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - the child writes it until the end of the block
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.certfile={cert.cert}",
            f"--ServerApp.keyfile={cert.key}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
            "--ServerApp.allow_root=True",
        ],
        env={**os.environ, "HOME": str(tmp), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp / "server.log").read_text()
            try:
                if insecure_get(f"{url}/api/status?token={TOKEN}").ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (tmp / "server.log").read_text()
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[tuple[Certificate, LmsSite, LmsSite]]:
    cert = self_signed(tmp_path)
    moodle = LmsSite("127.0.0.2", cert).start()
    other = LmsSite("127.0.0.3", cert).start()
    try:
        yield cert, moodle, other
    finally:
        moodle.stop()
        other.stop()


def test_the_lms_frames_a_real_server_and_its_cookies_work_only_there(chromium, sites, tmp_path: Path) -> None:
    cert, moodle, other = sites
    with jupyter_server(tmp_path, cert, {FRAME_ANCESTORS_ENV: moodle.origin}) as url:
        login = f"{url}/login?next=%2Fapi%2Fstatus"
        page_html = course_page(login)
        moodle.pages["/course"] = page_html
        other.pages["/course"] = page_html

        response = insecure_get(login)
        assert response.headers["Content-Security-Policy"].startswith(f"frame-ancestors 'self' {moodle.origin}")

        context = browser_allowing_third_party_cookies(chromium, tmp_path / "profile")
        try:
            page, frame, console = framed(context, f"{moodle.origin}/course")
            frame.wait_for_selector("input[type=password]")
            frame.fill("input[type=password]", TOKEN)
            frame.locator("form").first.get_by_role("button").click()
            frame.wait_for_url(f"{url}/api/status")
            assert '"started"' in frame.content(), frame.content()[:2000]  # the login cookie came back
            page.screenshot(path=str(artifact_dir("embedding") / "jupyter-server-in-lms.png"))
            cookies = {c["name"]: c for c in context.cookies(url)}
            login_cookies = [c for name, c in cookies.items() if name.startswith("username-")]
            assert "_xsrf" in cookies and login_cookies, cookies
            for cookie in [cookies["_xsrf"], *login_cookies]:
                assert (cookie["sameSite"], cookie["secure"]) == ("None", True), cookie

            page, frame, console = framed(context, f"{other.origin}/course")
            assert refused(page, frame, console, url), (frame.url, console)
        finally:
            context.close()


def test_without_the_origins_the_server_cannot_be_framed(chromium, sites, tmp_path: Path) -> None:
    cert, moodle, _ = sites
    with jupyter_server(tmp_path, cert, {}) as url:
        moodle.pages["/course"] = course_page(f"{url}/login")
        context = chromium.new_context(ignore_https_errors=True)
        page, frame, console = framed(context, f"{moodle.origin}/course")
        assert refused(page, frame, console, url), (frame.url, console)
        context.close()


def test_a_framed_server_without_samesite_none_cookies_cannot_log_in(chromium, sites, tmp_path: Path) -> None:
    """The control: the frame is allowed (the CSP alone, set by hand) but the cookies keep tornado's
    defaults; the browser, which allows third-party cookies, still refuses them, so no login."""
    cert, moodle, _ = sites
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.py").write_text(
        "c.ServerApp.tornado_settings = {'headers': "
        f"{{'Content-Security-Policy': \"frame-ancestors 'self' {moodle.origin}\"}}}}\n"
    )
    with jupyter_server(tmp_path, cert, {"JUPYTER_CONFIG_DIR": str(config)}) as url:
        login = f"{url}/login?next=%2Fapi%2Fstatus"
        assert insecure_get(login).headers["Content-Security-Policy"].startswith("frame-ancestors 'self' https://")
        moodle.pages["/course"] = course_page(login)
        context = browser_allowing_third_party_cookies(chromium, tmp_path / "profile")
        try:
            page, frame, _console = framed(context, f"{moodle.origin}/course")
            frame.wait_for_selector("input[type=password]")
            assert not context.cookies(url)  # the _xsrf cookie was refused
            frame.fill("input[type=password]", TOKEN)
            with page.expect_response(lambda r: r.request.method == "POST") as posted:
                frame.locator("form").first.get_by_role("button").click()
            assert posted.value.status == 403  # XSRF: the cookie never came back
            assert not context.cookies(url)
        finally:
            context.close()
