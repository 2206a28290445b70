"""A browser's use of a kernel websocket (what JupyterLab does): execute_requests with the cell id in
the metadata, over the JSON protocol or ``v1.kernel.websocket.jupyter.org``, waiting for each reply."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import websocket

V1 = "v1.kernel.websocket.jupyter.org"


class Browser:
    """What JupyterLab does with a kernel: a websocket, execute_requests with the cell id in the metadata."""

    def __init__(self, base_url: str, token: str, kernel_id: str, *, v1: bool) -> None:
        """``base_url``: the server's URL (``http://host:port`` or ``.../user/<name>`` behind a hub)."""
        self.session = uuid.uuid4().hex
        self.v1 = v1
        url = base_url.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels?session_id={self.session}"
        self.ws = websocket.create_connection(
            url, header=[f"Authorization: token {token}"], subprotocols=[V1] if v1 else None, timeout=60
        )

    def run(self, code: str, cell_id: str | None) -> dict:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "username": "mallory",  # what a client claims: the hub's name must win
            "session": self.session,
            "msg_type": "execute_request",
            "version": "5.3",
            "date": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        metadata = {"cellId": cell_id, "deletedCells": [], "recordTiming": False} if cell_id else {}
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}  # fmt: skip
        if self.v1:
            from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

            parts = [json.dumps(p).encode() for p in (header, {}, metadata, content)]
            self.ws.send_binary(serialize_msg_to_ws_v1(parts, "shell"))
        else:
            self.ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": metadata,
                                     "content": content, "buffers": [], "channel": "shell"}))  # fmt: skip
        while True:
            raw = self.ws.recv()
            if isinstance(raw, bytes) and self.v1:
                from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

                channel, parts = deserialize_msg_from_ws_v1(raw)
                msg = {"channel": channel, "header": json.loads(parts[0]), "parent_header": json.loads(parts[1]),
                       "content": json.loads(parts[3])}  # fmt: skip
            else:
                msg = json.loads(raw)
            if msg["header"]["msg_type"] == "execute_reply" and msg["parent_header"].get("msg_id") == msg_id:
                return msg

    def close(self) -> None:
        self.ws.close()
