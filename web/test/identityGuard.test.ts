/**
 * Certified mode in the worker (src/e2ee/identityGuard.ts) on the key groups of
 * tests/unit/identity/vectors.json: real certificates, pins and revocation lists, WebCrypto, an
 * injected clock. davey is not here: a fake leaf probe stands in for its pairwise fingerprints
 * (it answers from the scenario's leaves, or says no), and the DAVE member's calls are made by hand.
 */

import { beforeEach, describe, expect, test, vi } from 'vitest';

import { IdentityGuard, type IdentityAlarmReason, type LeafProbe } from '../src/e2ee/identityGuard';
import type { IdentityView, RosterPerson } from '../src/e2ee/messages';
import { DeviceCertificate } from '../src/identity/certificate';
import { sameBytes } from '../src/identity/encoding';
import { Fingerprint } from '../src/identity/fingerprint';
import { PinSet } from '../src/identity/pins';
import { VECTORS, fromHex, vectorDeviceSigner, type EpochScenario } from './identityVectors';

const HONEST = VECTORS.epoch_checks[1] as EpochScenario; // 11, 12, 21, 22 certified; 4503599627370495 revoked by its list
const SELF = '11';
const REVOKED = '4503599627370495';
const AUTHENTICATOR = new Uint8Array(32).fill(7);

const leafKey = (userId: string): Uint8Array => fromHex(HONEST.leaves.find(([id]) => String(id) === userId)?.[1] ?? '');
const leafIds = HONEST.leaves.map(([id]) => String(id));

/** Answers as davey would for the scenario's group: does the leaf of `userId` hold `key`? */
const truthfulProbe: LeafProbe = (userId, key) => Promise.resolve(sameBytes(leafKey(userId), key));

function summitPins(): Record<string, string> {
  return Object.fromEntries(PinSet.fromText(HONEST.pins).pins.map(([name, fingerprint]) => [name, fingerprint.digits]));
}

function roster(): RosterPerson[] {
  return Object.entries(HONEST.roster).map(([userId, e]) => ({ userId, delegationId: e.delegation_id, delegation: e.delegation, role: e.role, people: e.people, language: e.language }));
}

let now: number;
let alarms: [IdentityAlarmReason, string | null, string][];
let attested: string[];
let view: IdentityView | null;
/** When the guard asked to be woken (ms from its now): the attestations' deadline. */
let wakes: number[];

async function guardWith(probe: LeafProbe = truthfulProbe): Promise<IdentityGuard> {
  const guard = new IdentityGuard(
    { summitId: HONEST.summit_id, selfId: SELF, own: Fingerprint.parse(HONEST.own).digits, summitPins: summitPins() },
    await vectorDeviceSigner(),
    leafKey(SELF) as Uint8Array<ArrayBuffer>,
    probe,
    {
      alarm: (reason, detail, userId) => alarms.push([reason, userId, detail]),
      attest: (text) => attested.push(text),
      changed: (v) => {
        view = v;
      },
    },
    () => now,
    (ms) => wakes.push(ms),
  );
  await guard.setPinSet(HONEST.pins);
  for (const text of HONEST.certificates) await guard.addCertificate(String(DeviceCertificate.fromText(text).claim.userId), text);
  guard.setRoster(roster());
  return guard;
}

beforeEach(() => {
  now = HONEST.now * 1000;
  alarms = [];
  attested = [];
  view = null;
  wakes = [];
});

describe('an epoch is held from the moment it is entered until every member passes', () => {
  test('certified members (keys proven by the fake leaf probe, as at a welcome): held, then free, one attestation sent', async () => {
    const guard = await guardWith();
    guard.enterEpoch(5n, AUTHENTICATOR, leafIds, true);
    expect(guard.held).toBe(true); // before any frame can be sealed under the new keys
    await guard.idle();
    expect(guard.held).toBe(false);
    expect(view?.summary).toBe('all 5 members certified');
    expect(view?.verdicts.find((v) => v.userId === '21')?.delegation).toBe('Delegation B');
    expect(alarms).toStrictEqual([]);
    expect(attested).toHaveLength(1);
    expect(attested[0]).toMatch(/^parley-attestation:/);
  });

  test('a revocation list that revokes a member: named, with the reason, and media held again', async () => {
    const guard = await guardWith();
    guard.enterEpoch(5n, AUTHENTICATOR, leafIds, true);
    await guard.idle();
    for (const text of HONEST.revocations) await guard.addRevocations(text);
    await guard.idle();
    expect(guard.held).toBe(true);
    expect(view?.summary).toBe('1 of 5 members not certified');
    expect(alarms).toContainEqual(['uncertified', REVOKED, expect.stringContaining('revoked') as string]);
    expect(guard.recognises(REVOKED)).toBe(false);
  });

  test('a member whose leaf the fake leaf probe says holds another key than its certificate: key_mismatch', async () => {
    const guard = await guardWith((userId, key) => Promise.resolve(userId !== '12' && sameBytes(leafKey(userId), key)));
    guard.enterEpoch(5n, AUTHENTICATOR, leafIds, true);
    await guard.idle();
    expect(guard.held).toBe(true);
    expect(view?.verdicts.find((v) => v.userId === '12')?.problem).toBe('key_mismatch');
    expect(alarms.map(([reason, userId]) => [reason, userId])).toStrictEqual([['uncertified', '12']]);
  });

  test('an Add carrying a key the server made for a certified user id: key_mismatch at the next epoch (no leaf probe needed)', async () => {
    const guard = await guardWith(() => Promise.reject(new Error('the probe must not be asked')));
    for (const id of leafIds) guard.recordAdd(id, id === '21' ? (leafKey('22') as Uint8Array<ArrayBuffer>) : (leafKey(id) as Uint8Array<ArrayBuffer>));
    guard.enterEpoch(6n, AUTHENTICATOR, leafIds, false);
    await guard.idle();
    expect(view?.verdicts.find((v) => v.userId === '21')?.problem).toBe('key_mismatch');
    expect(guard.held).toBe(true);
  });
  test('a member no certificate names is named before the leaf probes of the others end (a welcome into a large group)', async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const guard = await guardWith(async (userId, key) => {
      await gate;
      return sameBytes(leafKey(userId), key);
    });
    guard.enterEpoch(5n, AUTHENTICATOR, [...leafIds, '30'], true);
    await vi.waitFor(() => expect(alarms).toContainEqual(['uncertified', '30', 'user 30 has no certificate']));
    release();
    await guard.idle();
    expect(alarms.filter(([, userId]) => userId === '30')).toHaveLength(1);
    expect(view?.verdicts.find((v) => v.userId === '30')?.problem).toBe('no_certificate');
  });
});

describe('who is recognised, and what the server cannot make a device accept', () => {
  test('only user ids with a good certificate are recognised for proposals; an Add of anyone else is named', async () => {
    const guard = await guardWith();
    expect(guard.recognises('11')).toBe(true);
    expect(guard.recognises('30')).toBe(false);
    guard.recordAdd('30', leafKey('11') as Uint8Array<ArrayBuffer>);
    expect(alarms).toStrictEqual([['uncertified', '30', expect.stringContaining('without a valid certificate') as string]]);
  });

  test('an Add of a certified user id with a key its certificate is not for is named and not recognised, until one with its own key', async () => {
    const guard = await guardWith();
    guard.recordAdd('21', leafKey('22') as Uint8Array<ArrayBuffer>);
    expect(guard.recognises('21')).toBe(false);
    expect(alarms).toStrictEqual([['uncertified', '21', expect.stringContaining('another key than its certificate is for') as string]]);
    guard.recordAdd('21', leafKey('21') as Uint8Array<ArrayBuffer>);
    expect(guard.recognises('21')).toBe(true);
  });

  test('no pin set: alarm, and media held whatever the group', async () => {
    const guard = new IdentityGuard(
      { summitId: HONEST.summit_id, selfId: SELF, own: Fingerprint.parse(HONEST.own).digits, summitPins: summitPins() },
      await vectorDeviceSigner(),
      leafKey(SELF) as Uint8Array<ArrayBuffer>,
      truthfulProbe,
      { alarm: (reason, detail, userId) => alarms.push([reason, userId, detail]), attest: () => undefined, changed: () => undefined },
      () => now,
    );
    await guard.setPinSet(null);
    guard.enterEpoch(5n, AUTHENTICATOR, [SELF], true);
    await guard.idle();
    expect(guard.held).toBe(true);
    expect(alarms.map(([reason]) => reason)).toStrictEqual(['pins']);
  });

  test('the summit showing other pins than the own delegation signed: alarm, media held', async () => {
    const guard = new IdentityGuard(
      { summitId: HONEST.summit_id, selfId: SELF, own: Fingerprint.parse(HONEST.own).digits, summitPins: { ...summitPins(), 'Delegation Z': '1'.repeat(30) } },
      await vectorDeviceSigner(),
      leafKey(SELF) as Uint8Array<ArrayBuffer>,
      truthfulProbe,
      { alarm: (reason, detail, userId) => alarms.push([reason, userId, detail]), attest: () => undefined, changed: () => undefined },
      () => now,
    );
    await guard.setPinSet(HONEST.pins);
    expect(guard.view().pins).toBe('differ');
    expect(alarms.map(([reason]) => reason)).toStrictEqual(['pins']);
    expect(guard.held).toBe(true);
  });
});

test('members silent beyond the bound after this device entered the epoch: named, media held', async () => {
  const guard = await guardWith();
  guard.enterEpoch(5n, AUTHENTICATOR, leafIds, true);
  await guard.idle();
  expect(guard.held).toBe(false);
  expect(wakes).toStrictEqual([2001]); // the bound, 2 s after this device entered the epoch
  now += 2001;
  guard.tick();
  await guard.idle();
  expect(guard.held).toBe(true);
  const silent = alarms.filter(([reason]) => reason === 'attestation_silent').map(([, userId]) => userId);
  expect(new Set(silent)).toStrictEqual(new Set(leafIds.filter((id) => id !== SELF)));
});
