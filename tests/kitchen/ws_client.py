"""Test helpers for kitchen screens over real sockets: a tiny websocket client and a screen model.

`WebSocketClient` speaks just enough RFC 6455 to talk to daphne from a test: the opening
handshake (with Origin and Cookie headers), masked client frames, unmasked server frames,
fragmented messages, ping/pong and close. No extensions, no TLS.

`ScreenModel` does what a screen's client does with the feed (static/kds/js/core.js and
docs/realtime.md): it keeps the last seq it applied and the tickets it shows, ignores
seq <= last, applies seq == last + 1, and reports a gap so the caller can recover with a
catch-up or a snapshot.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
import time
from urllib.parse import urlparse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


class Closed(Exception):
    def __init__(self, code: int | None, reason: str = ""):
        super().__init__(f"websocket closed ({code}) {reason}".strip())
        self.code = code


class WebSocketClient:
    def __init__(self, url: str, *, headers: dict[str, str] | None = None, timeout: float = 5):
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port or 80), timeout)
        self.buffer = b""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {parsed.path or '/'} HTTP/1.1",
            f"Host: {parsed.hostname}:{parsed.port or 80}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n", time.monotonic() + timeout).decode("latin-1")
        status, *header_lines = head.split("\r\n")
        if " 101 " not in status + " ":
            self.sock.close()
            raise ConnectionError(f"handshake refused: {status}")
        received = {
            name.strip().lower(): value.strip()
            for name, _sep, value in (line.partition(":") for line in header_lines if line)
        }
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if received.get("sec-websocket-accept") != accept:
            raise ConnectionError("bad Sec-WebSocket-Accept")
        self.closed: Closed | None = None

    # --- bytes ---------------------------------------------------------------------------------

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data from the server in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise
        except OSError as error:
            raise Closed(None, str(error)) from error
        if not chunk:
            raise Closed(None, "connection lost")
        self.buffer += chunk

    def _read_until(self, marker: bytes, deadline: float) -> bytes:
        while marker not in self.buffer:
            self._fill(deadline)
        head, _sep, self.buffer = self.buffer.partition(marker)
        return head

    def _read_exact(self, n: int, deadline: float) -> bytes:
        while len(self.buffer) < n:
            self._fill(deadline)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    # --- frames --------------------------------------------------------------------------------

    def _send_frame(self, opcode: int, payload: bytes = b"") -> None:
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read_frame(self, deadline: float) -> tuple[bool, int, bytes]:
        first, second = self._read_exact(2, deadline)
        fin, opcode = bool(first & 0x80), first & 0x0F
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2, deadline))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8, deadline))
        mask = self._read_exact(4, deadline) if second & 0x80 else None
        payload = self._read_exact(length, deadline)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return fin, opcode, payload

    def recv_text(self, timeout: float = 5) -> str:
        """The next text message; answers pings; raises Closed on a close frame."""
        if self.closed:
            raise self.closed
        deadline = time.monotonic() + timeout
        parts: list[bytes] = []
        while True:
            fin, opcode, payload = self._read_frame(deadline)
            if opcode == PING:
                self._send_frame(PONG, payload)
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                with contextlib.suppress(OSError):
                    self._send_frame(CLOSE, payload[:2])
                self.closed = Closed(code, payload[2:].decode(errors="replace"))
                raise self.closed
            parts.append(payload)
            if fin:
                return b"".join(parts).decode()

    def send_json(self, message: dict) -> None:
        self._send_frame(TEXT, json.dumps(message).encode())

    def recv_json(self, timeout: float = 5) -> dict:
        return json.loads(self.recv_text(timeout))

    def recv_until(self, predicate, timeout: float = 5) -> list[dict]:
        """Messages up to and including the first that matches `predicate`."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            message = self.recv_json(max(0.01, deadline - time.monotonic()))
            seen.append(message)
            if predicate(message):
                return seen

    def drain(self, quiet: float = 0.5) -> list[dict]:
        """Every message until the server has been quiet for `quiet` seconds."""
        seen = []
        while True:
            try:
                seen.append(self.recv_json(quiet))
            except TimeoutError:
                return seen

    def close(self) -> None:
        try:
            if not self.closed:
                self._send_frame(CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass
        finally:
            self.sock.close()


class ScreenModel:
    """A station screen's view of the feed (protocol version 2, docs/realtime.md): the seq it is
    complete to, and the tickets it shows (a list: one shown twice would be a bug)."""

    def __init__(self, station: str):
        self.station = station
        self.last: int | None = None
        self.tickets: list[int] = []
        self.applied: list[int] = []  # seqs applied, in order
        self.gaps = 0

    def load(self, snapshot: dict) -> None:
        self.last = snapshot["seq"]
        self.tickets = [t["id"] for t in snapshot["tickets"]]

    def apply(self, event: dict) -> bool:
        """Apply one event (from a frame or a catch-up); a copy of one covered is ignored."""
        if event["seq"] <= self.last:
            return True  # already in the snapshot or applied: a late copy
        self.last = event["seq"]
        self.applied.append(event["seq"])
        data = event["data"]
        mine = data.get("station") == self.station
        if event["type"] == "ticket.created" and mine:
            self.tickets.append(data["ticket"])
        elif event["type"] in ("ticket.bumped", "ticket.recalled") and mine:
            if data["bumped"] and data["ticket"] in self.tickets:
                self.tickets.remove(data["ticket"])
            elif not data["bumped"] and data["ticket"] not in self.tickets:
                self.tickets.append(data["ticket"])
        return True

    def apply_frame(self, frame: dict) -> bool:
        """Apply an `events` frame: it covers every event of ours in (after, seq]; what is
        at or below `last` is in the snapshot already. False when it could not be applied
        (no snapshot yet)."""
        if self.last is None:
            self.gaps += 1
            return False
        for event in frame["events"]:
            self.apply(event)
        self.last = max(self.last, frame["seq"])
        return True

    def apply_messages(self, messages: list[dict]) -> bool:
        """Apply the frames (and pongs) among `messages`; False if any could not be."""
        ok = True
        for message in messages:
            if message.get("type") == "events":
                ok = self.apply_frame(message) and ok
            elif message.get("type") == "pong" and self.last is not None:
                self.last = max(self.last, message["seq"])
        return ok
