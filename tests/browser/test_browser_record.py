"""The record in the browser: a browser principal of Delegation A and the SDK principal of
Delegation B (its officer console) draft, agree, decline and seal through the real server; the
browser exports its readout, and `parley verify` checks it offline.

Real Chromium (davey and the device key in its worker), the real server and Janus, real SDK
devices. Delegation A's officer console enrolls the browser and leaves, so that the browser is
A's only signer present: A's seal is the browser's own. The host is an SDK device of Delegation
B. What is checked is what a person sees (the panel's words, the exact text in the signing prompt;
screenshots in test-output/) and what `parley verify` says of the file the browser downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from browsers import Browsers, state, wait_until
from calls import until
from certified import certified_summit, closing, enroll, officer_console
from certified_browsers import enroll_in_browser
from playwright.async_api import Download, Page, expect
from records import desk, verify

from parley.protocol.codes import RecordState
from parley.sdk.record import RecordDesk
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio

POSITION_A = "Delegation A keeps the northern crossings open to trade."
OUTCOME_A = "Both delegations meet again in Vienna in March."
OUTCOME_B = "A joint commission on the river's water starts work in June."
DECLINED = "All tariffs are lifted by the end of the year."
REASON = "Not before the commission has reported."
BOTH = "Delegation A and Delegation B"


def seq_of(record: RecordDesk, text: str) -> int | None:
    return next((seq for seq, s in record.statements().items() if s.text == text), None)


async def record_state(page: Page) -> dict[str, Any]:
    s = await state(page)
    return s["record"] or {}


async def ready_to_write(page: Page) -> bool:
    r = await record_state(page)
    return bool(r.get("caughtUp") and r.get("hasKey") and r.get("signer"))


def entry(page: Page, text: str) -> Any:
    return page.get_by_test_id("record-entry").filter(has_text=text)


async def test_a_browser_principal_drafts_signs_declines_seals_and_exports_a_readout_that_verifies(
    parley: ParleyServer, browsers: Browsers, output: Path, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer_a = await officer_console(summit, "Delegation A", "Officer A", None)
        principal_b = await officer_console(summit, "Delegation B", "Principal B", None)
        host = summit.client("Delegation B", "Host", None, role=Role.HOST)
        await host.join()
        await enroll(principal_b, host)

        page = await browsers.page("record-a")
        await enroll_in_browser(page, summit.browser_link("Delegation A"), ["Principal A"], officer_a)
        await officer_a.leave()  # the browser is Delegation A's only signer from now on
        await wait_until(lambda: ready_to_write(page), 30, "the browser to hold the record and its key")
        rb = desk(principal_b)

        # The browser states a position and proposes an outcome; B signs the outcome.
        panel = page.get_by_test_id("record-panel")
        await expect(panel.get_by_test_id("record-state")).to_have_text("Record open · 0 entries")
        draft = panel.get_by_role("textbox", name="Draft")
        await draft.fill(POSITION_A)
        await panel.get_by_role("button", name="State position").click()
        await expect(entry(page, POSITION_A).get_by_test_id("record-standing")).to_have_text(
            "Position of Delegation A"
        )
        await expect(draft).to_have_value("")
        await draft.fill(OUTCOME_A)
        await panel.get_by_role("button", name="Propose outcome").click()
        await expect(entry(page, OUTCOME_A).get_by_test_id("record-standing")).to_have_text(
            "Proposed by Delegation A — awaiting Delegation B"
        )
        await page.screenshot(path=str(output / "record-drafting.png"))
        await rb.wait(lambda: seq_of(rb, OUTCOME_A) is not None)
        outcome_a = seq_of(rb, OUTCOME_A)
        assert outcome_a is not None and rb.awaiting() == [outcome_a]
        await rb.sign(outcome_a)
        await expect(entry(page, OUTCOME_A).get_by_test_id("record-standing")).to_have_text(
            f"Agreed by {BOTH}"
        )

        # B proposes; the browser shows the exact text and signs it.
        outcome_b = await rb.propose(OUTCOME_B)
        prompt = panel.get_by_test_id("signing-prompt")
        await expect(prompt).to_have_count(1)
        await expect(prompt.get_by_test_id("prompt-text")).to_have_text(OUTCOME_B)
        await page.screenshot(path=str(output / "record-signing-prompt.png"))
        await prompt.get_by_role("button", name="Sign", exact=True).click()
        await rb.wait(lambda: rb.standing()[outcome_b].agreed)
        await expect(entry(page, OUTCOME_B).get_by_test_id("record-standing")).to_have_text(
            f"Agreed by {BOTH}"
        )
        await expect(prompt).to_have_count(0)

        # B proposes another; the browser declines it, with a reason.
        declined = await rb.propose(DECLINED)
        await expect(prompt.get_by_test_id("prompt-text")).to_have_text(DECLINED)
        await prompt.get_by_role("button", name="Decline…").click()
        confirm = prompt.get_by_role("button", name="Decline", exact=True)
        await expect(confirm).to_be_disabled()  # no decline without a reason
        await prompt.get_by_role("textbox", name="Reason for declining").fill(REASON)
        await confirm.click()
        await rb.wait(lambda: bool(rb.standing()[declined].declined_by))
        await expect(entry(page, DECLINED).get_by_test_id("record-standing").first).to_have_text(
            f"Declined by Delegation A: {REASON}"
        )

        # The host closes the record; the browser (A's signer) and B seal it, each by itself.
        await host.close_record()
        await until(lambda: rb.sealed, 15, "B's copy of the record to be sealed")
        await expect(panel.get_by_test_id("record-state")).to_have_text(f"Sealed by {BOTH}")
        assert rb.state is not None and rb.state.state is RecordState.SEALED
        assert (await record_state(page))["sealedBy"] == ["Delegation A", "Delegation B"]
        assert rb.entry(len(rb.rules.log) - 2).kind.name == "SEAL"
        await page.screenshot(path=str(output / "record-sealed.png"))

        # The browser's readout: two downloads, the JSON and its printable page.
        downloads: list[Download] = []
        page.on("download", lambda download: downloads.append(download))
        await panel.get_by_role("button", name="Export readout").click()
        await until(lambda: len(downloads) == 2, 10, "both files of the readout to download")
        files = {}
        for download in downloads:
            path = tmp_path / download.suggested_filename
            await download.save_as(path)
            files[path.suffix] = path
        assert set(files) == {".json", ".html"}

        checked = verify(files[".json"], summit)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        out = checked.stdout
        assert f"position by Delegation A: {POSITION_A}" in out
        assert f"{OUTCOME_A}\n    agreed by {BOTH}" in out
        assert f"{OUTCOME_B}\n    agreed by {BOTH}" in out
        assert f"position of Delegation B, not agreed (declined by Delegation A: {REASON})" in out
        assert "Sealed by Delegation A, Delegation B" in out
        assert await page.evaluate("window.parley.state().alarms") == []

        sdk = json.loads(rb.export())
        ours = json.loads(files[".json"].read_text())
        assert ours["entries"] == sdk["entries"]

        readout = await page.context.new_page()
        await readout.set_content(files[".html"].read_text())
        await expect(readout.get_by_text(OUTCOME_B).first).to_be_visible()
        await readout.screenshot(path=str(output / "record-readout.png"), full_page=True)
