/**
 * Certified mode in the worker (src/e2ee/identityGuard.ts) on the key groups of
 * tests/unit/identity/vectors.json: real certificates, pins, revocation lists and attestations
 * (each member signs with its own key: the vectors' P-256 scalar is its user id), WebCrypto, an
 * injected clock. davey is not here: the DAVE member's calls are made by hand.
 */

import { beforeEach, describe, expect, test } from 'vitest';

import { IdentityGuard, type IdentityAlarmReason } from '../src/e2ee/identityGuard';
import type { IdentityView, RosterPerson } from '../src/e2ee/messages';
import { privateJwk } from '../src/e2ee/signingKey';
import { attest } from '../src/identity/attestation';
import { DeviceCertificate } from '../src/identity/certificate';
import { deviceSigner, type DeviceSigner } from '../src/identity/deviceKey';
import { Fingerprint } from '../src/identity/fingerprint';
import { PinSet } from '../src/identity/pins';
import { VECTORS, fromHex, vectorDeviceSigner, type EpochScenario } from './identityVectors';

const HONEST = VECTORS.epoch_checks[1] as EpochScenario; // 11, 12, 21, 22 certified; 4503599627370495 revoked by its list
const SELF = '11';
const REVOKED = '4503599627370495';
const AUTHENTICATOR = new Uint8Array(32).fill(7);
const OTHER_AUTHENTICATOR = new Uint8Array(32).fill(8);

const leafKey = (userId: string): Uint8Array<ArrayBuffer> => fromHex(HONEST.leaves.find(([id]) => String(id) === userId)?.[1] ?? '');
const leafIds = HONEST.leaves.map(([id]) => String(id));
const others = leafIds.filter((id) => id !== SELF);

/** A member's own signing key: P-256 scalar = its user id (tests/unit/identity/test_vectors.py), the vectors' device key for the revoked one. */
function memberSigner(userId: string): Promise<DeviceSigner> {
  if (userId === REVOKED) return vectorDeviceSigner();
  const scalar = new Uint8Array(32);
  scalar[31] = Number(userId);
  return deviceSigner(privateJwk({ private: scalar, public: leafKey(userId) }));
}

/** `userId`'s attestation of an epoch, signed by `signer` (its own key unless said). */
async function attestationOf(userId: string, epoch: bigint, authenticator = AUTHENTICATOR, signer = userId): Promise<string> {
  return (await attest(HONEST.summit_id, epoch, authenticator, Number(userId), await memberSigner(signer))).toText();
}

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

async function guardWith(summit: Record<string, string> = summitPins()): Promise<IdentityGuard> {
  return new IdentityGuard(
    { summitId: HONEST.summit_id, selfId: SELF, own: Fingerprint.parse(HONEST.own).digits, summitPins: summit },
    await memberSigner(SELF),
    leafKey(SELF),
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
}

/** A guard with the honest summit's pin set, certificates and roster. */
async function honestGuard(): Promise<IdentityGuard> {
  const guard = await guardWith();
  await guard.setPinSet(HONEST.pins);
  for (const text of HONEST.certificates) await guard.addCertificate(String(DeviceCertificate.fromText(text).claim.userId), text);
  guard.setRoster(roster());
  return guard;
}

/** Welcomed into the honest group at epoch 5, and every other member's attestation of it received. */
async function welcomedAndAttested(): Promise<IdentityGuard> {
  const guard = await honestGuard();
  guard.enterEpoch(5n, AUTHENTICATOR, leafIds, true);
  for (const id of others) guard.receiveAttestation(await attestationOf(id, 5n));
  await guard.idle();
  return guard;
}

beforeEach(() => {
  now = HONEST.now * 1000;
  alarms = [];
  attested = [];
  view = null;
  wakes = [];
});

describe('at a welcome, a member already in the group is proven by its attestation of this epoch', () => {
  test('held from the moment the welcome is processed; members awaited (no verdict, no alarm) until their attestations come; then free', async () => {
    const guard = await honestGuard();
    guard.enterEpoch(5n, AUTHENTICATOR, leafIds, true);
    expect(guard.held).toBe(true); // before any frame can be sealed under the new keys
    await guard.idle();
    expect(guard.held).toBe(true);
    expect(view?.summary).toBeNull();
    expect(view?.verdicts.map((v) => v.userId)).toStrictEqual([SELF]);
    expect(alarms).toStrictEqual([]);
    expect(attested).toHaveLength(1);
    expect(attested[0]).toMatch(/^parley-attestation:/);
    for (const id of others) guard.receiveAttestation(await attestationOf(id, 5n));
    await guard.idle();
    expect(guard.held).toBe(false);
    expect(view?.summary).toBe('all 5 members certified');
    expect(view?.verdicts.find((v) => v.userId === '21')?.delegation).toBe('Delegation B');
    expect(alarms).toStrictEqual([]);
  });

  test('attestations that came before the welcome was processed count', async () => {
    const guard = await honestGuard();
    for (const id of others) guard.receiveAttestation(await attestationOf(id, 5n));
    guard.enterEpoch(5n, AUTHENTICATOR, leafIds, true);
    await guard.idle();
    expect(guard.held).toBe(false);
    expect(view?.summary).toBe('all 5 members certified');
  });

  test('an attestation signed by another key than the certificate is for proves nothing: awaited, then named silent at the bound', async () => {
    const guard = await honestGuard();
    guard.enterEpoch(5n, AUTHENTICATOR, leafIds, true);
    for (const id of others) guard.receiveAttestation(await attestationOf(id, 5n, AUTHENTICATOR, id === '12' ? '21' : id));
    await guard.idle();
    expect(guard.held).toBe(true);
    expect(view?.verdicts.find((v) => v.userId === '12')).toBeUndefined();
    expect(alarms).toStrictEqual([]);
    now += 2001;
    guard.tick();
    await guard.idle();
    expect(guard.held).toBe(true);
    expect(alarms.map(([reason, userId]) => [reason, userId])).toStrictEqual([['attestation_silent', '12']]);
  });

  test('a member attesting another authenticator for this epoch proves nothing and is named attestation_mismatch', async () => {
    const guard = await honestGuard();
    guard.enterEpoch(5n, AUTHENTICATOR, leafIds, true);
    for (const id of others) guard.receiveAttestation(await attestationOf(id, 5n, id === '21' ? OTHER_AUTHENTICATOR : AUTHENTICATOR));
    await guard.idle();
    expect(guard.held).toBe(true);
    expect(view?.verdicts.find((v) => v.userId === '21')).toBeUndefined();
    expect(alarms.map(([reason, userId]) => [reason, userId])).toStrictEqual([['attestation_mismatch', '21']]);
  });

  test('a member no certificate names is named at once, without waiting for attestations', async () => {
    const guard = await honestGuard();
    guard.enterEpoch(5n, AUTHENTICATOR, [...leafIds, '30'], true);
    await guard.idle();
    expect(alarms).toStrictEqual([['uncertified', '30', 'user 30 has no certificate']]);
    expect(view?.verdicts.find((v) => v.userId === '30')?.problem).toBe('no_certificate');
    expect(guard.held).toBe(true);
  });

  test('a key proven at a welcome stays proven through the commits after it (a leaf changes its key only by an Add)', async () => {
    const guard = await welcomedAndAttested();
    guard.enterEpoch(6n, OTHER_AUTHENTICATOR, leafIds, false);
    await guard.idle();
    expect(guard.held).toBe(false);
    expect(view?.summary).toBe('all 5 members certified');
  });
});

describe('an epoch is held until every member passes', () => {
  test('a revocation list that revokes a member: named, with the reason, and media held again', async () => {
    const guard = await welcomedAndAttested();
    expect(guard.held).toBe(false);
    for (const text of HONEST.revocations) await guard.addRevocations(text);
    await guard.idle();
    expect(guard.held).toBe(true);
    expect(view?.summary).toBe('1 of 5 members not certified');
    expect(alarms).toContainEqual(['uncertified', REVOKED, expect.stringContaining('revoked') as string]);
    expect(guard.recognises(REVOKED)).toBe(false);
  });

  test('an Add carrying a key the server made for a certified user id: key_mismatch at the next epoch', async () => {
    const guard = await honestGuard();
    for (const id of leafIds) guard.recordAdd(id, id === '21' ? leafKey('22') : leafKey(id));
    guard.enterEpoch(6n, AUTHENTICATOR, leafIds, false);
    await guard.idle();
    expect(view?.verdicts.find((v) => v.userId === '21')?.problem).toBe('key_mismatch');
    expect(alarms).toContainEqual(['uncertified', '21', expect.stringContaining('key') as string]);
    expect(guard.held).toBe(true);
  });
});

describe('who is recognised, and what the server cannot make a device accept', () => {
  test('only user ids with a good certificate are recognised for proposals; an Add of anyone else is named', async () => {
    const guard = await honestGuard();
    expect(guard.recognises('11')).toBe(true);
    expect(guard.recognises('30')).toBe(false);
    guard.recordAdd('30', leafKey('11'));
    expect(alarms).toStrictEqual([['uncertified', '30', expect.stringContaining('without a valid certificate') as string]]);
  });

  test('an Add of a certified user id with a key its certificate is not for is named and not recognised, until one with its own key', async () => {
    const guard = await honestGuard();
    guard.recordAdd('21', leafKey('22'));
    expect(guard.recognises('21')).toBe(false);
    expect(alarms).toStrictEqual([['uncertified', '21', expect.stringContaining('another key than its certificate is for') as string]]);
    guard.recordAdd('21', leafKey('21'));
    expect(guard.recognises('21')).toBe(true);
  });

  test('no pin set: alarm, and media held whatever the group', async () => {
    const guard = await guardWith();
    await guard.setPinSet(null);
    guard.enterEpoch(5n, AUTHENTICATOR, [SELF], true);
    await guard.idle();
    expect(guard.held).toBe(true);
    expect(alarms.map(([reason]) => reason)).toStrictEqual(['pins']);
  });

  test('the summit showing other pins than the own delegation signed: alarm, media held', async () => {
    const guard = await guardWith({ ...summitPins(), 'Delegation Z': '1'.repeat(30) });
    await guard.setPinSet(HONEST.pins);
    expect(guard.view().pins).toBe('differ');
    expect(alarms.map(([reason]) => reason)).toStrictEqual(['pins']);
    expect(guard.held).toBe(true);
  });
});

test('members silent beyond the bound after this device entered the epoch: named, media held', async () => {
  const guard = await honestGuard();
  for (const id of others) guard.recordAdd(id, leafKey(id)); // keys known from their Adds: certified at once
  guard.enterEpoch(5n, AUTHENTICATOR, leafIds, false);
  await guard.idle();
  expect(guard.held).toBe(false);
  expect(wakes).toStrictEqual([2001]); // the bound, 2 s after this device entered the epoch
  now += 2001;
  guard.tick();
  await guard.idle();
  expect(guard.held).toBe(true);
  const silent = alarms.filter(([reason]) => reason === 'attestation_silent').map(([, userId]) => userId);
  expect(new Set(silent)).toStrictEqual(new Set(others));
});
