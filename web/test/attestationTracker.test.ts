/**
 * The attestation tracker (src/identity/attestation.ts), driven directly with `now` stepped by
 * hand: members that attest our authenticator, one that attests another (a split), one that
 * stays silent past the bound, attestations that arrive before their epoch, and those that
 * cannot count. Real P-256 keys through WebCrypto; alarm texts as Python words them.
 */

import { expect, test } from 'vitest';

import { ATTESTATION_BOUND, AttestationTracker, attest } from '../src/identity/attestation';
import type { DeviceSigner } from '../src/identity/deviceKey';
import type { Bytes } from '../src/identity/encoding';

const SUMMIT = 'summit-1';
const SELF = 10;
const OURS = new Uint8Array(32).fill(1);
const THEIRS = new Uint8Array(32).fill(2);

interface Member {
  key: Bytes;
  sign: DeviceSigner;
}

async function member(): Promise<Member> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const key = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const sign: DeviceSigner = async (message) => new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, message));
  return { key, sign };
}

async function group() {
  const [self, a, b] = [await member(), await member(), await member()];
  const members = new Map([
    [SELF, self.key],
    [11, a.key],
    [12, b.key],
  ]);
  return { a, b, members };
}

test('members attesting our authenticator are attested, and nothing more is awaited', async () => {
  const { a, b, members } = await group();
  const tracker = new AttestationTracker(SUMMIT, SELF);
  expect(await tracker.enterEpoch(7n, OURS, members, 100)).toEqual([]);
  expect(tracker.deadline(100)).toBe(100 + ATTESTATION_BOUND);
  await tracker.receive(await attest(SUMMIT, 7n, OURS, 11, a.sign), 100.5);
  await tracker.receive(await attest(SUMMIT, 7n, OURS, 12, b.sign), 100.6);
  expect(tracker.states(103)).toEqual(
    new Map([
      [11, 'attested'],
      [12, 'attested'],
    ]),
  );
  expect(tracker.deadline(100.7)).toBeNull();
  expect(tracker.tick(103)).toEqual([]);
});

test('a member attesting another authenticator raises a split, once, that signing ours too does not undo', async () => {
  const { a, members } = await group();
  const tracker = new AttestationTracker(SUMMIT, SELF);
  await tracker.enterEpoch(7n, OURS, members, 100);
  const alarms = await tracker.receive(await attest(SUMMIT, 7n, THEIRS, 11, a.sign), 100.2);
  expect(alarms).toEqual([{ state: 'mismatch', userId: 11, epoch: 7n, text: "user 11 attests epoch 7 of another group than this device's: the call is split" }]);
  expect(await tracker.receive(await attest(SUMMIT, 7n, OURS, 11, a.sign), 100.3)).toEqual([]);
  expect(tracker.states(100.3).get(11)).toBe('mismatch');
});

test('a member silent past the bound raises an alarm at the deadline, once', async () => {
  const { a, members } = await group();
  const tracker = new AttestationTracker(SUMMIT, SELF);
  await tracker.enterEpoch(7n, OURS, members, 100);
  await tracker.receive(await attest(SUMMIT, 7n, OURS, 11, a.sign), 100.1);
  expect(tracker.tick(101.9)).toEqual([]);
  const deadline = tracker.deadline(101.9);
  expect(deadline).toBe(102);
  expect(tracker.tick(deadline ?? 0)).toEqual([
    { state: 'silent', userId: 12, epoch: 7n, text: 'user 12 has not attested epoch 7 within 2 s: it may be kept in another group' },
  ]);
  expect(tracker.tick(105)).toEqual([]);
  expect(tracker.alarms).toHaveLength(1);
});

test('attestations for an epoch not reached yet wait for it, and a forged one among them counts for nothing', async () => {
  const { a, b, members } = await group();
  const tracker = new AttestationTracker(SUMMIT, SELF);
  await tracker.enterEpoch(7n, OURS, members, 100);
  expect(await tracker.receive(await attest(SUMMIT, 8n, OURS, 11, a.sign), 100.1)).toEqual([]);
  expect(await tracker.receive(await attest(SUMMIT, 8n, THEIRS, 12, a.sign), 100.1), "12's, signed by 11's key").toEqual([]);
  await tracker.enterEpoch(8n, OURS, members, 100.2);
  expect(tracker.states(100.3)).toEqual(
    new Map([
      [11, 'attested'],
      [12, 'awaited'],
    ]),
  );
  await tracker.receive(await attest(SUMMIT, 8n, OURS, 12, b.sign), 100.4);
  expect(tracker.states(100.4).get(12)).toBe('attested');
});

test('another summit, an epoch left, a non-member and a bad signature are refused, each with its problem', async () => {
  const { a, b, members } = await group();
  const stranger = await member();
  const tracker = new AttestationTracker(SUMMIT, SELF);
  await tracker.enterEpoch(7n, OURS, members, 100);
  const refusals = [
    [await attest('another', 7n, OURS, 11, a.sign), 'wrong_summit'],
    [await attest(SUMMIT, 6n, OURS, 11, a.sign), 'stale'],
    [await attest(SUMMIT, 7n, OURS, 13, stranger.sign), 'not_a_member'],
    [await attest(SUMMIT, 7n, OURS, 12, a.sign), 'bad_signature'],
  ] as const;
  for (const [attestation, problem] of refusals) {
    await expect(tracker.receive(attestation, 100.1)).rejects.toMatchObject({ problem });
  }
  expect(tracker.states(100.1).get(12), 'a forged attestation does not count').toBe('awaited');
  await tracker.receive(await attest(SUMMIT, 7n, OURS, 12, b.sign), 100.2);
  expect(tracker.states(100.2).get(12)).toBe('attested');
});

test('an attestation whose signature is being checked when the device enters the next epoch counts for nothing', async () => {
  const { a, members } = await group();
  const tracker = new AttestationTracker(SUMMIT, SELF);
  await tracker.enterEpoch(7n, OURS, members, 100);
  const late = tracker.receive(await attest(SUMMIT, 7n, OURS, 11, a.sign), 100.1);
  const entered = tracker.enterEpoch(8n, THEIRS, members, 100.1);
  await expect(late).rejects.toMatchObject({ problem: 'stale' });
  await entered;
  expect(tracker.states(100.2).get(11)).toBe('awaited');
});
