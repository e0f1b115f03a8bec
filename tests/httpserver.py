"""A real HTTP server on 127.0.0.1 for download tests: Range requests, ETags and injected faults.

    with FileServer() as server:
        server.add("/a.bin", data, drop_after=1000)   # first GET stops after 1000 body bytes
        url = server.url("/a.bin")

``server.sent[path]`` counts the body bytes actually sent; ``server.log`` keeps (method, path, headers)
and ``server.times`` the arrival time of each logged request (``time.monotonic``).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    """One served file and the faults to inject when it is requested."""

    data: bytes
    etag: str = '"v1"'
    drop_after: int | None = None  # close the connection after this many body bytes ...
    drops: int = 1  # ... on this many GETs
    ignore_range: bool = False  # answer Range requests with 200 and the whole file
    corrupt: bool = False  # flip one byte in the middle of every body
    status: int = 200  # e.g. 403 with an HTML quota page as data
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    content_type: str = "application/octet-stream"
    rate: float = 0.0  # bytes per second per connection (0 = as fast as loopback goes)
    wrong_range: str = ""  # Content-Range sent with every 206 instead of the true one, e.g. "bytes 0-99/100"
    errors: list[int] = field(default_factory=list)  # statuses answered (with a plain text body) to the first requests
    retry_after: str = ""  # Retry-After header sent with those error answers (e.g. "2")
    no_length: bool = False  # send no Content-Length and end the body by closing the connection
    headers: dict[str, str] = field(default_factory=dict)  # extra headers on every answer


class FileServer:
    """Threaded ``http.server`` serving in-memory files, with per-path fault injection."""

    def __init__(self) -> None:
        self.files: dict[str, Served] = {}
        self.sent: Counter[str] = Counter()
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.times: list[float] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.handle_error = lambda request, address: None  # clients hanging up early is part of the tests

    def add(self, path: str, data: bytes, **faults) -> str:
        """Serve ``data`` at ``path``; return its URL."""
        self.files[path] = Served(data, **faults)
        return self.url(path)

    def answer(self, handler: BaseHTTPRequestHandler, path: str) -> Served | bool | None:
        """Routes beyond ``files`` for subclasses: a Served to send, True once answered directly, None for 404."""
        return None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def gets(self, path: str) -> list[dict[str, str]]:
        """Headers of every GET of ``path``, in order."""
        return [headers for method, p, headers in self.log if method == "GET" and p == path]

    def __enter__(self) -> "FileServer":
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet test output
                pass

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                path = self.path.split("?")[0]
                with server.lock:
                    server.log.append((self.command, self.path, dict(self.headers)))
                    server.times.append(time.monotonic())
                served = server.files.get(path)
                if served is None:
                    served = server.answer(self, path)  # a subclass's own routes (redirects, tokens)
                if served is True:  # answered already
                    return
                if served is None:
                    self.send_error(404)
                    return
                time.sleep(served.delay)
                if served.errors:
                    self.send_response(served.errors.pop(0))
                    if served.retry_after:
                        self.send_header("Retry-After", served.retry_after)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "5")
                    self.end_headers()
                    self.wfile.write(b"error")
                    return
                data, start, status = served.data, 0, served.status  # a non-200 status answers with data as its page
                match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if_range = self.headers.get("If-Range")
                if status == 200 and match and not served.ignore_range and (if_range is None or if_range == served.etag):
                    start = int(match[1])
                    end = int(match[2]) + 1 if match[2] else len(data)
                    if start >= len(data):
                        self.send_error(416)
                        return
                    data, status = data[start:end], 206
                if served.corrupt and data:
                    data = data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1 :]
                self.send_response(status)
                self.send_header("Content-Type", served.content_type)
                if served.no_length:
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", served.etag)
                for name, value in served.headers.items():
                    self.send_header(name, value)
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", served.wrong_range or f"bytes {start}-{start + len(data) - 1}/{len(served.data)}")
                self.end_headers()
                if not body:
                    return
                if served.drop_after is not None and served.drops > 0:
                    served.drops -= 1
                    data = data[: served.drop_after]
                    self.close_connection = True
                step = max(1, int(served.rate / 100)) if served.rate else len(data) or 1
                for i in range(0, len(data), step):  # throttled in 10 ms slices when a rate is set
                    self.wfile.write(data[i : i + step])
                    with server.lock:
                        server.sent[path] += len(data[i : i + step])
                    if served.rate:
                        time.sleep(step / served.rate)

        return Handler
