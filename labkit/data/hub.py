"""Hugging Face files through ``huggingface_hub`` (Colab ships it): the token, its retries, its cache.

``huggingface_hub`` finds the token (``HF_TOKEN``, Colab's secrets, ``hf auth login``), retries a
429 after the server's ``Retry-After`` and resumes an interrupted file. labkit still checks the
sha256 itself (``labkit.data.download``) before a file gets its final name. Anonymous requests
are limited per IP address: a token raises the limit, and a 401/403 says so in one line.
"""

from __future__ import annotations

import socket
import urllib.parse
from pathlib import Path

from labkit.data.http import PermanentError, failure
from labkit.data.registry import Source

TOKEN_HINT = ("Hugging Face refused the request: create a free read token at https://huggingface.co/settings/tokens "
              "and set HF_TOKEN (on Colab: the key icon, secret named HF_TOKEN, notebook access on)")


def hf_token() -> str | None:
    """The Hugging Face token in use (HF_TOKEN, Colab secret, or a stored login), or None (anonymous)."""
    from huggingface_hub import get_token

    return get_token()


def auth_headers() -> dict[str, str]:
    """``Authorization: Bearer <token>`` when a token is set, for plain Range requests to Hugging Face."""
    token = hf_token()
    return {"Authorization": f"Bearer {token}"} if token else {}


def hub_download(source: Source, file: str, folder: Path, timeout: float = 60.0) -> Path:
    """Download ``file`` of a pinned hf ``source`` into ``folder`` (resumable); return where it landed.

    The file lands under ``folder`` at its path in the repository; it is not verified here.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    where = f"{source.repo}@{source.revision[:12]}/{source.repo_path(file)}"
    try:  # huggingface_hub retries an unreachable host for ~20 s; a name that does not resolve fails now
        socket.getaddrinfo(urllib.parse.urlsplit(source.endpoint).hostname, None)
    except OSError as error:
        raise PermanentError(failure(error, source.endpoint) or f"{source.endpoint}: {error}") from None
    try:
        return Path(hf_hub_download(source.repo, source.repo_path(file), repo_type=source.repo_type,
                                    revision=source.revision, local_dir=folder, endpoint=source.endpoint,
                                    etag_timeout=timeout))
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status in (401, 403):
            raise PermanentError(f"{where}: HTTP {status}. {TOKEN_HINT}") from None
        if status == 404:
            raise PermanentError(f"{where}: HTTP 404, not in the repository at that revision; "
                                 "the registry's path or revision is out of date") from None
        raise OSError(f"{where}: HTTP {status}: {str(error).splitlines()[0]}") from None
    except LocalEntryNotFoundError as error:  # the hub was not reachable at all
        reason = failure(error, source.endpoint)
        if reason:
            raise PermanentError(reason) from None
        raise OSError(f"{where}: {error.__cause__ or error}") from None
