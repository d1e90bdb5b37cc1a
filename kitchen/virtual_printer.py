"""A virtual ESC/POS network printer for the demo and the tests, and the ESC/POS decoder.

`decode_escpos(data, code_page)` turns the bytes a printer receives into readable text:
character tables switched by ESC t (CP858 bytes back to € and é), bold as **text**,
underline as __text__, double size as [BIG]text[/BIG] (or [2W] / [2H] for one direction),
white-on-black as [INVERTED]text[/INVERTED], alignment by padding to the paper width, a cut
as a "--- cut ---" line, and images, barcodes, QR codes, the cash drawer and the buzzer as
[MARKERS]. `parse_escpos` gives the same as structured lines (the printouts page uses them).

`VirtualPrinter` listens on 127.0.0.1 on one or more ports and accepts raw TCP like a
network printer on port 9100: each connection is one printout, decoded and kept in memory
(the last 100) and written to BRIGADE_DATA_DIR/printouts/<port>/ (the raw .bin and the
decoded .txt). `manage.py virtual_printer --port 9101-9104` runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from kitchen.printing import DEFAULT_CODE_PAGE, CodePage, code_page, code_page_by_number

logger = logging.getLogger(__name__)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
# ESC commands with one parameter byte that change nothing the decoder shows.
ESC_ONE_PARAMETER = frozenset("MrR{ U=VTe%?3")

# --- The decoder ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    bold: bool = False
    underline: bool = False
    width: int = 1  # character width multiplier
    height: int = 1
    invert: bool = False


@dataclass
class Segment:
    text: str
    style: Style


@dataclass
class PrintedLine:
    """One printed line (kind "text"), a cut ("cut") or a non-text thing ("marker")."""

    segments: list[Segment] = field(default_factory=list)
    align: str = "left"
    kind: str = "text"

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)

    @property
    def columns(self) -> int:
        return sum(len(s.text) * s.style.width for s in self.segments)


class _Decoder:
    def __init__(self, data: bytes, page: CodePage):
        self.data = data
        self.default_page = page
        self.page = page
        self.style = Style()
        self.align = "left"
        self.lines: list[PrintedLine] = []
        self.current = PrintedLine()
        self.qr_data = ""

    # Output ---------------------------------------------------------------------------------

    def text(self, text: str) -> None:
        segments = self.current.segments
        if segments and segments[-1].style == self.style:
            segments[-1].text += text
        else:
            segments.append(Segment(text, self.style))

    def newline(self) -> None:
        self.current.align = self.align
        self.lines.append(self.current)
        self.current = PrintedLine()

    def marker(self, label: str, kind: str = "marker") -> None:
        if self.current.segments:
            self.newline()
        self.lines.append(PrintedLine([Segment(label, Style())], kind=kind))

    def reset(self) -> None:
        # ESC @ clears the print buffer (an unfinished line is dropped) and every mode.
        self.current = PrintedLine()
        self.style = Style()
        self.align = "left"
        self.page = self.default_page

    # Parsing --------------------------------------------------------------------------------

    def byte(self, i: int) -> int | None:
        return self.data[i] if i < len(self.data) else None

    def run(self) -> list[PrintedLine]:
        data, i = self.data, 0
        while i < len(data):
            b = data[i]
            if b == ESC:
                i = self.esc(i)
            elif b == GS:
                i = self.gs(i)
            elif b == FS:
                i = self.fs(i)
            elif b == DLE:
                i += 3  # DLE EOT n / DLE ENQ n: real-time requests, nothing printed
            elif b == 0x0A or b == 0x0C:
                self.newline()
                i += 1
            elif b == 0x09:
                self.text("    ")
                i += 1
            elif b == 0x07:
                self.marker("[BEEP]")
                i += 1
            elif b < 0x20 or b == 0x7F:
                i += 1  # CR and other controls print nothing
            else:
                start = i
                while i < len(data) and (data[i] >= 0x20 and data[i] != 0x7F):
                    i += 1
                self.text(self.page.decode(data[start:i]))
        if self.current.segments:
            self.newline()
        return self.lines

    def esc(self, i: int) -> int:
        cmd, n = self.byte(i + 1), self.byte(i + 2)
        if cmd is None:
            return i + 1
        c = chr(cmd)
        if c == "@":
            self.reset()
            return i + 2
        if n is None:
            return len(self.data)
        if c == "t":
            page = code_page_by_number(n)
            if page is None:
                self.marker(f"[UNKNOWN CODE PAGE {n}]")
            else:
                self.page = page
            return i + 3
        if c == "!":
            self.style = replace(
                self.style,
                bold=bool(n & 0x08),
                underline=bool(n & 0x80),
                height=2 if n & 0x10 else 1,
                width=2 if n & 0x20 else 1,
            )
            return i + 3
        if c in "EG":
            self.style = replace(self.style, bold=bool(n & 1))
            return i + 3
        if c == "-":
            self.style = replace(self.style, underline=n in (1, 2, 49, 50))
            return i + 3
        if c == "a":
            self.align = {0: "left", 1: "center", 2: "right"}.get(n % 48, "left")
            return i + 3
        if c == "d":  # print and feed n lines
            self.newline()
            for _ in range(max(n - 1, 0)):
                self.newline()
            return i + 3
        if c == "J":  # print and feed n dots
            self.newline()
            return i + 3
        if c in ESC_ONE_PARAMETER:
            return i + 3  # font, colour, character set, flip, spacing, ...
        if c == "c":  # ESC c 3 n, ESC c 4 n, ESC c 5 n
            return i + 4
        if c == "p":  # ESC p m t1 t2: cash drawer kick
            self.marker("[CASH DRAWER]")
            return i + 5
        if c == "B":  # ESC B n t: buzzer
            self.marker("[BEEP]")
            return i + 4
        if c == "2":  # default line spacing
            return i + 2
        if c in "$\\":
            return i + 4
        if c in "im":
            self.marker("cut", kind="cut")
            return i + 2
        if c == "D":  # tab stops, NUL-terminated
            end = self.data.find(b"\x00", i + 2)
            return len(self.data) if end < 0 else end + 1
        if c == "*":  # bit image: m nL nH data
            m, nl, nh = n, self.byte(i + 3) or 0, self.byte(i + 4) or 0
            size = (nl + 256 * nh) * (1 if m in (0, 1) else 3)
            self.marker("[IMAGE]")
            return i + 5 + size
        if c in "LS":
            return i + 2
        self.marker(f"[ESC {cmd:#04x}]")
        return i + 2

    def gs(self, i: int) -> int:
        cmd, n = self.byte(i + 1), self.byte(i + 2)
        if cmd is None or n is None:
            return len(self.data)
        c = chr(cmd)
        if c == "!":
            self.style = replace(self.style, width=(n >> 4) + 1, height=(n & 0x0F) + 1)
            return i + 3
        if c == "B":
            self.style = replace(self.style, invert=bool(n & 1))
            return i + 3
        if c == "V":  # cut: GS V m, or GS V m n for the feed-and-cut variants
            if self.current.segments:
                self.newline()
            self.marker("cut", kind="cut")
            return i + 3 if n in (0, 1, 48, 49) else i + 4
        if c in "bHhwfI|ra":
            return i + 3
        if c in "LWP$\\":
            return i + 4
        if c == "k":  # barcode
            if n <= 6:
                end = self.data.find(b"\x00", i + 3)
                end = len(self.data) if end < 0 else end
                self.marker(f"[BARCODE {self.data[i + 3 : end].decode('ascii', 'replace')}]")
                return end + 1
            length = self.byte(i + 3) or 0
            body = self.data[i + 4 : i + 4 + length]
            self.marker(f"[BARCODE {body.decode('ascii', 'replace')}]")
            return i + 4 + length
        if c == "v" and n in (0, 48):  # GS v 0 m xL xH yL yH data: raster image
            head = self.data[i + 4 : i + 8]
            if len(head) < 4:
                return len(self.data)
            size = (head[0] + 256 * head[1]) * (head[2] + 256 * head[3])
            self.marker(f"[IMAGE {(head[0] + 256 * head[1]) * 8}x{head[2] + 256 * head[3]}]")
            return i + 8 + size
        if c == "(":  # GS ( fn pL pH body
            pl, ph = self.byte(i + 3) or 0, self.byte(i + 4) or 0
            body = self.data[i + 5 : i + 5 + pl + 256 * ph]
            if n == ord("k") and len(body) >= 2 and body[0] == 49:
                if body[1] == 80:  # store the QR data
                    self.qr_data = body[3:].decode("utf-8", "replace")
                elif body[1] == 81:  # print it
                    self.marker(f"[QR {self.qr_data}]")
            elif n == ord("L") and len(body) >= 2 and body[1] in (50, 2):
                self.marker("[IMAGE]")
            return i + 5 + pl + 256 * ph
        if c == "8" and n == ord("L"):  # GS 8 L p1 p2 p3 p4: large graphics data
            size_bytes = self.data[i + 3 : i + 7]
            size = int.from_bytes(size_bytes, "little") if len(size_bytes) == 4 else 0
            return i + 7 + size
        self.marker(f"[GS {cmd:#04x}]")
        return i + 2

    def fs(self, i: int) -> int:
        cmd = self.byte(i + 1)
        if cmd is None:
            return len(self.data)
        c = chr(cmd)
        if c in ".&":  # Kanji mode off / on
            return i + 2
        if c in "!-W":
            return i + 3
        if c in "pS":
            return i + 4
        self.marker(f"[FS {cmd:#04x}]")
        return i + 2


def parse_escpos(data: bytes, code_page_name: str = DEFAULT_CODE_PAGE) -> list[PrintedLine]:
    """The printed lines of `data` as a printer whose power-on table is `code_page_name` would
    print them."""
    return _Decoder(bytes(data), code_page(code_page_name)).run()


def _marked(segment: Segment) -> str:
    text, style = segment.text, segment.style
    if not text.strip():
        return text
    core = text.strip()
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    if style.underline:
        core = f"__{core}__"
    if style.bold:
        core = f"**{core}**"
    if style.width > 1 or style.height > 1:
        tag = (
            "BIG"
            if style.width == style.height
            else ("2W" if style.height == 1 else ("2H" if style.width == 1 else "SIZE"))
        )
        core = f"[{tag}]{core}[/{tag}]"
    if style.invert:
        core = f"[INVERTED]{core}[/INVERTED]"
    return lead + core + trail


def format_lines(lines: Iterable[PrintedLine], width: int = 42) -> str:
    """Text with markers: alignment padding by the printed width, cuts as separator lines."""
    out: list[str] = []
    for line in collapse_feeds(lines):
        if line.kind == "cut":
            label = " cut "
            left = (width - len(label)) // 2
            out.append("-" * left + label + "-" * (width - left - len(label)))
            continue
        text = "".join(_marked(s) for s in line.segments).rstrip()
        room = max(width - line.columns, 0)
        if line.align == "center" and line.text.strip():
            text = " " * (room // 2) + text
        elif line.align == "right" and line.text.strip():
            text = " " * room + text
        out.append(text)
    return "\n".join(out).rstrip("\n") + "\n"


def collapse_feeds(lines: Iterable[PrintedLine]) -> list[PrintedLine]:
    """No run of more than one blank line: a feed past the cutter shows as one."""
    result: list[PrintedLine] = []
    for line in lines:
        blank = line.kind == "text" and not line.text.strip()
        if blank and (not result or (result[-1].kind == "text" and not result[-1].text.strip())):
            continue
        if line.kind == "cut" and result and result[-1].kind == "text" and not result[-1].text:
            result.pop()
        result.append(line)
    return result


def decode_escpos(data: bytes, code_page: str = DEFAULT_CODE_PAGE, width: int = 42) -> str:
    """Readable text of ESC/POS bytes (see the module docstring for the markers)."""
    return format_lines(parse_escpos(data, code_page), width)


# --- The server -------------------------------------------------------------------------------


@dataclass
class Printout:
    port: int
    received_at: datetime
    data: bytes
    text: str
    path: Path | None = None


class VirtualPrinter:
    """Raw-TCP ESC/POS printers on `ports` (0: any free port; see `.ports` once started)."""

    def __init__(
        self,
        ports: Iterable[int],
        *,
        host: str = "127.0.0.1",
        directory: Path | str | None = None,
        code_page: str = DEFAULT_CODE_PAGE,
        width: int = 42,
        keep: int = 100,
        keep_files: int = 200,
        idle_timeout: float = 30.0,
        on_printout: Callable[[Printout], None] | None = None,
        on_ready: Callable[[VirtualPrinter], None] | None = None,
    ):
        self.requested_ports = list(ports)
        self.host = host
        self.directory = Path(directory) if directory else None
        self.code_page = code_page
        self.width = width
        self.idle_timeout = idle_timeout
        self.keep_files = keep_files
        self.on_printout = on_printout
        self.on_ready = on_ready
        self.printouts: deque[Printout] = deque(maxlen=keep)
        self.ports: list[int] = []
        self.failed_ports: dict[int, str] = {}
        self._changed = threading.Condition()
        self._counter = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    # Running ---------------------------------------------------------------------------------

    async def _serve(
        self,
        ready: threading.Event | None = None,
        handle_signals: bool = False,
        keep_running: bool = False,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self._stopped.set)
        for port in self.requested_ports:
            try:
                server = await asyncio.start_server(self._handle, self.host, port)
            except OSError as exc:
                self.failed_ports[port] = str(exc)
                logger.error("virtual printer: cannot listen on %s:%s: %s", self.host, port, exc)
                continue
            self._servers.append(server)
            self.ports.append(server.sockets[0].getsockname()[1])
        if ready is not None:
            ready.set()
        if self.on_ready is not None and self._servers:
            self.on_ready(self)
        if self.failed_ports and not keep_running:
            await self._close_servers()
            return
        try:
            await self._stopped.wait()
        finally:
            await self._close_servers()

    async def _close_servers(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()

    def serve_forever(self, *, keep_running: bool = False) -> None:
        """Run in this (main) thread until SIGINT or SIGTERM, or `stop()` from another one.

        Returns at once when a port cannot be listened on, unless `keep_running`.
        """
        asyncio.run(self._serve(handle_signals=True, keep_running=keep_running))

    def start(self) -> VirtualPrinter:
        """Run in a background thread; returns once the ports listen (or failed to)."""
        ready = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(ready, keep_running=True)),
            name="virtual-printer",
            daemon=True,
        )
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> VirtualPrinter:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # Printouts -------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        chunks = []
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(65536), self.idle_timeout)
                if not chunk:
                    break
                chunks.append(chunk)
        except (TimeoutError, ConnectionError):
            pass  # a client that stops sending still gets what it sent printed
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        data = b"".join(chunks)
        if data:
            self._store(port, data)

    def _store(self, port: int, data: bytes) -> Printout:
        received_at = datetime.now(UTC)
        text = decode_escpos(data, self.code_page, self.width)
        printout = Printout(port=port, received_at=received_at, data=data, text=text)
        if self.directory is not None:
            folder = self.directory / str(port)
            folder.mkdir(parents=True, exist_ok=True)
            stem = f"{received_at:%Y%m%dT%H%M%S%f}-{next(self._counter):05d}"
            (folder / f"{stem}.bin").write_bytes(data)
            printout.path = folder / f"{stem}.txt"
            printout.path.write_text(text, encoding="utf-8")
            self._prune(folder)
        with self._changed:
            self.printouts.append(printout)
            self._changed.notify_all()
        if self.on_printout is not None:
            self.on_printout(printout)
        return printout

    def _prune(self, folder: Path) -> None:
        """Keep the newest `keep_files` printouts of a port on disk."""
        old = sorted(folder.glob("*.txt"), reverse=True)[self.keep_files :]
        for path in old:
            for stale in (path, path.with_suffix(".bin")):
                with contextlib.suppress(OSError):
                    stale.unlink()

    def received(self, port: int | None = None) -> list[Printout]:
        with self._changed:
            return [p for p in self.printouts if port is None or p.port == port]

    def wait_for(
        self, count: int, *, port: int | None = None, timeout: float = 5.0
    ) -> list[Printout]:
        """Wait until at least `count` printouts arrived (on `port`); return them."""
        with self._changed:
            self._changed.wait_for(
                lambda: len([p for p in self.printouts if port is None or p.port == port]) >= count,
                timeout,
            )
        return self.received(port)


def parse_ports(values: Iterable[str]) -> list[int]:
    """ "9101", "9101-9104" and "9101,9102" into a sorted list of ports."""
    ports: set[int] = set()
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                low, high = (int(p) for p in part.split("-", 1))
                if low > high:
                    low, high = high, low
                ports.update(range(low, high + 1))
            else:
                ports.add(int(part))
    bad = [p for p in ports if not 1 <= p <= 65535]
    if bad:
        raise ValueError(f"not a TCP port: {bad[0]}")
    return sorted(ports)


def stored_printouts(
    directory: Path | str, *, ports: Iterable[int] | None = None, limit: int = 30
) -> list[tuple[int, datetime, bytes | None, str]]:
    """The newest printouts stored under `directory` (one folder per port), newest first:
    (port, received at, the raw bytes if kept, the decoded text)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    allowed = None if ports is None else {str(p) for p in ports}
    files = []
    for folder in directory.iterdir():
        if not folder.is_dir() or not folder.name.isdigit():
            continue
        if allowed is not None and folder.name not in allowed:
            continue
        files.extend(folder.glob("*.txt"))
    files.sort(key=lambda f: f.name, reverse=True)
    result = []
    for path in files[:limit]:
        try:
            received_at = datetime.strptime(path.name.split("-")[0], "%Y%m%dT%H%M%S%f").replace(
                tzinfo=UTC
            )
        except ValueError:
            received_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        raw = path.with_suffix(".bin")
        result.append(
            (
                int(path.parent.name),
                received_at,
                raw.read_bytes() if raw.exists() else None,
                path.read_text(encoding="utf-8", errors="replace"),
            )
        )
    return result
