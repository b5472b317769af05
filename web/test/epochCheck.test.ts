/**
 * The browser's per-epoch check (src/identity/epochCheck.ts) judges the key groups of
 * tests/unit/identity/vectors.json as Python's check_epoch does: the same verdict, reason and
 * text for every member, the same summary. Real certificates and WebCrypto.
 */

import { expect, test } from 'vitest';

import { DeviceCertificate } from '../src/identity/certificate';
import { checkEpoch } from '../src/identity/epochCheck';
import { Fingerprint } from '../src/identity/fingerprint';
import { PinSet, verifyPins } from '../src/identity/pins';
import { RevocationBook, RevocationList } from '../src/identity/revocation';
import { VECTORS, fromHex, rosterEntryOf, type EpochScenario } from './identityVectors';

async function judged(s: EpochScenario) {
  const revocations = new RevocationBook(s.summit_id);
  for (const text of s.revocations) await revocations.accept(RevocationList.fromText(text));
  return checkEpoch({
    summitId: s.summit_id,
    leaves: s.leaves.map(([userId, key]) => [userId, fromHex(key)] as const),
    certificates: s.certificates.map((text) => DeviceCertificate.fromText(text)),
    pins: await verifyPins(PinSet.fromText(s.pins), Fingerprint.parse(s.own), s.summit_id),
    revocations,
    roster: new Map(Object.entries(s.roster).map(([userId, entry]) => [Number(userId), rosterEntryOf(entry)])),
    now: s.now,
  });
}

test.each(VECTORS.epoch_checks.map((s) => [s.name, s] as const))('%s: every verdict, reason and text as Python gives them', async (_name, scenario) => {
  const result = await judged(scenario);
  expect(result.verdicts.map((v) => ({ user_id: v.userId, delegation: v.delegation, problem: v.problem, text: v.text }))).toEqual(scenario.verdicts);
  expect(result.certified).toBe(scenario.certified);
  expect(result.summary()).toBe(scenario.summary);
});

test('a group of only certified members is certified, and says so', async () => {
  const honest = VECTORS.epoch_checks[1];
  if (honest === undefined) throw new Error('no honest scenario');
  const revoked = honest.verdicts.find((v) => v.problem === 'revoked');
  const result = await judged({ ...honest, leaves: honest.leaves.filter(([userId]) => userId !== revoked?.user_id), revocations: [] });
  expect(result.certified).toBe(true);
  expect(result.alarms).toEqual([]);
  expect(result.summary()).toBe('all 4 members certified');
});
