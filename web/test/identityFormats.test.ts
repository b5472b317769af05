/**
 * The browser's port of the identity formats (src/identity/) against the known answers of
 * tests/unit/identity/vectors.json: every document decodes, encodes back byte for byte and
 * verifies; every refusal vector is refused with the problem Python names. Real WebCrypto
 * (Node's: Ed25519 and P-256), no fakes.
 */

import { describe, expect, test } from 'vitest';

import { DeviceCertificate, verifyCertificate } from '../src/identity/certificate';
import { decodeText, hex, type DocumentFormat, type SignedDocument } from '../src/identity/encoding';
import { EnrollmentRequest, acceptCertificate, verifyRequest } from '../src/identity/enrollment';
import { EpochAttestation } from '../src/identity/attestation';
import { Fingerprint } from '../src/identity/fingerprint';
import { PinSet, verifyPins } from '../src/identity/pins';
import { IdentityError } from '../src/identity/problems';
import { RevocationBook, RevocationList } from '../src/identity/revocation';
import { CLAIM, VECTORS, fromHex, type Refusal } from './identityVectors';

const FORMATS: Record<string, DocumentFormat<SignedDocument>> = {
  [DeviceCertificate.KIND]: DeviceCertificate,
  [RevocationList.KIND]: RevocationList,
  [PinSet.KIND]: PinSet,
  [EnrollmentRequest.KIND]: EnrollmentRequest,
  [EpochAttestation.KIND]: EpochAttestation,
};
const OWN = Fingerprint.parse(VECTORS.fingerprint);
const SUMMIT = VECTORS.claim.summit_id;
const CERT = VECTORS.certificate;

describe('known answers', () => {
  test('the delegation keys give the fingerprints Python gives', async () => {
    expect((await Fingerprint.of(fromHex(VECTORS.delegation_public_key))).toString()).toBe(VECTORS.fingerprint);
    expect((await Fingerprint.of(fromHex(VECTORS.other_delegation_public_key))).toString()).toBe(VECTORS.other_fingerprint);
  });

  test('the certificate decodes to the claim, encodes back byte for byte, and verifies', async () => {
    const certificate = DeviceCertificate.fromText(CERT.text);
    expect(certificate.claim.equals(CLAIM)).toBe(true);
    expect([certificate.notBefore, certificate.notAfter]).toEqual([BigInt(CERT.not_before), BigInt(CERT.not_after)]);
    expect(hex(certificate.serial)).toBe(CERT.serial);
    expect(hex(certificate.issuer)).toBe(VECTORS.delegation_public_key);
    expect(certificate.toText()).toBe(CERT.text);
    await verifyCertificate(certificate, SUMMIT, CERT.not_before, new RevocationBook(SUMMIT));
    await acceptCertificate(CLAIM, certificate, OWN, CERT.not_before + 60);
  });

  test('the certificate text wrapped over lines is the same certificate', () => {
    const wrapped = `  ${CERT.text.replace(/(.{60})/g, '$1\n')}\n`;
    expect(DeviceCertificate.fromText(wrapped).toText()).toBe(CERT.text);
  });

  test('the revocation list decodes, encodes back byte for byte, and is taken by a book', async () => {
    const list = RevocationList.fromText(VECTORS.revocations.text);
    expect([list.sequence, list.issuedAt]).toEqual([BigInt(VECTORS.revocations.sequence), BigInt(VECTORS.revocations.issued_at)]);
    expect(list.serials.map(hex)).toEqual(VECTORS.revocations.serials);
    expect(list.toText()).toBe(VECTORS.revocations.text);
    const book = new RevocationBook(SUMMIT);
    expect(await book.accept(list)).toBe(true);
    expect(await book.accept(list), 'the same list again changes nothing').toBe(false);
    expect(book.sequence(list.issuer)).toBe(2n);
    expect(book.isRevoked(list.issuer, fromHex(CERT.serial))).toBe(true);
  });

  test('the pin set decodes, encodes back byte for byte, and is trusted by a device of its delegation', async () => {
    const pinSet = PinSet.fromText(VECTORS.pins.text);
    expect(pinSet.toText()).toBe(VECTORS.pins.text);
    const pins = await verifyPins(pinSet, OWN, SUMMIT);
    expect(pins.ownDelegation).toBe('Delegation A');
    expect(pins.delegationOf(Fingerprint.parse(VECTORS.other_fingerprint))).toBe('Delegation B');
    expect(pins.sequence).toBe(BigInt(VECTORS.pins.sequence));
    expect(await verifyPins(pinSet, OWN, SUMMIT, pins), 'the same pins again').toEqual(pins);
  });

  test('the enrollment request has the body and code Python gives, and its signature verifies', async () => {
    const request = EnrollmentRequest.fromText(VECTORS.enrollment_request.text);
    expect(request.claim.equals(CLAIM)).toBe(true);
    expect(hex(request.body())).toBe(VECTORS.enrollment_request.body);
    expect(await request.code()).toBe(VECTORS.enrollment_request.code);
    expect(request.toText()).toBe(VECTORS.enrollment_request.text);
    await verifyRequest(request);
  });

  test('the attestation has the body Python gives, and its signature verifies under the device key', async () => {
    const a = VECTORS.attestation;
    const attestation = EpochAttestation.fromBytes(fromHex(a.hex));
    expect(hex(attestation.body())).toBe(a.body);
    expect(hex(attestation.toBytes())).toBe(a.hex);
    expect([attestation.epoch, hex(attestation.authenticator), attestation.userId]).toEqual([BigInt(a.epoch), a.authenticator, CLAIM.userId]);
    expect(await attestation.verify(fromHex(VECTORS.device_key))).toBe(true);
    expect(await attestation.verify(fromHex(VECTORS.epoch_checks[0]?.leaves[1]?.[1] ?? '')), "another member's key").toBe(false);
  });
});

/** The check a refusal vector names, as the browser runs it (the same dispatch as test_vectors.py's `refuse`). */
async function refuse(v: Refusal): Promise<void> {
  const now = v.now ?? 0;
  const summitId = v.summit_id ?? SUMMIT;
  switch (v.check) {
    case 'parse': {
      const format = FORMATS[v.kind ?? ''];
      if (format === undefined) throw new Error(`no format ${String(v.kind)}`);
      decodeText(format, v.text);
      return;
    }
    case 'verify_certificate': {
      const book = new RevocationBook(SUMMIT);
      for (const held of v.revocations ?? []) await book.accept(RevocationList.fromText(held));
      await verifyCertificate(DeviceCertificate.fromText(v.text), summitId, now, book);
      return;
    }
    case 'accept_certificate':
      await acceptCertificate(CLAIM, DeviceCertificate.fromText(v.text), Fingerprint.parse(v.own ?? ''), now);
      return;
    case 'verify_pins': {
      const own = Fingerprint.parse(v.own ?? '');
      const held = typeof v.held === 'string' ? await verifyPins(PinSet.fromText(v.held), own, summitId) : null;
      await verifyPins(PinSet.fromText(v.text), own, summitId, held);
      return;
    }
    case 'revocation_book': {
      const book = new RevocationBook(summitId);
      for (const held of Array.isArray(v.held) ? v.held : []) await book.accept(RevocationList.fromText(held));
      await book.accept(RevocationList.fromText(v.text));
      return;
    }
    case 'verify_request':
      await verifyRequest(EnrollmentRequest.fromText(v.text));
      return;
    case 'verify_attestation':
      if (!(await EpochAttestation.fromText(v.text).verify(fromHex(v.key ?? '')))) {
        throw new IdentityError('bad_signature', 'the attestation is not signed by the key');
      }
      return;
  }
}

describe('refusals', () => {
  test('there is a refusal vector for each check', () => {
    expect(new Set(VECTORS.refused.map((v) => v.check)).size).toBe(7);
  });

  test.each(VECTORS.refused.map((v) => [v.name, v] as const))('%s: refused with the problem Python names', async (_name, vector) => {
    const refused = await refuse(vector).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(IdentityError);
    expect((refused as IdentityError).problem).toBe(vector.problem);
  });
});

test('any one bit changed anywhere in a certificate is refused: malformed, or a signature that does not verify', async () => {
  const bytes = DeviceCertificate.fromText(CERT.text).toBytes();
  const problems = new Set<string>();
  for (let at = 0; at < bytes.length; at++) {
    const changed = bytes.slice();
    changed[at] = (changed[at] ?? 0) ^ 0x01;
    const refused = await Promise.resolve()
      .then(() => verifyCertificate(DeviceCertificate.fromBytes(changed), SUMMIT, CERT.not_before, new RevocationBook(SUMMIT)))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(refused, `bit 0 of byte ${at}`).toBeInstanceOf(IdentityError);
    problems.add((refused as IdentityError).problem);
  }
  expect([...problems].sort()).toEqual(['bad_signature', 'malformed']);
});
