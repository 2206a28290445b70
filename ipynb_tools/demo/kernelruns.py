"""The demo's students run their cells in real kernels, and the server extension's capture records them.

What a student's single-user server does, without the web server around it: each student gets a
real IPython kernel (``jupyter_client``, the current interpreter's ``ipykernel``) started in their
personal directory; each answered cell of their copy of the notebook is sent to it as the
``execute_request`` a browser sends on the kernel websocket (JSON protocol, with the cell id in
the metadata) through a connection made of the capture's own :class:`RecordingMixin` over a small
link to the kernel's shell socket (the part jupyter_server's ``ZMQChannelsWebsocketConnection``
plays in a server), and the kernel's ``execute_reply`` comes back through it as raw ZMQ frames.
The capture (:class:`ipynb_tools.execlog.capture.Capture`) attributes each run to the notebook
and its numbered cell and hands the records to its :class:`~ipynb_tools.execlog.client.Sender`,
which spools them on disk.

There is no collector in the demo: the collector takes records only with a JupyterHub token,
and the demo has no hub. The sender posts to a local port where nothing listens, so the records
stay in each student's spool as they do while a collector is away; the demo then stores each
spool with :func:`ipynb_tools.execlog.importer.import_spool` as that student, the same
``Store.ingest(..., as_user=...)`` call the collector makes for a token the hub vouched for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IpynbToolsError
from ..execlog.buffer import Spool
from ..execlog.capture import Capture, RecordingMixin
from ..execlog.client import Sender

#: How long a kernel may take to start and to answer one cell (s).
KERNEL_TIMEOUT = 60.0

log = logging.getLogger("ipynb_tools.demo")


class KernelRunError(IpynbToolsError):
    """A demo kernel could not be started or did not answer."""


@dataclass(frozen=True)
class Run:
    """One cell a student ran: its codenum, and the kernel's reply status and error name."""

    codenum: int | None
    status: str
    ename: str | None


class _Sessions:
    """The one kernel session of a student's server: what jupyter_server's session manager lists."""

    def __init__(self, kernel_id: str, path: str) -> None:
        self._sessions = [{"kernel": {"id": kernel_id}, "path": path, "type": "notebook"}]

    async def list_sessions(self) -> list[dict[str, Any]]:
        return self._sessions


class _ShellLink:
    """The kernel side of a websocket connection: client messages to the shell socket, replies read back."""

    def __init__(self, session: Any, shell: Any, kernel_id: str) -> None:
        self.session = session
        self.shell = shell
        self.kernel_id = kernel_id
        self.subprotocol: str | None = None  # the JSON websocket protocol
        self.log = log
        self.replies: list[list[bytes]] = []

    def handle_incoming_message(self, incoming_msg: str) -> None:
        msg = json.loads(incoming_msg)
        msg.pop("channel", None)
        self.session.send(self.shell, msg)

    def handle_outgoing_message(self, stream: str, outgoing_msg: list[Any]) -> None:
        self.replies.append(outgoing_msg)


class _Connection(RecordingMixin, _ShellLink):
    """The capture's mixin over the shell link, as :func:`ipynb_tools.execlog.capture.install` builds it."""


@contextlib.contextmanager
def _refused_url() -> Iterator[str]:
    """A loopback URL on a port held closed for the duration: every post to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}/"


def start_kernels(cwds: dict[str, Path], logs: dict[str, Path]) -> dict[str, Any]:
    """Start one kernel per user, all at once: user -> ``KernelManager``.

    Each kernel runs in ``cwds[user]`` and writes its output to ``logs[user]``.

    Raises :class:`KernelRunError` when ``ipykernel`` is missing or a kernel does not start.
    """
    try:
        import ipykernel  # noqa: F401  # the kernel the managers start
        from jupyter_client.manager import KernelManager
    except ModuleNotFoundError as exc:
        raise KernelRunError(f"the demo's kernels need {exc.name!r}: pip install ipykernel") from None
    managers: dict[str, Any] = {}
    try:
        for user, cwd in cwds.items():
            km = KernelManager(kernel_name="python3")
            with open(logs[user], "ab") as out:  # the kernel keeps its own descriptor
                km.start_kernel(cwd=str(cwd), stdout=out, stderr=out)
            managers[user] = km
    except Exception as exc:  # noqa: BLE001 - whatever the kernel launcher raises, the demo says it in one line
        stop_kernels(managers)
        raise KernelRunError(f"cannot start a kernel for the demo ({exc})") from None
    return managers


def stop_kernels(managers: dict[str, Any]) -> None:
    """Shut every kernel down (best effort)."""
    for km in managers.values():
        with contextlib.suppress(Exception):
            km.shutdown_kernel(now=True)


def run_cells(km: Any, notebook: Path, root: Path, spool: Spool, codenums: set[int]) -> list[Run]:
    """Run the code cells of ``notebook`` whose codenum is in ``codenums``, in file order, captured.

    ``root`` is the student's server root (the notebook's path is recorded relative to it); the
    records end in ``spool``. Returns what the kernel answered for each cell.
    Raises :class:`KernelRunError`.
    """
    return asyncio.run(_run_cells(km, notebook, root, spool, codenums))


async def _run_cells(km: Any, notebook: Path, root: Path, spool: Spool, codenums: set[int]) -> list[Run]:
    from jupyter_client.jsonutil import json_default

    from ..notebook import read_notebook
    from ..tags import cell_codenum

    kc = km.client()
    kc.start_channels()
    runs: list[Run] = []
    with _refused_url() as url:
        sender = Sender(url, "", spool, interval=3600.0)
        kernel_id = km.kernel_id or "demo-kernel"
        capture = Capture(sender, root, _Sessions(kernel_id, notebook.relative_to(root).as_posix()))
        sender.start()
        try:
            await asyncio.to_thread(kc.wait_for_ready, timeout=KERNEL_TIMEOUT)
            conn = _Connection(kc.session, kc.shell_channel.socket, kernel_id)
            conn.capture = capture
            for cell in read_notebook(notebook)["cells"]:
                number = cell_codenum(cell) if cell.get("cell_type") == "code" else None
                if number not in codenums:
                    continue
                content = {"code": cell["source"], "silent": False, "store_history": True, "stop_on_error": True}
                msg = kc.session.msg("execute_request", content, metadata={"cellId": cell.get("id")})
                conn.handle_incoming_message(json.dumps({**msg, "channel": "shell"}, default=json_default))
                while True:  # every shell message goes to the connection; a late kernel_info_reply is not ours
                    frames = await _reply(conn.shell)
                    conn.handle_outgoing_message("shell", frames)
                    reply = kc.session.deserialize(kc.session.feed_identities(frames)[1])
                    if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                        break
                runs.append(Run(number, reply["content"].get("status", "?"), reply["content"].get("ename")))
            await capture.settle()
        except RuntimeError as exc:  # wait_for_ready: the kernel died or did not answer in time
            raise KernelRunError(f"the demo kernel for {notebook} did not answer ({exc})") from None
        finally:
            capture.close()  # the sender spools what it holds; its last post is refused: the records stay
            kc.stop_channels()
    return runs


async def _reply(shell: Any) -> list[bytes]:
    """The next message on the shell socket (raw frames), polled so the event loop keeps running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + KERNEL_TIMEOUT
    while not shell.poll(0):
        if loop.time() > deadline:
            raise KernelRunError("the demo kernel did not reply within 60 s")
        await asyncio.sleep(0.005)
    frames: list[bytes] = shell.recv_multipart()
    return frames
