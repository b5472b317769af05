"""The record survives a crash: `parley serve` as a real process, SIGKILLed in the middle of a
signature round (an outcome proposed and acknowledged, not yet signed), started again on the same
data directory. Every entry a writer was told `ok` for is there, byte for byte, and the round
completes: the same devices (their key files, so their kept certificates and their grants of the
record key) come back, read the log, and the other delegation signs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from calls import until
from certified import DELEGATIONS
from records import desk, holds_key, seen
from served import ServedParley, alive

from parley.identity.delegation_key import DelegationKey
from parley.sdk.client import ParleyClient

POSITION = "Delegation A will not discuss the northern border before the spring."
OUTCOME = "The teams will keep in contact every week until the next summit."
pytestmark = pytest.mark.anyio


class Consoles:
    """The officer consoles of A and B on a served Parley: each its delegation's principal."""

    def __init__(self, keys: dict[str, DelegationKey], links: dict[str, str], folder: Path) -> None:
        self.keys, self.links, self.folder = keys, links, folder
        self.clients: list[ParleyClient] = []

    async def console(self, delegation: str) -> ParleyClient:
        pins = {name: key.fingerprint for name, key in self.keys.items()}
        client = ParleyClient(
            self.links[delegation],
            [f"Principal of {delegation}"],
            key_file=self.folder / f"{delegation}.key",
            officer=self.keys[delegation],
            officer_pins=pins,
        )
        self.clients.append(client)
        await client.join()
        await until(lambda: client.admitted.is_set(), 15, f"{delegation}'s console to be in the call")
        return client

    async def both(self) -> tuple[ParleyClient, ParleyClient]:
        a, b = await self.console(DELEGATIONS[0]), await self.console(DELEGATIONS[1])
        await until(lambda: holds_key(a) and holds_key(b), 15, "both consoles to hold the record key")
        return a, b

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        self.clients.clear()


def held(client: ParleyClient, seqs: Iterable[int]) -> dict[int, tuple[str, bytes]]:
    """The entries at `seqs` in this client's copy: their text forms and ciphertexts, as relayed."""
    return {seq: (desk(client).entry(seq).to_text(), desk(client).view.ciphertext(seq)) for seq in seqs}


async def test_a_server_killed_mid_round_loses_no_accepted_entry_and_the_round_completes(
    tmp_path: Path,
) -> None:
    served = ServedParley(tmp_path / "parley")
    served.start()
    try:
        keys = {name: DelegationKey.generate() for name in DELEGATIONS}
        _, links = served.certified_summit(keys)
        consoles = Consoles(keys, links, tmp_path / "devices")
        (tmp_path / "devices").mkdir()
        try:
            a, b = await consoles.both()
            position = await desk(a).position(POSITION)
            outcome = await desk(a).propose(OUTCOME)  # acknowledged: on disk
            await seen(b, outcome)
            told_ok = {
                seq: (desk(a).entry(seq).to_text(), desk(a).view.ciphertext(seq))
                for seq in (position, outcome)
            }
            janus = served.children()
            assert janus, "the server runs its Janus as its child"

            served.kill()
            # Janus dies with its parent (PR_SET_PDEATHSIG): nothing holds its ports at the restart.
            await until(lambda: not any(alive(pid) for pid in janus), 10, "the server's Janus to die with it")
        finally:
            await consoles.close()

        served.start()
        try:
            a, b = await consoles.both()  # the same key files: kept certificates, kept grants
            await seen(a, outcome)
            await seen(b, outcome)
            assert held(a, told_ok) == held(b, told_ok) == told_ok
            assert desk(b).awaiting() == [outcome]
            assert desk(b).statements()[outcome].text == OUTCOME

            await desk(b).sign(outcome)
            await until(lambda: desk(a).standing()[outcome].agreed, 10, "A to see the outcome agreed")
            assert desk(b).standing()[outcome].agreed
            assert desk(a).statements()[position].text == POSITION
            assert a.alarms == [] and b.alarms == [], (a.alarms, b.alarms)
        finally:
            await consoles.close()
    finally:
        served.stop()
