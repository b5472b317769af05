"""The browser client's bundle hash: reproducible from the sources, printed by the build, and found
again by `parley web-hash` in what the real server serves (and not found when it serves other code).

The builds run the real Vite from web/node_modules (scripts/setup installs it) on copies of the
client's sources in two different folders.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from calls import local_server, summit_links

from parley.cli import main
from parley.server.web_bundle import bundle_hash, manifest, read_dist
from parley.summit.model import Role

pytestmark = pytest.mark.anyio

WEB = Path(__file__).resolve().parents[2] / "web"
# What a build reads: the page, the package, the build and TypeScript settings, the sources.
SOURCES = (
    "index.html",
    "package.json",
    "vite.config.ts",
    *sorted(p.name for p in WEB.glob("tsconfig*.json")),
    "src",
    "scripts",
)
PRINTED = re.compile(r"bundle sha256 ([0-9a-f]{64})")


def clean_build(folder: Path) -> tuple[str, Path]:
    """Build the client's sources copied into `folder`; returns the hash the build printed, and dist."""
    folder.mkdir(parents=True)
    for name in SOURCES:
        copy = shutil.copytree if (WEB / name).is_dir() else shutil.copy2
        copy(WEB / name, folder / name)
    (folder / "node_modules").symlink_to(WEB / "node_modules")
    steps = [
        [str(folder / "node_modules/.bin/vite"), "build", "--logLevel", "warn"],
        ["node", "scripts/bundle-hash.mjs"],
    ]
    for step in steps:
        done = subprocess.run(step, cwd=folder, capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, done.stderr
    printed = PRINTED.search(done.stdout)
    assert printed, done.stdout
    return printed[1], folder / "dist"


def test_two_clean_builds_in_different_folders_give_the_same_bundle_hash_and_print_it(tmp_path: Path) -> None:
    first, first_dist = clean_build(tmp_path / "one")
    second, second_dist = clean_build(tmp_path / "elsewhere" / "two")
    assert first == second
    assert bundle_hash(manifest(read_dist(first_dist))) == first  # the build and the server agree
    # The definition is sha256sum's: coreutils computes the same figure.
    listing = subprocess.run(
        "find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs sha256sum | sha256sum",
        shell=True,
        cwd=second_dist,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listing.stdout.split()[0] == first


def printed_hash(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`parley ARGV`: its exit code, the bundle hash it printed, and all it printed."""
    code = main(list(argv))
    out = capsys.readouterr().out
    found = PRINTED.search(out)
    assert found, out
    return code, found[1], out


async def test_parley_web_hash_finds_the_built_hash_in_what_the_server_serves_and_not_in_a_modified_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = tmp_path / "dist"
    shutil.copytree(WEB / "dist", served)
    code, built, _ = printed_hash(capsys, "web-hash", "--dir", str(served))
    assert code == 0
    async with local_server(tmp_path / "parley", web_dir=served) as server:
        (link,) = summit_links(server, [("Delegation A", Role.PRINCIPAL)])
        code, fetched, out = await web_hash(capsys, link)
        assert (code, fetched) == (0, built)
        assert link.partition("#")[2] not in out  # the link's token is never printed

        # The server now sends other code (its manifest, made at start, still lists the build).
        worker = next(served.glob("assets/worker-*.js"))
        worker.write_text(worker.read_text() + "\n;postMessage('exfiltrate')")
        code, fetched, out = await web_hash(capsys, link)
        assert code == 1 and fetched != built
        assert f"mismatch: {worker.relative_to(served)}" in out


async def web_hash(capsys: pytest.CaptureFixture[str], link: str) -> tuple[int, str, str]:
    """`parley web-hash LINK` (blocking HTTP) off the event loop the server runs in."""
    return await asyncio.to_thread(printed_hash, capsys, "web-hash", link)
