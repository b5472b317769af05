/**
 * The officer's side in the browser (src/identity/delegationKey.ts and the signing functions):
 * the key file `parley delegation keygen` wrote opens with its passphrase to the vectors' key,
 * and what the console signs with it is, byte for byte, what Python signs
 * (tests/unit/identity/vectors.json; Ed25519 signatures are deterministic).
 */

import { expect, test } from 'vitest';

import { DeviceCertificate, issue, verifyCertificate } from '../src/identity/certificate';
import { DelegationKeyError, openKeyFile, readPublicKey, type DelegationKey } from '../src/identity/delegationKey';
import { approve, DEFAULT_VALIDITY, EnrollmentRequest, makeRequest } from '../src/identity/enrollment';
import { hex } from '../src/identity/encoding';
import { Fingerprint } from '../src/identity/fingerprint';
import { proveOfficer } from '../src/identity/officer';
import { PinSet, signPins, verifyPins } from '../src/identity/pins';
import { RevocationBook, RevocationList, signRevocations } from '../src/identity/revocation';
import { CLAIM, VECTORS, fromHex, vectorDeviceSigner } from './identityVectors';

const FILE = JSON.stringify(VECTORS.key_file.file);
const PASSPHRASE = VECTORS.key_file.passphrase;

function keyFile(): Promise<DelegationKey> {
  return openKeyFile(FILE, PASSPHRASE);
}

test("the key file opens with its passphrase to the delegation's key", async () => {
  const key = await keyFile();
  expect(hex(key.publicKey)).toBe(VECTORS.delegation_public_key);
  expect((await key.fingerprint()).toString()).toBe(VECTORS.fingerprint);
  expect(hex(readPublicKey(FILE))).toBe(VECTORS.delegation_public_key);
});

test('a wrong passphrase is refused in words, as is a file whose cost was lowered or whose key was swapped', async () => {
  await expect(openKeyFile(FILE, 'correct horse battery stapler')).rejects.toThrow(/wrong passphrase/);
  const cheaper = { ...VECTORS.key_file.file, log2_n: 15 };
  await expect(openKeyFile(JSON.stringify(cheaper), PASSPHRASE)).rejects.toThrow(DelegationKeyError);
  const swapped = { ...VECTORS.key_file.file, public_key: VECTORS.other_delegation_public_key };
  await expect(openKeyFile(JSON.stringify(swapped), PASSPHRASE)).rejects.toThrow(DelegationKeyError);
  await expect(openKeyFile('{"kind": "something else"}', PASSPHRASE)).rejects.toThrow(/not a Parley delegation key file/);
  await expect(openKeyFile('not json', PASSPHRASE)).rejects.toThrow(/not a Parley delegation key file/);
  await expect(openKeyFile(JSON.stringify({ ...VECTORS.key_file.file, log2_n: 30 }), PASSPHRASE)).rejects.toThrow(/log2_n/);
});

test("the certificate it issues is Python's, byte for byte", async () => {
  const v = VECTORS.certificate;
  const made = await issue(await keyFile(), CLAIM, BigInt(v.not_before), BigInt(v.not_after), fromHex(v.serial));
  expect(made.toText()).toBe(v.text);
});

test("the revocation list and the pin set it signs are Python's, byte for byte", async () => {
  const key = await keyFile();
  const r = VECTORS.revocations;
  const serials = r.serials.map(fromHex);
  const given = [...serials.slice(1), ...serials]; // in any order, with repeats: signed ascending and distinct
  const revocations = await signRevocations(key, CLAIM.summitId, BigInt(r.sequence), given, BigInt(r.issued_at));
  expect(revocations.toText()).toBe(r.text);
  const pins = new Map([
    ['Delegation B', Fingerprint.parse(VECTORS.other_fingerprint)],
    ['Delegation A', await key.fingerprint()],
  ]);
  expect((await signPins(key, CLAIM.summitId, BigInt(VECTORS.pins.sequence), pins)).toText()).toBe(VECTORS.pins.text);
});

test('a pin set without its own delegation is not signed', async () => {
  const key = await keyFile();
  const others = new Map([['Delegation B', Fingerprint.parse(VECTORS.other_fingerprint)]]);
  await expect(signPins(key, CLAIM.summitId, 1n, others)).rejects.toThrow(/its own delegation/);
});

test("the officer console's proof is Python's, byte for byte", async () => {
  const proof = await proveOfficer(await keyFile(), CLAIM.summitId, VECTORS.officer.user_id);
  expect(hex(proof)).toBe(VECTORS.officer.proof);
});

test("approving a device's request certifies exactly its claim for 72 hours, and what it signs verifies", async () => {
  const key = await keyFile();
  const now = VECTORS.certificate.not_before;
  const request = EnrollmentRequest.fromText(VECTORS.enrollment_request.text);
  const certificate = DeviceCertificate.fromText((await approve(key, request, 'Delegation A', now)).toText());
  expect(certificate.claim.equals(CLAIM)).toBe(true);
  expect(certificate.notAfter - certificate.notBefore).toBe(BigInt(DEFAULT_VALIDITY));
  await verifyCertificate(certificate, CLAIM.summitId, now + 60, new RevocationBook(CLAIM.summitId));
  const other = await approve(key, request, 'Delegation A', now);
  expect(hex(other.serial)).not.toBe(hex(certificate.serial)); // a fresh serial per certificate
  const own = await key.fingerprint();
  const pins = await verifyPins(PinSet.fromText(VECTORS.pins.text), own, CLAIM.summitId);
  expect(pins.delegationOf(own)).toBe('Delegation A');
  const book = new RevocationBook(CLAIM.summitId);
  await book.accept(RevocationList.fromText((await signRevocations(key, CLAIM.summitId, 1n, [certificate.serial], BigInt(now))).toText()));
  await expect(verifyCertificate(certificate, CLAIM.summitId, now + 60, book)).rejects.toMatchObject({ problem: 'revoked' });
});

test("a request for another delegation, or one the device's key did not sign, is not approved", async () => {
  const key = await keyFile();
  const request = await makeRequest(CLAIM, await vectorDeviceSigner());
  await expect(approve(key, request, 'Delegation B', 0)).rejects.toMatchObject({ problem: 'foreign_delegation' });
  const bytes = request.toBytes();
  bytes.set([(bytes.at(-1) ?? 0) ^ 1], bytes.length - 1);
  await expect(approve(key, EnrollmentRequest.fromBytes(bytes), 'Delegation A', 0)).rejects.toMatchObject({ problem: 'bad_signature' });
  await expect(approve(key, request, 'Delegation A', 0, 31 * 86400)).rejects.toThrow(/at most 30 days/);
});
