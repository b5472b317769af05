/**
 * A browser device's enrollment (src/identity/enrollment.ts): it signs its own claim with its
 * DAVE signature key through WebCrypto, as it signs identify's proof, and the request carries
 * the body and code Python computes for the same claim (tests/unit/identity/vectors.json).
 */

import { expect, test } from 'vitest';

import { EnrollmentRequest, makeRequest, verifyRequest } from '../src/identity/enrollment';
import { attest, EpochAttestation } from '../src/identity/attestation';
import { hex } from '../src/identity/encoding';
import { IdentityError } from '../src/identity/problems';
import { CLAIM, VECTORS, fromHex, vectorDeviceSigner } from './identityVectors';

test("the device's request is its claim signed by its own key: Python's body and code, and it verifies", async () => {
  const request = await makeRequest(CLAIM, await vectorDeviceSigner());
  expect(hex(request.body())).toBe(VECTORS.enrollment_request.body);
  expect(await request.code()).toBe(VECTORS.enrollment_request.code);
  await verifyRequest(request);
  const again = EnrollmentRequest.fromText(request.toText());
  await verifyRequest(again);
  expect(again.toText()).toBe(request.toText());
});

test('a request signed by another key than the one it claims is refused', async () => {
  const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const request = await makeRequest(CLAIM, async (message) => new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, other.privateKey, message)));
  await expect(verifyRequest(request)).rejects.toThrow(IdentityError);
  await expect(verifyRequest(request)).rejects.toMatchObject({ problem: 'bad_signature' });
});

test("the device's attestation has Python's body and verifies under its key", async () => {
  const a = VECTORS.attestation;
  const attestation = await attest(CLAIM.summitId, BigInt(a.epoch), fromHex(a.authenticator), CLAIM.userId, await vectorDeviceSigner());
  expect(hex(attestation.body())).toBe(a.body);
  expect(await EpochAttestation.fromText(attestation.toText()).verify(CLAIM.deviceKey)).toBe(true);
});
