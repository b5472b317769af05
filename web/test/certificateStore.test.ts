/**
 * The device's certificate kept beside its signature key (src/identity/certificateStore.ts), on
 * an in-memory IndexedDB (fake-indexeddb) standing in for the browser profile's: what a reload
 * or a new visit reads back is what was kept, per summit, for this profile's key only.
 */

import { IDBFactory } from 'fake-indexeddb';
import { expect, test } from 'vitest';

import { profileKey } from '../src/e2ee/signingKey';
import { DeviceCertificate } from '../src/identity/certificate';
import { keepCertificate, keptCertificate } from '../src/identity/certificateStore';
import { CLAIM, VECTORS, fromHex } from './identityVectors';

const CERTIFICATE = DeviceCertificate.fromText(VECTORS.certificate.text);
const SUMMIT = CLAIM.summitId;

test('a certificate kept is there after a reload, beside the profile key', async () => {
  const profile = new IDBFactory();
  const key = await profileKey(() => ({ private: fromHex(VECTORS.device_private_scalar), public: CLAIM.deviceKey }), profile);
  await keepCertificate(CERTIFICATE, profile);
  // A reload, a new visit: the page opens the database afresh.
  const again = await profileKey(() => {
    throw new Error('a kept key is not made again');
  }, profile);
  expect(again.public).toEqual(key.public);
  const kept = await keptCertificate(SUMMIT, again.public, profile);
  expect(kept?.toText()).toBe(VECTORS.certificate.text);
});

test('nothing is kept for a summit until a certificate is, nor for another summit', async () => {
  const profile = new IDBFactory();
  expect(await keptCertificate(SUMMIT, CLAIM.deviceKey, profile)).toBeNull();
  await keepCertificate(CERTIFICATE, profile);
  expect(await keptCertificate('another-summit', CLAIM.deviceKey, profile)).toBeNull();
});

test('a certificate kept for another key (a new profile key) is as none', async () => {
  const profile = new IDBFactory();
  await keepCertificate(CERTIFICATE, profile);
  const otherKey = fromHex(VECTORS.epoch_checks[0]?.leaves[1]?.[1] ?? '');
  expect(await keptCertificate(SUMMIT, otherKey, profile)).toBeNull();
});

test('a new certificate for the summit replaces the one kept', async () => {
  const profile = new IDBFactory();
  await keepCertificate(CERTIFICATE, profile);
  const renewed = VECTORS.refused.find((v) => v.name === 'a certificate for other people');
  if (renewed === undefined) throw new Error('no second certificate for the summit in the vectors');
  const next = DeviceCertificate.fromText(renewed.text);
  await keepCertificate(next, profile);
  expect((await keptCertificate(SUMMIT, next.claim.deviceKey, profile))?.toText()).toBe(renewed.text);
});
