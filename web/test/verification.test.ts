/** What tiles, "Also in the call" and the header say of identities (src/verification.ts). */

import { expect, test } from 'vitest';

import type { IdentityView } from '../src/e2ee/messages';
import { summaryOf, verificationOf } from '../src/verification';

const VIEW: IdentityView = {
  pins: 'trusted',
  ownDelegation: 'Delegation A',
  verdicts: [
    { userId: '11', delegation: 'Delegation A', problem: null, text: 'user 11 (Delegation A: Ann) is certified by Delegation A' },
    { userId: '30', delegation: null, problem: 'no_certificate', text: 'user 30 has no certificate' },
  ],
  summary: '1 of 2 members not certified',
  held: true,
};

test('a certified member names its delegation, pinned; an uncertified one the reason in words', () => {
  expect(verificationOf('11', true, VIEW, [])).toMatchObject({ state: 'certified', text: 'Certified by Delegation A (pinned)' });
  expect(verificationOf('30', true, VIEW, [])).toMatchObject({ state: 'alarm', text: 'Not certified', detail: 'user 30 has no certificate' });
});

test('an attestation alarm marks a certified member too; a member not checked yet is pending', () => {
  const silent = { reason: 'attestation_silent', userId: '11', text: 'User 11 has not attested epoch 4 within 2 s' };
  expect(verificationOf('11', true, VIEW, [silent])).toMatchObject({ state: 'alarm', text: 'Did not confirm the key group' });
  expect(verificationOf('12', true, VIEW, [])).toMatchObject({ state: 'pending' });
});

test('without certified mode every device is unverified, and the header says so', () => {
  expect(verificationOf('11', false, VIEW, []).state).toBe('unverified');
  expect(summaryOf(false, false, null)).toMatchObject({ state: 'unverified', text: 'Identities unverified' });
});

test('the header: all members certified, or how many are not, or the pins in doubt', () => {
  const honest: IdentityView = { ...VIEW, verdicts: VIEW.verdicts.slice(0, 1), summary: 'all 1 members certified', held: false };
  expect(summaryOf(true, true, honest)).toMatchObject({ state: 'certified', text: 'All 1 members certified' });
  expect(summaryOf(true, true, VIEW)).toMatchObject({ state: 'alarm', text: '1 of 2 members not certified' });
  expect(summaryOf(true, true, { ...VIEW, pins: 'differ' }).state).toBe('alarm');
  expect(summaryOf(true, true, { ...VIEW, pins: 'missing' }).state).toBe('pending');
});
