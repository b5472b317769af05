"""The browser client as one hash: what `npm run build` prints and `parley web-hash` finds served.

The server sends the browser its code, so a hostile server could send a modified client to the
people who load it. What a person can do is compare: the build of a given commit is reproducible,
and its **bundle hash** is

    SHA-256 over the manifest, where the manifest is one line "<sha256 hex>  <path>\\n" per file
    in web/dist (path relative, with "/"), sorted by path (bytewise)

— the output of `cd web/dist && find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs sha256sum`,
so coreutils can check it too. web/scripts/bundle-hash.mjs prints it after every build. The
server serves its manifest at MANIFEST_PATH; `parley web-hash URL` fetches every file listed (the
page itself from the link's own /join/... path, as a browser would), hashes what it received, and
says where the manifest and the served files disagree. What it proves is what was served to that
request; see docs/security.md for what remains.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

MANIFEST_PATH = "/bundle.sha256"
PAGE = "index.html"
#: A built client is a few dozen files; a manifest beyond these is not one.
MAX_FILES = 512
MAX_MANIFEST = 64 * 1024
_LINE = re.compile(r"([0-9a-f]{64})  ([A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*)")
_JOIN_PAGE = re.compile(r"/join/[A-Za-z0-9_-]{1,32}/?")


def manifest(files: Iterable[tuple[str, bytes]]) -> str:
    """The manifest of (path, content) pairs, in sha256sum's format, sorted by path."""
    listed = sorted(files, key=lambda item: item[0].encode())
    return "".join(f"{hashlib.sha256(content).hexdigest()}  {path}\n" for path, content in listed)


def bundle_hash(manifest_text: str) -> str:
    return hashlib.sha256(manifest_text.encode()).hexdigest()


def read_dist(web_dir: Path) -> list[tuple[str, bytes]]:
    """Every file of a built client, by its path relative to `web_dir`."""
    return [
        (path.relative_to(web_dir).as_posix(), path.read_bytes())
        for path in web_dir.rglob("*")
        if path.is_file()
    ]


def parse_manifest(text: str) -> list[tuple[str, str]]:
    """(sha256, path) per line of a served manifest; raises ValueError on anything else."""
    if len(text) > MAX_MANIFEST:
        raise ValueError(f"the manifest is longer than {MAX_MANIFEST} bytes")
    lines = text.splitlines()
    if not lines or len(lines) > MAX_FILES:
        raise ValueError(f"a manifest lists between 1 and {MAX_FILES} files")
    entries = []
    for number, line in enumerate(lines, 1):
        match = _LINE.fullmatch(line)
        if match is None or ".." in match[2].split("/"):
            raise ValueError(f"manifest line {number} is not '<sha256>  <path>'")
        entries.append((match[1], match[2]))
    return entries


@dataclass
class ServedBundle:
    """What a server served: the bundle hash of the files received, and where they disagreed with
    the manifest it served beside them."""

    bundle_hash: str
    files: int
    mismatches: list[str] = field(default_factory=list)


def fetch_served_bundle(url: str, client: httpx.Client) -> ServedBundle:
    """Fetch the manifest and every file it lists from the server at `url` (an invite link or the
    server's address) and hash what came back. The page is fetched where the link opens it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("give the server's address or an invite link (https://host/join/<summit>#...)")
    base = f"{parts.scheme}://{parts.netloc}"
    page = parts.path if _JOIN_PAGE.fullmatch(parts.path) else f"/{PAGE}"
    listed = parse_manifest(_get(client, base + MANIFEST_PATH).decode())
    served, mismatches = [], []
    for expected, path in listed:
        content = _get(client, base + (page if path == PAGE else f"/{path}"))
        served.append((path, content))
        if hashlib.sha256(content).hexdigest() != expected:
            mismatches.append(f"{path}: served content differs from the manifest's hash")
    return ServedBundle(bundle_hash(manifest(served)), len(served), mismatches)


def _get(client: httpx.Client, url: str) -> bytes:
    response = client.get(url)
    if response.status_code != 200:
        raise ValueError(f"{url} answered {response.status_code}")
    return response.content
