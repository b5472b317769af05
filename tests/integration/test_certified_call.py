"""Delegation-certified identities with SDK devices, end to end: `parley serve` with its own Janus,
officer consoles and devices of two delegations enrolling through the server, real DAVE (dave.py),
real Ed25519 delegation keys. Each test checks what a participant would: every member certified,
media decoding, or the alarm naming the member and no frame sent."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import dave
import pytest
from calls import receiving, until
from certified import certified_summit, closing, enroll, officer_console, request_of, returning
from hostile import room_of

from parley.identity.certificate import DeviceCertificate, issue
from parley.identity.delegation_key import DelegationKey
from parley.protocol.codes import ErrorCode
from parley.protocol.device_ops import Approve, ApproveData
from parley.protocol.server_ops import CertificateData, CertificateOp, OkOp
from parley.sdk.client import ParleyClient
from parley.sdk.identity import KEY_VERSION, public_key
from parley.sdk.requests import RequestRefused
from parley.server.runtime import ParleyServer

pytestmark = pytest.mark.anyio

PATTERNS = {"Officer A": 3, "Officer B": 5, "Ann": 9, "Boris": 12}


def all_certified(clients: list[ParleyClient]) -> bool:
    return all(
        c.certified is not None
        and c.certified.certification.summary() == f"all {len(clients)} members certified"
        and not c.holding
        for c in clients
    )


async def test_two_delegations_enroll_their_devices_and_every_client_sees_all_members_certified(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer_a = await officer_console(summit, "Delegation A", "Officer A", PATTERNS["Officer A"])
        officer_b = await officer_console(summit, "Delegation B", "Officer B", PATTERNS["Officer B"])
        ann = summit.client("Delegation A", "Ann", PATTERNS["Ann"])
        boris = summit.client("Delegation B", "Boris", PATTERNS["Boris"])
        for device, console in ((ann, officer_a), (boris, officer_b)):
            await device.join()
            assert device.enrollment_code is not None and not device.admitted.is_set()
            await enroll(console, device)
        clients = [officer_a, officer_b, ann, boris]
        await until(lambda: all_certified(clients), 20, "every client to show all 4 members certified")

        def everyone_receives() -> bool:
            return all(
                receiving(me.feeds.get(other.user_id), PATTERNS[other.people[0]])
                for me in clients
                for other in clients
                if other is not me
            )

        await until(everyone_receives, 40, "every device to decode every other device's media")
        assert all(c.alarms == [] for c in clients), [c.alarms for c in clients]
        assert (tmp_path / "devices" / "Ann.key.certificates.json").exists()


async def test_a_forged_expired_revoked_other_summit_or_other_key_certificate_is_refused_with_its_reason(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer = await officer_console(summit, "Delegation A", "Officer A", PATTERNS["Officer A"])
        ann = summit.client("Delegation A", "Ann", PATTERNS["Ann"])
        await ann.join()
        assert ann.certified is not None
        claim, key_a, now = ann.certified.enrollment.claim, summit.keys["Delegation A"], int(time.time())
        good = issue(key_a, claim, now - 60, now + 3600)
        revoked = issue(key_a, claim, now - 60, now + 3600)
        assert officer.console is not None
        officer.console.issued.append(revoked)
        await officer.revoke_certificates([revoked.serial])
        await until(
            lambda: (
                ann.certified is not None
                and ann.certified.certification.revocations.sequence(key_a.public_key) == 1
            ),
            5,
            "Ann to hold A's revocation list",
        )
        other_key = public_key(dave.SignatureKeyPair.generate(KEY_VERSION))
        bad: dict[str, DeviceCertificate] = {
            "forged or altered": dataclasses.replace(good, signature=bytes(64)),
            "expired": issue(key_a, claim, now - 7200, now - 3600),
            "revoked": revoked,
            "for summit other": issue(
                key_a, dataclasses.replace(claim, summit_id="other"), now - 60, now + 3600
            ),
            "for another key": issue(
                key_a, dataclasses.replace(claim, device_key=other_key), now - 60, now + 3600
            ),
            "not by this device's delegation": issue(DelegationKey.generate(), claim, now - 60, now + 3600),
        }
        room = room_of(parley, summit.summit.summit_id)
        for certificate in bad.values():  # the server, hostile, hands Ann certificates of its own
            room.send(
                room._devices[ann.user_id],
                CertificateOp(d=CertificateData(user_id=ann.user_id, certificate=certificate.to_text())),
            )
        await until(
            lambda: ann.certified is not None and len(ann.certified.refused) == len(bad), 5, "every refusal"
        )
        for reason, refusal in zip(bad, ann.certified.refused, strict=True):
            assert refusal.startswith("certificate: ") and reason in refusal, (reason, refusal)
        assert ann.enrollment_code is not None and not ann.admitted.is_set()
        # The server refuses them too, with the reason: an officer cannot hand one in.
        for reason, certificate in bad.items():
            with pytest.raises(RequestRefused) as refused:
                await officer.request(Approve(d=ApproveData(certificate=certificate.to_text())), OkOp)
            assert refused.value.code in (ErrorCode.INVALID, ErrorCode.FORBIDDEN), (reason, refused.value)
        await enroll(officer, ann)  # the officer's own approval is taken


async def test_an_officers_revocation_takes_the_device_out_of_the_call_within_2_s(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer_a = await officer_console(summit, "Delegation A", "Officer A", PATTERNS["Officer A"])
        officer_b = await officer_console(summit, "Delegation B", "Officer B", PATTERNS["Officer B"])
        ann, boris = (
            summit.client("Delegation A", "Ann", PATTERNS["Ann"]),
            summit.client("Delegation B", "Boris", PATTERNS["Boris"]),
        )
        for device, console in ((ann, officer_a), (boris, officer_b)):
            await device.join()
            await enroll(console, device)
        clients = [officer_a, officer_b, ann, boris]
        await until(lambda: all_certified(clients), 20, "all certified")
        assert officer_a.console is not None
        (certificate,) = [c for c in officer_a.console.issued if c.claim.user_id == ann.user_id]
        stayed = [officer_a, officer_b, boris]
        started = asyncio.get_running_loop().time()
        await officer_a.revoke_certificates([certificate.serial])

        def taken_effect() -> bool:
            return ann.ended is not None and all(
                c.member is not None and ann.user_id not in c.member.roster for c in stayed
            )

        await until(taken_effect, 2.0, "Ann's stay to end and every key group to drop her")
        elapsed = asyncio.get_running_loop().time() - started
        assert ann.ended is not None and ann.ended.code is ErrorCode.CERTIFICATE_REVOKED, ann.ended
        await until(lambda: all_certified(stayed), 10, "the three left to be all certified again")
        print(f"revocation took effect in {elapsed:.2f} s")


async def test_a_device_that_kept_its_certificate_goes_straight_into_the_call_next_time(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer = await officer_console(summit, "Delegation A", "Officer A", PATTERNS["Officer A"])
        ann = summit.client("Delegation A", "Ann", PATTERNS["Ann"])
        await ann.join()
        await enroll(officer, ann)
        await ann.leave()
        again = returning(summit, ann)
        await again.join()
        assert again.admitted.is_set() and again.enrollment_code is None and again.user_id == ann.user_id
        await until(lambda: all_certified([officer, again]), 10, "both certified")


async def test_an_officer_who_declines_a_request_ends_the_device_s_stay_with_its_reason(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer_a = await officer_console(summit, "Delegation A", "Officer A", PATTERNS["Officer A"])
        stranger = summit.client("Delegation A", "Ann", PATTERNS["Ann"])
        await stranger.join()

        def asked() -> bool:
            return request_of(officer_a, stranger.user_id) is not None

        await until(asked, 10, "the request to reach its officer")
        waiting = request_of(officer_a, stranger.user_id)
        assert waiting is not None
        await officer_a.decline(waiting)
        await until(lambda: stranger.ended is not None, 10, "the declined device's stay to end")
        assert stranger.ended is not None and stranger.ended.code is ErrorCode.ENROLLMENT_DECLINED
        assert officer_a.console is not None and officer_a.console.waiting == []
        with pytest.raises(RequestRefused) as again:  # nothing left to decline
            await officer_a.decline(waiting)
        assert again.value.code is ErrorCode.NO_SUCH_DEVICE
