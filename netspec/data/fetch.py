"""Cache folders, checksums and atomic downloads for the standard datasets.

A download goes to a temporary file in the destination folder, is checked
against its published checksum, and only then renamed into place, so an
interrupted or corrupt download never leaves a file that looks finished.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

DOWNLOAD_TIMEOUT_S = 10.0
_BLOCK = 1 << 20


def default_cache_dirs(cache_dir: str | Path | None) -> list[Path]:
    """Folders searched for dataset files, first one is where downloads go.

    An explicit ``cache_dir`` is the only folder searched. Otherwise
    ``$NETSPEC_DATA`` (or ``~/.cache/netspec``) and then Keras' own cache
    ``~/.keras/datasets``, so files a Keras user already has are found.
    """
    if cache_dir is not None:
        return [Path(cache_dir).expanduser()]
    primary = os.environ.get("NETSPEC_DATA") or "~/.cache/netspec"
    return [Path(primary).expanduser(), Path("~/.keras/datasets").expanduser()]


def digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file's bytes (``algorithm``: ``md5`` or ``sha256``)."""
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(_BLOCK), b""):
            hasher.update(block)
    return hasher.hexdigest()


def digest_bytes(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def download(
    urls: list[str], destination: Path, md5: str, *, timeout: float = DOWNLOAD_TIMEOUT_S
) -> str | None:
    """Fetch the first of ``urls`` that answers with a file whose MD5 is
    ``md5`` and move it atomically to ``destination``.

    Returns None on success, else a one-line reason (every mirror's failure),
    so the caller can fall back and tell the user why.
    """
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {destination.parent}: {exc}"
    reasons = []
    for url in urls:
        try:
            handle, temporary = tempfile.mkstemp(
                prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
            )
        except OSError as exc:
            return f"cannot write in {destination.parent}: {exc}"
        try:
            hasher = hashlib.md5()
            with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                for block in iter(lambda: response.read(_BLOCK), b""):
                    hasher.update(block)
                    out.write(block)
            if hasher.hexdigest() != md5:
                reasons.append(f"{url}: checksum {hasher.hexdigest()} is not the published {md5}")
                continue
            os.replace(temporary, destination)
            return None
        except (OSError, urllib.error.URLError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            reasons.append(f"{url}: {reason}")
            if isinstance(reason, TimeoutError):
                break  # the network is silent, not one mirror broken: don't wait on the others too
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    return "; ".join(reasons)
