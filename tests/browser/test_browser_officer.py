"""The officer's enrollment console in Chromium, through the real server: in a summit whose
delegations' keys the organiser pinned, the officer's own browser device opens the delegation key
file (a wrong passphrase first), certifies itself into the call, approves an SDK device's
enrollment request after comparing its 20-digit code (the device gets its certificate and
enters), signs the pins the device then trusts, and revokes the device (its stay ends)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from browsers import Browsers, join_in_browser, state, wait_until
from calls import until
from playwright.async_api import expect

from parley.identity.certificate import DeviceCertificate
from parley.identity.claim import DeviceClaim
from parley.identity.delegation_key import MIN_LOG2_N, DelegationKey, save_key
from parley.identity.enrollment import accept_certificate, make_request
from parley.identity.pins import PinSet, verify_pins
from parley.protocol.device_ops import Enroll, EnrollData
from parley.protocol.server_ops import CertificateOp, OkOp, ParleyServerOp, PinsOp
from parley.sdk.client import ParleyClient
from parley.sdk.identity import load_or_create_signature_key, public_key, sign
from parley.server.runtime import ParleyServer
from parley.summit.course import Admission, AtEnd
from parley.summit.model import Role
from parley.summit.organiser import Seat

pytestmark = pytest.mark.anyio

PASSPHRASE = "officer of delegation A"


def pinned_summit_links(server: ParleyServer, own: DelegationKey, other: DelegationKey) -> list[str]:
    """A summit of delegations A and B with both keys pinned; links for A's officer and A's delegate."""
    pins = {"Delegation A": own.fingerprint.digits, "Delegation B": other.fingerprint.digits}
    summit = server.store.create_summit(
        "Certified summit",
        datetime.now(UTC),
        120,
        [("Delegation A", "en"), ("Delegation B", "ru")],
        Admission.OPEN,
        AtEnd.HARD_STOP,
        pins=pins,
    )
    seats = [Seat("Delegation A", Role.PRINCIPAL), Seat("Delegation A", Role.DELEGATE)]
    return server.state.organiser.invite_all(summit, seats, timedelta(hours=1))


async def test_the_officer_console_approves_a_device_enrolling_through_the_server(
    parley: ParleyServer, browsers: Browsers, output: Path, tmp_path: Path
) -> None:
    key, other = DelegationKey.generate(), DelegationKey.generate()
    key_file = tmp_path / "delegation.key"
    save_key(key, key_file, PASSPHRASE, MIN_LOG2_N)
    officer_link, device_link = pinned_summit_links(parley, key, other)

    page = await browsers.page("officer")
    events: list[ParleyServerOp] = []
    device = ParleyClient(
        device_link, ["Delegate A"], key_file=tmp_path / "device.key", on_event=events.append
    )
    try:
        await join_in_browser(page, officer_link, ["Officer A"])
        assert not (await state(page))["admitted"]  # not certified yet: it may not enter the call

        await page.get_by_test_id("officer-console-button").click()
        await page.get_by_test_id("officer-key-file").set_input_files(str(key_file))
        await page.get_by_test_id("officer-passphrase").fill("not the passphrase")
        await page.get_by_test_id("officer-unlock").click()
        await expect(page.get_by_test_id("officer-error")).to_contain_text("wrong passphrase", timeout=15_000)
        await page.get_by_test_id("officer-passphrase").fill(PASSPHRASE)
        await page.get_by_test_id("officer-unlock").click()
        await expect(page.get_by_test_id("officer-fingerprint")).to_have_text(
            str(key.fingerprint), timeout=15_000
        )

        async def admitted() -> bool:
            return bool((await state(page))["admitted"])

        await wait_until(admitted, 10, "the officer's device to certify itself into the call")

        await device.join()
        assert not device.admitted.is_set()  # enrolling: it waits for its certificate
        signing_key = load_or_create_signature_key(tmp_path / "device.key")
        placed = device.device
        claim = DeviceClaim(
            device.summit.summit_id,
            placed.delegation_id,
            placed.delegation,
            placed.role,
            tuple(placed.people),
            placed.language,
            public_key(signing_key),
            placed.user_id,
        )
        request = make_request(claim, lambda message: sign(signing_key, message))
        await device.request(Enroll(d=EnrollData(request=request.to_text())), OkOp)

        entry = page.locator(f'[data-testid="officer-request"][data-user-id="{device.user_id}"]')
        await expect(entry.get_by_test_id("officer-request-code")).to_have_text(request.code, timeout=10_000)
        await expect(entry).to_contain_text("Delegate A")
        await expect(entry).to_contain_text("Delegation A · Delegate")
        await page.screenshot(path=str(output / "officer-console.png"))

        await entry.get_by_test_id("officer-approve").click()
        await device.wait_admitted(10)
        mine = [e for e in events if isinstance(e, CertificateOp) and e.d.user_id == device.user_id]
        certificate = DeviceCertificate.from_text(mine[-1].d.certificate)
        accept_certificate(claim, certificate, key.fingerprint, time.time())
        assert certificate.not_after - certificate.not_before == 72 * 3600
        await expect(entry).to_have_count(0)
        certified = page.locator(f'[data-testid="officer-device"][data-user-id="{device.user_id}"]')
        await expect(certified).to_contain_text(certificate.serial.hex())

        # The pins: B's fingerprint typed as B's officer read it out; A's own is filled in.
        own_pin = page.locator('[data-testid="officer-pin-input"][data-delegation="Delegation A"]')
        await expect(own_pin).to_have_value(str(key.fingerprint))
        await page.locator('[data-testid="officer-pin-input"][data-delegation="Delegation B"]').fill(
            str(other.fingerprint)
        )
        await page.get_by_test_id("officer-sign-pins").click()
        await expect(page.get_by_test_id("officer-pins-status")).to_contain_text("Sent", timeout=10_000)
        await until(lambda: any(isinstance(e, PinsOp) for e in events), 10, "the pins at the device")
        pin_set = next(e for e in events if isinstance(e, PinsOp)).d.pin_set
        pins = verify_pins(PinSet.from_text(pin_set), key.fingerprint, device.summit.summit_id)
        assert dict(pins.by_name) == {"Delegation A": key.fingerprint, "Delegation B": other.fingerprint}

        # Revoke: the device's stay ends.
        await certified.get_by_test_id("officer-revoke").click()
        await page.get_by_test_id("confirm-accept").click()
        await until(lambda: device.ended is not None, 10, "the revoked device to be sent away")
        assert device.ended is not None and device.ended.code == "certificate_revoked"
        await expect(certified).to_contain_text("Revoked")
    finally:
        await device.close()
