/**
 * Enrollment, the device's side (parley.identity.enrollment): this browser asks its delegation's
 * officer for a certificate, and checks what comes back.
 *
 * 1. The device makes a request: its claim, signed with the very key it claims (ECDSA P-256
 *    SHA-256 over `"parley enrollment request v1" || 0x00 || body`), so no one can ask for a
 *    certificate for a key they do not hold. It shows the request's code (20 digits) and text.
 * 2. The officer compares the code with the one on the device's screen, and approves.
 * 3. The certificate comes back through the server; the device takes it only if it certifies
 *    exactly its own claim, is signed by its own delegation's key (the fingerprint from its link
 *    or officer) and is valid now: `acceptCertificate`.
 *
 * Body of a request: `u8 version = 1 || claim`.
 */

import { DeviceCertificate, issue, verifyCertificate } from './certificate';
import type { DelegationKey } from './delegationKey';
import { DeviceClaim } from './claim';
import { verifyDeviceSignature, type DeviceSigner } from './deviceKey';
import { concat, decode, decodeText, sameBytes, SignedDocument, Writer, type Bytes, type Reader } from './encoding';
import { digitsOf, sha256, type Fingerprint } from './fingerprint';
import { formatCode } from '../codes';
import { IdentityError } from './problems';
import { RevocationBook } from './revocation';

const LABEL = new TextEncoder().encode('parley enrollment request v1\0');
export const CODE_DIGITS = 20; // 66 bits: a second preimage is out of reach while an officer waits
export const DEFAULT_VALIDITY = 72 * 3600; // s: `parley delegation approve`'s default
export const MAX_VALIDITY = 30 * 24 * 3600; // s: a certificate serves one summit, not a career

export class EnrollmentRequest extends SignedDocument {
  static readonly KIND = 'parley-enrollment';

  constructor(
    readonly claim: DeviceClaim,
    signature: Bytes,
  ) {
    super(signature);
  }

  get kind(): string {
    return EnrollmentRequest.KIND;
  }

  body(): Bytes {
    return this.claim.write(new Writer().u8(SignedDocument.VERSION)).bytes();
  }

  static readFields(reader: Reader, signature: Bytes): EnrollmentRequest {
    return new EnrollmentRequest(DeviceClaim.read(reader), signature);
  }

  static fromBytes(data: Uint8Array): EnrollmentRequest {
    return decode(EnrollmentRequest, data);
  }

  static fromText(text: string): EnrollmentRequest {
    return decodeText(EnrollmentRequest, text);
  }

  /** What the device shows and the officer compares: 20 digits of the request's hash, in groups of five. */
  async code(): Promise<string> {
    return formatCode(digitsOf(await sha256(LABEL, this.body()), CODE_DIGITS));
  }
}

/** This device's request, signed by the key it claims. */
export async function makeRequest(claim: DeviceClaim, sign: DeviceSigner): Promise<EnrollmentRequest> {
  const unsigned = new EnrollmentRequest(claim, new Uint8Array(64));
  return new EnrollmentRequest(claim, await sign(concat(LABEL, unsigned.body())));
}

/** Whether the request is signed by the key it asks to certify: IdentityError if not. */
export async function verifyRequest(request: EnrollmentRequest): Promise<void> {
  if (!(await verifyDeviceSignature(request.claim.deviceKey, concat(LABEL, request.body()), request.signature))) {
    throw new IdentityError('bad_signature', "the request is not signed by the key it names: altered, or not that device's");
  }
}

/**
 * The officer's approval: a certificate for the request's claim, valid from `now` for `validFor`
 * seconds. Refused if the request is not the device's own, or names another delegation than the
 * one the officer signs for.
 */
export async function approve(key: DelegationKey, request: EnrollmentRequest, delegation: string, now: number, validFor: number = DEFAULT_VALIDITY): Promise<DeviceCertificate> {
  await verifyRequest(request);
  if (request.claim.delegation !== delegation) {
    throw new IdentityError('foreign_delegation', `the request is for '${request.claim.delegation}'; this key signs for '${delegation}'`);
  }
  if (!(Number.isInteger(validFor) && validFor > 0 && validFor <= MAX_VALIDITY)) throw new RangeError(`a certificate is valid for at most ${MAX_VALIDITY / 86400} days`);
  return issue(key, request.claim, BigInt(now), BigInt(now + validFor));
}

/**
 * The device's check of the certificate it is handed: exactly its own claim, signed by its own
 * delegation's key, for this summit, valid now. IdentityError naming what fails.
 */
export async function acceptCertificate(claim: DeviceClaim, certificate: DeviceCertificate, own: Fingerprint, now: number): Promise<void> {
  const issuer = await certificate.issuerFingerprint();
  if (!issuer.equals(own)) {
    throw new IdentityError(
      'not_own_delegation',
      `the certificate is signed by the key ${issuer.toString()}, not by this device's delegation (${own.toString()})`,
    );
  }
  await verifyCertificate(certificate, claim.summitId, now, new RevocationBook(claim.summitId));
  const certified = certificate.claim;
  if (!sameBytes(certified.deviceKey, claim.deviceKey)) {
    throw new IdentityError('key_mismatch', "the certificate is for another key than this device's");
  }
  if (!certified.equals(claim)) {
    throw new IdentityError('roster_mismatch', `the certificate says ${certified.describe()}, not ${claim.describe()}`);
  }
}
