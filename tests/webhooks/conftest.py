"""A real receiver for webhooks: an HTTP server on 127.0.0.1 in a thread, answering from a script
(status codes, optional delays) and recording every request's headers and raw body. The partner's
network is the one thing these tests stand in for."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers the n-th request with script[n] (the last entry repeats); delays[n] seconds first."""

    script: list[int] = field(default_factory=lambda: [200])
    delays: list[float] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self) -> tuple[int, float]:
        n = len(self.requests) - 1
        code = self.script[min(n, len(self.script) - 1)]
        delay = self.delays[min(n, len(self.delays) - 1)] if self.delays else 0.0
        return code, delay

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests


def _serve(receiver: Receiver):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                code, delay = receiver.answer()
            time.sleep(delay)
            payload = b'{"ok": true}' if code < 300 else b'{"error": "try later"}'
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (its timeout)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    return server


@pytest.fixture
def receivers():
    """Make receivers: `receivers([500, 500, 500, 200])`; all are shut down after the test."""
    servers = []

    def make(script=None, delays=None) -> Receiver:
        receiver = Receiver(script=list(script or [200]), delays=list(delays or []))
        servers.append(_serve(receiver))
        return receiver

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    """Local receivers over plain HTTP, and quick retries: 0.05 s, doubling."""
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOKS_RETRY_MAX_SECONDS = 1.0
    settings.WEBHOOKS_TIMEOUT_SECONDS = 2.0
    return settings
