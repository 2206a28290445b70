"""An LMS page on another loopback origin, over TLS, for the embedding tests (issue 16 item 6).

- :func:`self_signed` writes a certificate for 127.0.0.1, 127.0.0.2, 127.0.0.3 and localhost
  (``cryptography``); browsers are told to accept it (``ignore_https_errors=True``), servers use it.
- :class:`LmsSite` is an HTTPS server on one loopback address that serves pages set by the test, as
  Moodle does for an embedded activity: the course page holds an ``<iframe>``, and the page inside it
  is an auto-submitting form that posts the signed LTI launch to the tool (Moodle's
  ``mod/lti/launch.php``). 127.0.0.1, 127.0.0.2 and 127.0.0.3 are different origins and different
  sites for the browser, so the hub's cookies in the frame are third-party cookies.
"""

from __future__ import annotations

import datetime
import html
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def self_signed(directory: Path) -> Certificate:
    """A one-day self-signed certificate (EC P-256) for the loopback addresses and ``localhost``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ipynb-tools embedding test")])
    now = datetime.datetime.now(datetime.UTC)
    sans = [x509.DNSName("localhost"), *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in LOOPBACK_NAMES)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(directory / "tls.crt", directory / "tls.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths.key.chmod(0o600)
    return paths


def course_page(frame_src: str) -> str:
    """The LMS's course page with the activity embedded (Moodle's launch container "embed")."""
    return (
        "<!doctype html><html><head><title>Moodle course</title></head><body>"
        "<h1>プログラミング演習</h1>"
        f'<iframe id="activity" name="activity" src="{html.escape(frame_src)}" width="1000" height="700"></iframe>'
        "</body></html>"
    )


def launch_form(action: str, signed_body: str) -> str:
    """Moodle's launch page inside the frame: the signed LTI 1.1 fields, posted to the tool at once."""
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in parse_qsl(signed_body)
    )
    return (
        "<!doctype html><html><body>"
        f'<form id="ltiLaunchForm" method="post" action="{html.escape(action)}" '
        'enctype="application/x-www-form-urlencoded">'
        f"{fields}</form><script>document.getElementById('ltiLaunchForm').submit();</script></body></html>"
    )


@dataclass
class LmsSite:
    """An HTTPS server on ``host`` (a loopback address) serving ``pages`` (path -> HTML, or a function of
    the query string giving HTML)."""

    host: str
    certificate: Certificate
    pages: dict[str, str | Callable[[dict[str, str]], str]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        assert self._server is not None
        return f"https://{self.host}:{self._server.server_address[1]}"

    def start(self) -> LmsSite:
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                page = pages.get(parts.path)
                if page is None:
                    self.send_error(404)
                    return
                text = page(dict(parse_qsl(parts.query))) if callable(page) else page
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate.cert, self.certificate.key)
        server = ThreadingHTTPServer((self.host, 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def browser_allowing_third_party_cookies(chromium: Any, profile: Path) -> Any:
    """A Chromium window whose user allows third-party cookies (a Playwright persistent ``BrowserContext``).

    Embedded in Moodle's page the hub's cookies are third-party cookies. Playwright's contexts are
    off-the-record profiles, which block them whatever their attributes; this Chromium's profiles block
    them by default as well ("UserPreferences"). Chrome's own default, and the setting Moodle sites ask
    users of embedded activities for, allows them: the profile's preference ``cookie_controls_mode`` 0.
    Even then Chromium sets and sends them only with ``SameSite=None; Secure``, which is what is tested.
    Close the returned context (it is its own browser process, started from the same executable).
    """
    from tests.browser import CHROMIUM_ARGS, chromium_path

    preferences = profile / "Default" / "Preferences"
    preferences.parent.mkdir(parents=True, exist_ok=True)
    preferences.write_text(json.dumps({"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}}))
    return chromium.browser_type.launch_persistent_context(
        str(profile), executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS, ignore_https_errors=True
    )


# -- looking at the course page's frame in Chromium (test_embedding_server, test_embedding_browser) --


def framed(context: Any, page_url: str) -> tuple[Any, Any, list[str]]:
    """Open ``page_url`` (a course page with an iframe) in a new page of ``context``: (page, frame, console)."""
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(page_url)
    page.wait_for_load_state("load")
    # a refused frame is swapped for Chromium's error document: on a loaded machine its name may be
    # missing for a moment after "load" (seen once in three runs here), so wait for it
    frame = page.frame(name="activity")
    deadline = time.monotonic() + 15
    while frame is None and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        frame = page.frame(name="activity")
    assert frame is not None, [f.name for f in page.frames]
    return page, frame, console


def refused(page: Any, frame: Any, console: list[str], framed_url: str) -> bool:
    """Chromium refused to show ``framed_url`` in the frame: its frame-ancestors console message, and the
    frame never shows that page (it ends on Chromium's error document; the wait allows for that)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        said = any("frame-ancestors" in line and "blocked" in line for line in console)
        if said and frame.url.startswith("chrome-error://"):
            break
        page.wait_for_timeout(200)
    said = any("frame-ancestors" in line and "blocked" in line for line in console)
    return said and not frame.url.startswith(framed_url)
