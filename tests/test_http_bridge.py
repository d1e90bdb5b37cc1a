"""HTTP under daphne through restaurant.http_bridge: Django's WSGI handler on a thread pool.

The bridge is driven as daphne drives it (ASGI messages in, ASGI messages out), around small
WSGI applications that show what a WSGI application is given, and around Brigade itself.
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from django.core.handlers.wsgi import WSGIHandler

from restaurant.http_bridge import WsgiBridge


def scope(path="/", *, method="GET", query=b"", headers=()):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": list(headers),
        "client": ("10.1.2.3", 51000),
        "server": ("127.0.0.1", 8000),
    }


def call(app, scope_, chunks=(b"",)):
    """Run one request; returns (status, headers, [body chunks])."""

    async def run():
        incoming = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        sent = []

        async def receive():
            return incoming.pop(0)

        async def send(message):
            sent.append(message)

        await app(scope_, receive, send)
        return sent

    sent = asyncio.run(run())
    start = sent[0]
    assert start["type"] == "http.response.start"
    return start["status"], dict(start["headers"]), [m["body"] for m in sent[1:]]


def echo_environ(environ, start_response):
    body = environ["wsgi.input"].read()
    shown = {
        key: value
        for key, value in environ.items()
        if isinstance(value, str) and not key.startswith("wsgi.")
    }
    shown["body"] = body.decode()
    shown["url_scheme"] = environ["wsgi.url_scheme"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(shown).encode()]


def test_the_environ_is_what_a_wsgi_server_would_give():
    bridge = WsgiBridge(echo_environ, threads=2, max_body=1024)
    status, headers, body = call(
        bridge,
        scope(
            "/api/v1/caf\u00e9",
            method="POST",
            query=b"a=1&b=%C3%A9",
            headers=[
                (b"content-type", b"application/json"),
                (b"content-length", b"999"),  # what the client said; the body read decides
                (b"cookie", b"a=1"),
                (b"cookie", b"b=2"),
                (b"x-forwarded-for", b"192.0.2.7"),
            ],
        ),
        chunks=(b'{"x": ', b'"y"}'),
    )
    environ = json.loads(b"".join(body))
    assert status == 200 and headers[b"content-type"] == b"application/json"
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["PATH_INFO"] == "/api/v1/caf\u00e9".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "a=1&b=%C3%A9"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == str(len('{"x": "y"}'))
    assert environ["body"] == '{"x": "y"}'
    assert environ["HTTP_COOKIE"] == "a=1,b=2"
    assert environ["HTTP_X_FORWARDED_FOR"] == "192.0.2.7"
    assert environ["REMOTE_ADDR"] == "10.1.2.3"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", "8000")
    assert environ["url_scheme"] == "http"


def test_a_body_over_the_limit_is_refused_before_the_application_runs():
    ran = []

    def app(environ, start_response):
        ran.append(True)
        start_response("200 OK", [])
        return [b""]

    bridge = WsgiBridge(app, threads=1, max_body=10)
    status, _headers, body = call(bridge, scope(method="POST"), chunks=(b"123456", b"789012"))
    assert status == 413
    assert json.loads(b"".join(body))["error"]["code"] == "payload_too_large"
    assert ran == []


def test_the_response_is_streamed_and_closed_in_the_worker_thread():
    closed_in = []

    class Body:
        def __iter__(self):
            yield b"one,"
            yield b""
            yield b"two,"
            yield b"three"

        def close(self):
            closed_in.append(threading.current_thread().name)

    def app(environ, start_response):
        start_response("201 Created", [("X-Test", "yes")])
        return Body()

    bridge = WsgiBridge(app, threads=1, max_body=10)
    status, headers, chunks = call(bridge, scope())
    assert status == 201 and headers[b"x-test"] == b"yes"
    assert b"".join(chunks) == b"one,two,three" and len(chunks) >= 3
    assert closed_in and closed_in[0].startswith("http")


@pytest.mark.django_db(transaction=True)  # the request runs in a worker thread
def test_brigade_answers_through_the_bridge_as_through_any_wsgi_server():
    bridge = WsgiBridge(WSGIHandler(), threads=2, max_body=1024 * 1024)
    status, _headers, body = call(bridge, scope("/healthz"))
    assert status == 200 and json.loads(b"".join(body)) == {"status": "ok"}
    status, _headers, body = call(
        bridge,
        scope("/api/v1/auth/pair", method="POST", headers=[(b"content-type", b"application/json")]),
        chunks=(b'{"code": "NOPE00"}',),
    )
    assert status == 403
    assert json.loads(b"".join(body))["error"]["code"] == "bad_pairing_code"


def test_async_code_called_from_a_view_runs_on_the_servers_event_loop():
    """Publishing an event (async_to_sync(layer.group_send)) from a view must use the
    server's loop and the layer's open connections, not a new loop per call."""
    from asgiref.sync import async_to_sync

    loops = []

    async def where():
        loops.append(asyncio.get_running_loop())

    def app(environ, start_response):
        async_to_sync(where)()
        start_response("200 OK", [])
        return [b"ok"]

    bridge = WsgiBridge(app, threads=2, max_body=10)

    async def run():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await bridge(scope(), receive, send)
        return asyncio.get_running_loop(), sent

    server_loop, sent = asyncio.run(run())
    assert sent[0]["status"] == 200
    assert loops == [server_loop]
