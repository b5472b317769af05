"""Each delegation opens the whole record later with its own key: the organiser fetches the sealed
record from the server (ciphertext, signatures, grants), and a delegation's officer opens it
offline with the delegation key file. The readout it writes verifies with `parley verify` and
holds the very entries the principals' devices exported."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from calls import until
from certified import CertifiedSummit, certified_summit, closing, enroll
from records import desk, principals, seen, verify

from parley.identity.delegation_key import DelegationKey, save_key
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

POSITION_B = "Delegation B holds that the river treaty of 1961 stands."
CONTACT = "The teams will keep in contact every week until the next summit."
DECLINED = "All sanctions are lifted by the end of March."
REASON = "Not before the review the working group will hold."
PASSPHRASE = "correct horse battery staple"
pytestmark = pytest.mark.anyio


async def parley_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """A `parley` command as a person runs it (in a thread: the server answers in this loop)."""
    command = [sys.executable, "-m", "parley.launcher", *args]
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=120, check=False
    )


def key_file(key: DelegationKey, folder: Path, name: str) -> tuple[Path, Path]:
    """The key sealed with a passphrase in its file, as `parley delegation keygen` writes it."""
    path, passphrase = folder / f"{name}.key", folder / f"{name}.passphrase"
    save_key(key, path, PASSPHRASE)
    passphrase.write_text(PASSPHRASE + "\n")
    return path, passphrase


async def short_course(summit: CertifiedSummit) -> list[bytes]:
    """Positions, an agreed and a declined outcome, the record closed and sealed; each principal's
    own export."""
    a, b = await principals(summit)
    ra, rb = desk(a), desk(b)
    await rb.position(POSITION_B)
    contact = await ra.propose(CONTACT)
    await seen(b, contact)
    await rb.sign(contact)
    declined = await ra.propose(DECLINED)
    await seen(b, declined)
    await rb.decline(declined, REASON)
    host = summit.client("Delegation A", "Host", None, role=Role.HOST)
    await host.join()
    await enroll(a, host)
    await host.close_record()
    await until(lambda: ra.sealed and rb.sealed, 10, "both copies of the record to be sealed")
    return [ra.export(), rb.export()]


async def test_a_delegation_opens_the_sealed_record_with_its_key_and_the_readout_verifies(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        exports = await short_course(summit)
    summit_id = summit.summit.summit_id
    token_file = parley.settings.data_dir / "admin.token"
    url = f"{parley.settings.base_url}/api/summits/{summit_id}/record"
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 401  # the organiser's, like every /api route

    sealed = tmp_path / "sealed.json"
    fetched = await parley_cli(
        "record", "fetch", "--server", parley.settings.base_url, "--summit", summit_id,
        "--admin-token-file", str(token_file), "--out", str(sealed),
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    held = sealed.read_text()
    assert json.loads(held)["state"] == "sealed"
    for text in (POSITION_B, CONTACT, DECLINED, REASON):
        assert text not in held  # ciphertext only

    entries = [json.loads(export)["entries"] for export in exports]
    for name in ("Delegation B", "Delegation A"):
        key, passphrase = key_file(summit.keys[name], tmp_path, name[-1])
        readout, page = tmp_path / f"readout-{name[-1]}.json", tmp_path / f"readout-{name[-1]}.html"
        opened = await parley_cli(
            "record", "open", str(sealed), "--key", str(key), "--passphrase-file", str(passphrase),
            "--out", str(readout), "--html", str(page),
        )  # fmt: skip
        assert opened.returncode == 0, opened.stdout + opened.stderr
        assert json.loads(readout.read_text())["entries"] == entries[0] == entries[1]
        assert json.loads(readout.read_text())["exported_by"] == name
        checked = verify(readout, summit)
        assert checked.returncode == 0, checked.stdout
        assert f"{CONTACT}\n    agreed by Delegation A and Delegation B" in checked.stdout
        assert "Sealed by Delegation A, Delegation B" in checked.stdout
        assert REASON in page.read_text()

    # A key the summit never pinned opens nothing.
    stranger, passphrase = key_file(DelegationKey.generate(), tmp_path, "stranger")
    refused = await parley_cli(
        "record", "open", str(sealed), "--key", str(stranger), "--passphrase-file", str(passphrase),
        "--out", str(tmp_path / "nothing.json"),
    )  # fmt: skip
    assert refused.returncode == 1 and "no pin set signed by this delegation's key" in refused.stderr
    assert not (tmp_path / "nothing.json").exists()
