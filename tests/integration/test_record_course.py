"""The record over real devices: two delegations' principals draft, agree, decline, add an action
item and seal through a real server; each exports its readout and `parley verify` checks it
offline. The server's store and its log hold none of the texts."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from calls import until
from certified import certified_summit, closing, enroll
from records import desk, principals, seen, verify

from parley.protocol.codes import ErrorCode, RecordState
from parley.sdk.record import RecordDesk, RecordError
from parley.sdk.requests import RequestRefused
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

POSITION_A = "Delegation A sets out its red lines on the northern border."
POSITION_B = "Delegation B holds that the river treaty of 1961 stands."
CONTACT = "The teams will keep in contact every week until the next summit."
WORKING_GROUP = "A joint working group on water meets in Geneva in January."
DECLINED = "All sanctions are lifted by the end of March."
REASON = "Not before the review the working group will hold."
ACTION = "Draft the joint communiqué"
pytestmark = pytest.mark.anyio

TEXTS = (POSITION_A, POSITION_B, CONTACT, WORKING_GROUP, DECLINED, REASON, ACTION)


async def test_a_full_course_is_agreed_declined_sealed_exported_and_verified_offline(
    parley: ParleyServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        a, b = await principals(summit)
        ra, rb = desk(a), desk(b)
        await ra.position(POSITION_A)
        await rb.position(POSITION_B)

        contact = await ra.propose(CONTACT)
        await seen(b, contact)
        assert rb.awaiting() == [contact] and rb.statements()[contact].text == CONTACT
        await rb.sign(contact)

        group = await rb.propose(WORKING_GROUP)
        await seen(a, group)
        await ra.sign(group)

        declined = await ra.propose(DECLINED)
        await seen(b, declined)
        await rb.decline(declined, REASON)
        action = await ra.action(ACTION, owner="Delegation A's sherpa", due="2027-01-15")

        # A second signature of one outcome by one delegation is refused by the server.
        with pytest.raises(RequestRefused) as refused:
            await rb.sign(contact)
        assert refused.value.code is ErrorCode.RECORD_REFUSED and "answered" in str(refused.value)

        # The host closes the record; each delegation's signer seals the same head at once.
        host = summit.client("Delegation A", "Host", None, role=Role.HOST)
        await host.join()
        await enroll(a, host)  # Delegation A's officer console certifies its host
        await host.close_record()
        await until(lambda: ra.sealed and rb.sealed, 10, "both copies of the record to be sealed")
        assert ra.state is not None and ra.state.state is RecordState.SEALED
        with pytest.raises(RequestRefused) as after:
            await ra.position("One more thing.")
        assert after.value.code is ErrorCode.RECORD_REFUSED

        standing = ra.standing()
        assert standing[contact].agreed and standing[group].agreed and not standing[declined].agreed
        assert a.alarms == [] and b.alarms == [], (a.alarms, b.alarms)

        # Each device keeps its own copy of the record, owner-only, as it verified it.
        for client, d in ((a, ra), (b, rb)):
            copy = client.record_copy()
            assert copy is not None

            def kept(copy: Path = copy, d: RecordDesk = d) -> bool:
                return copy.exists() and copy.read_bytes() == d.export()

            await until(kept, 10, "the device's copy of the sealed record")
            assert copy.stat().st_mode & 0o077 == 0

        readouts = {}
        for name, d in (("a", ra), ("b", rb)):
            path = tmp_path / f"readout-{name}.json"
            path.write_bytes(d.export())
            readouts[name] = path
        assert (
            json.loads(readouts["a"].read_text())["entries"]
            == json.loads(readouts["b"].read_text())["entries"]
        )

        for path in readouts.values():
            checked = verify(path, summit, "--html", str(path.with_suffix(".html")))
            assert checked.returncode == 0, checked.stdout + checked.stderr
            out = checked.stdout
            assert f"position by Delegation A: {POSITION_A}" in out
            assert f"{CONTACT}\n    agreed by Delegation A and Delegation B" in out
            assert f"{WORKING_GROUP}\n    agreed by Delegation A and Delegation B" in out
            assert "Sealed by Delegation A, Delegation B" in out
            assert path.with_suffix(".html").read_text().count(ACTION) == 1

        claim = verify(readouts["b"], summit, "--claim", DECLINED)
        assert claim.returncode == 1
        assert "Claim: position of Delegation A, not agreed" in claim.stdout
        assert verify(readouts["a"], summit, "--claim", CONTACT).returncode == 0
        unknown = verify(readouts["a"], summit, "--claim", "Delegation B concedes the border.")
        assert unknown.returncode == 1 and "not in the record" in unknown.stdout
        assert action in standing

    # What the server kept and logged: ciphertext, signatures, sizes; none of the texts.
    stored = b"".join(p.read_bytes() for p in (tmp_path / "parley").rglob("*") if p.is_file())
    logged = caplog.text
    for text in TEXTS:
        assert text.encode() not in stored and text not in logged, text


async def test_a_delegate_writes_only_once_its_officer_names_it_a_signer(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        a, b = await principals(summit)
        delegate = summit.client("Delegation B", "Delegate B", None)
        await delegate.join()
        await enroll(b, delegate)
        await until(lambda: delegate.record is not None and delegate.record.key is not None, 10, "the key")
        rd = desk(delegate)
        assert not rd.signer
        with pytest.raises(RecordError):
            await rd.position("A delegate speaks for its delegation.")

        contact = await desk(a).propose(CONTACT)
        await seen(delegate, contact)
        assert delegate.certified is not None and delegate.certified.enrollment.certificate is not None
        await b.name_signers([delegate.certified.enrollment.certificate.serial])
        await until(lambda: rd.signer, 10, "the delegate to learn it is a signer")
        await rd.sign(contact)
        await seen(a, contact + 1)
        assert desk(a).standing()[contact].agreed and a.alarms == [] and delegate.alarms == []
