"""HTTP under daphne through Django's WSGI handler, on a bounded pool of threads.

Brigade's views are synchronous. Django's ASGI handler runs each sync request through
asgiref's thread-sensitive machinery (a new executor thread per request, several hops between
the event loop and that thread, and the signals dispatched through sync_to_async), which cost
daphne about 4 ms of CPU per request: on this 2-core machine one daphne process answered 220
`/healthz` requests a second through it, against 1,400 through this bridge
(bench/RESULTS.md). The bridge does the plain thing instead: it reads the request body on the
event loop, then runs Django's WSGI handler — the same middleware, views and signals as under
any WSGI server — in one of `HTTP_THREADS` worker threads, and streams the response back.

- The pool is bounded, and by default as large as the database pool (`DB_POOL_MAX_SIZE`), so a
  burst of requests waits for a thread instead of waiting, in a thread, for a connection.
- Bodies larger than `HTTP_MAX_BODY_BYTES` are refused with 413 before Django sees them;
  Django's own `DATA_UPLOAD_MAX_MEMORY_SIZE` still applies beneath.
- The response is iterated in the worker thread and sent chunk by chunk; closing it (which
  fires `request_finished`, handing the database connection back to the pool) happens in that
  same thread, as a WSGI server does.
- Websockets never come here: restaurant/asgi.py routes them to Channels.
"""

from __future__ import annotations

import asyncio
import io
import sys
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async

REFUSED_TOO_LARGE = b'{"error": {"code": "payload_too_large", "message": "The request body is too large.", "field": null}}'  # noqa: E501


def wsgi_environ(scope: dict, body: bytes) -> dict:
    """The WSGI environ (PEP 3333) for an ASGI HTTP scope and its whole body."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    path = scope.get("path", "/")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode("utf-8").decode("latin-1"),
        # WSGI carries the path as the raw bytes' latin-1 reading.
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]) if server[0] is not None else "localhost",
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] or "",
        "REMOTE_PORT": str(client[1] or 0),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT_LENGTH":
            continue  # the body has been read: its real length is set above
        key = f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class WsgiBridge:
    """An ASGI application (HTTP only) that runs a WSGI application in a thread pool."""

    def __init__(self, wsgi_app, *, threads: int, max_body: int):
        self.wsgi_app = wsgi_app
        self.max_body = max_body
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"WsgiBridge serves HTTP, not {scope['type']}")
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await _send_too_large(send)
                return
            if not message.get("more_body", False):
                break
        loop = asyncio.get_running_loop()
        # Through asgiref (not loop.run_in_executor): code in the worker that calls back into
        # async code (async_to_sync: publishing an event on the channel layer) runs it on
        # this server's event loop, with the layer's open connections, instead of starting
        # a new event loop (and a new Redis connection) for every call.
        await sync_to_async(self._run, thread_sensitive=False, executor=self.executor)(
            scope, bytes(body), send, loop
        )

    def _run(self, scope, body: bytes, send, loop) -> None:
        """In a worker thread: call the WSGI app and send what it answers."""
        started = {}

        def emit(message) -> None:
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        def start_response(status, headers, exc_info=None):
            if exc_info and started.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
            ]
            return lambda data: None  # the legacy write() callable: Django never uses it

        response = self.wsgi_app(wsgi_environ(scope, body), start_response)
        try:
            chunks = iter(response)
            first = next(chunks, None)  # a WSGI app may call start_response lazily
            emit(
                {
                    "type": "http.response.start",
                    "status": started["status"],
                    "headers": started["headers"],
                }
            )
            started["sent"] = True
            pending = first
            for chunk in chunks:
                if pending:
                    emit({"type": "http.response.body", "body": bytes(pending), "more_body": True})
                pending = chunk
            emit({"type": "http.response.body", "body": bytes(pending or b"")})
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()  # request_finished: the database connection goes back to the pool


async def _send_too_large(send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": REFUSED_TOO_LARGE})
