"""HTTP for downloads and for remote split zips: one opener, retries, and byte ranges.

* ``http_open``: ``urlopen`` with labkit's User-Agent; an ``Authorization`` header never follows a
  redirect to another host (Hugging Face redirects to its CDN).
* ``is_transient`` / ``failure``: a dropped or stalled connection, 408, 429 and 5xx are worth
  another try; DNS, TLS, a refused connection, 404 and 401/403 are not, and fail at once with the
  host and what to do.
* ``retry_wait``: exponential backoff, except that a rate limit (429, or 503 with ``Retry-After``)
  waits what the server asks for, at least ``rate_limit_wait`` seconds (a minute by default:
  Hugging Face counts anonymous requests per IP over minutes, so seconds of backoff only spend
  the next attempts).
* ``RemoteParts``: split parts (``vox2_dev_aac_parta{a..h}``) read as one seekable file with
  Range requests, counting requests and bytes.
"""

from __future__ import annotations

import bisect
import http.client
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Sequence

from labkit.data.archives import ConcatFile
from labkit.data.registry import redact
from labkit.errors import LabkitError

RATE_LIMIT_WAIT = 60.0  # seconds to wait after a 429 that names no Retry-After (and the least wait after one that does)
MAX_RATE_LIMIT_WAIT = 15 * 60.0  # a Retry-After longer than this is not waited for: the run stops with the message


class PermanentError(LabkitError, ValueError):
    """A request that another try will not fix (DNS, TLS, refused, 404, 401/403): the message says what to do.

    Not an OSError on purpose: ``zipfile`` turns OSErrors raised while it reads into "not a zip file"."""


class _KeepAuthOnSameHost(urllib.request.HTTPRedirectHandler):
    """Follow redirects, dropping ``Authorization`` when the redirect leaves the host (a token stays with its site)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_KeepAuthOnSameHost)


def http_open(url: str, headers: dict[str, str] | None = None, timeout: float = 60.0, method: str = "GET"):
    """Open ``url`` with labkit's User-Agent and ``headers``; the caller closes the response."""
    request = urllib.request.Request(url, method=method, headers={"User-Agent": "labkit", **(headers or {})})
    return _OPENER.open(request, timeout=timeout)


def _root_cause(error: BaseException) -> BaseException:
    """The innermost cause: ``URLError.reason``, or the end of the ``__cause__`` chain."""
    while True:
        inner = error.reason if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException) \
            else error.__cause__
        if inner is None or inner is error:
            return error
        error = inner


def failure(error: BaseException, url: str) -> str:
    """One line for a permanent failure: the host, what happened and what to do; "" if the error is transient."""
    host = urllib.parse.urlsplit(url).netloc.rsplit("@", 1)[-1] or url
    if isinstance(error, urllib.error.HTTPError):
        if error.code == 404:
            return (f"{host}: HTTP 404, no file at {redact(url)}; the registry's path or revision is out of date "
                    "(update labkit, or try another source)")
        if error.code in (401, 403):
            return f"{host}: HTTP {error.code} {error.reason}: this file needs permission (a token or a key)"
        if error.code in (408, 429) or error.code >= 500:
            return ""
        return f"{host}: HTTP {error.code} {error.reason}"
    cause = _root_cause(error)
    text = str(cause).lower()
    if isinstance(cause, socket.gaierror) or "name or service not known" in text or "nodename nor servname" in text \
            or "temporary failure in name resolution" in text:
        return f"cannot resolve {host} (DNS): check the internet connection (on Colab: Runtime > Restart session), or use another source"
    if isinstance(cause, ssl.SSLError) or "certificate" in text:
        return f"TLS with {host} failed ({cause}): a proxy or an outdated certificate store; try another source"
    if isinstance(cause, ConnectionRefusedError) or "connection refused" in text:
        return f"{host} refused the connection: the server is down or blocked from here; try another source"
    return ""


def is_transient(error: BaseException) -> bool:
    """Worth another try: a dropped or stalled connection, or HTTP 408 / 429 (rate limit) / 5xx."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code in (408, 429) or error.code >= 500
    transient = (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError)
    return isinstance(error, transient) and not failure(error, "")


def retry_after(error: BaseException) -> float | None:
    """Seconds a 429/503 asks us to wait (``Retry-After: 120``); None when it names none."""
    if not isinstance(error, urllib.error.HTTPError) or error.code not in (429, 503):
        return None
    value = (error.headers.get("Retry-After") or "").strip()
    return float(value) if value.isdigit() else None


def retry_wait(error: BaseException, attempt: int, backoff: float, rate_limit_wait: float = RATE_LIMIT_WAIT) -> float:
    """Seconds to wait before try ``attempt + 1``: the server's Retry-After on a rate limit, else exponential backoff."""
    asked = retry_after(error)
    if asked is not None or (isinstance(error, urllib.error.HTTPError) and error.code == 429):
        wait = max(asked or 0.0, rate_limit_wait)
        if wait > MAX_RATE_LIMIT_WAIT:
            raise PermanentError(f"rate limited for {wait:.0f} s (Retry-After): try again later or use another source")
        return wait
    return backoff * 2 ** attempt


def content_range(header: str | None) -> tuple[int, int, int | None] | None:
    """``Content-Range: bytes START-END/TOTAL`` as (start, end, total or None for ``*``); None if malformed."""
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", (header or "").strip())
    if not match:
        return None
    return int(match[1]), int(match[2]), None if match[3] == "*" else int(match[3])


class RemoteParts(ConcatFile):
    """Remote split parts read with HTTP Range requests; ``prefetch`` loads whole byte ranges at once.

    ``bytes_fetched`` and ``requests`` count the traffic, so a caller can check what a subset cost.
    ``headers`` go with every request (a Hugging Face token); ``denied_hint`` is added to a 401/403.
    """

    def __init__(self, urls: Sequence[str], sizes: Sequence[int] | None = None, timeout: float = 60.0,
                 retries: int = 3, backoff: float = 0.5, readahead: int = 1 << 16, connections: int = 8,
                 headers: dict[str, str] | None = None, denied_hint: str = "", rate_limit_wait: float = RATE_LIMIT_WAIT):
        self.urls, self.timeout, self.retries, self.backoff, self.readahead = list(urls), timeout, retries, backoff, readahead
        self.headers, self.denied_hint, self.rate_limit_wait = dict(headers or {}), denied_hint, rate_limit_wait
        self.shown = [redact(u) for u in self.urls]  # URLs for messages: a KAIST key never appears
        self.connections = connections  # parallel range requests in prefetch: latency, not bandwidth, limits many small ranges
        self.bytes_fetched = self.requests = 0
        self.lock = threading.Lock()
        self.cached_starts: list[int] = []  # start offsets of the prefetched ranges, sorted ...
        self.cached_blocks: list[bytes] = []  # ... and their bytes
        super().__init__(list(sizes) if sizes else [self._remote_size(i) for i in range(len(self.urls))])

    def _refusal(self, error: BaseException, index: int) -> PermanentError:
        reason = failure(error, self.urls[index]) or f"{self.shown[index]}: {error}"
        if isinstance(error, urllib.error.HTTPError) and error.code in (401, 403) and self.denied_hint:
            reason += f"; {self.denied_hint}"
        return PermanentError(redact(reason))

    def _remote_size(self, index: int) -> int:
        try:
            with http_open(self.urls[index], self.headers, self.timeout, method="HEAD") as response:
                return int(response.headers["Content-Length"])
        except (OSError, http.client.HTTPException) as error:
            raise self._refusal(error, index) from None  # from None: the URL may hold a key

    def _read_part(self, index: int, offset: int, n: int) -> bytes:
        url, shown, last = self.urls[index], self.shown[index], offset + n - 1
        for attempt in range(self.retries + 1):
            try:
                with http_open(url, {**self.headers, "Range": f"bytes={offset}-{last}"}, self.timeout) as response:
                    got = content_range(response.headers.get("Content-Range"))
                    if response.status != 206 or got is None or got[:2] != (offset, last):
                        raise PermanentError(f"{shown} does not serve byte ranges (status {response.status}); "
                                             "download the parts instead (labkit download voxceleb2_dev)")
                    data = response.read()
                    with self.lock:
                        self.requests += 1
                        self.bytes_fetched += len(data)
                    if len(data) == n:
                        return data
            except PermanentError:
                raise
            except (OSError, http.client.HTTPException) as error:
                if not is_transient(error):
                    raise self._refusal(error, index) from None
                if attempt < self.retries:
                    wait = retry_wait(error, attempt, self.backoff, self.rate_limit_wait)
                    if wait >= 5:
                        print(f"{urllib.parse.urlsplit(shown).netloc}: {error}; waiting {wait:.0f} s before trying again")
                    time.sleep(wait)
        raise OSError(f"{shown}: bytes {offset}-{last} not received after {self.retries + 1} tries")

    def prefetch(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Replace the cache with these ``[start, end)`` ranges: one request each (per part), several at once."""
        ranges = sorted(ranges)
        with ThreadPoolExecutor(self.connections) as pool:
            self.cached_blocks = list(pool.map(lambda r: self.read_at(*r), ranges))
        self.cached_starts = [start for start, _ in ranges]

    def requests_for(self, ranges: Iterable[tuple[int, int]]) -> int:
        """How many Range requests ``prefetch(ranges)`` makes (a range crossing a part boundary takes one per part)."""
        return sum(bisect.bisect_right(self.starts, end - 1) - bisect.bisect_right(self.starts, start) + 1 for start, end in ranges)

    def readinto(self, buffer) -> int:
        index = bisect.bisect_right(self.cached_starts, self.pos) - 1  # the cached range starting at or before pos
        if index < 0 or self.pos >= self.cached_starts[index] + len(self.cached_blocks[index]):  # not cached: fetch a little ahead
            end = min(self.pos + max(len(buffer), self.readahead), self.size)
            if end <= self.pos:
                return 0
            index = bisect.bisect_right(self.cached_starts, self.pos)
            self.cached_starts.insert(index, self.pos)
            self.cached_blocks.insert(index, self.read_at(self.pos, end))
        offset = self.pos - self.cached_starts[index]
        piece = self.cached_blocks[index][offset : offset + len(buffer)]
        buffer[: len(piece)] = piece
        self.pos += len(piece)
        return len(piece)
