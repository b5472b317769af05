/**
 * A device certificate: a delegation's signed word that a DAVE signature key is one of its
 * devices (parley.identity.certificate). The server relays it and can neither make nor alter one.
 * Signed with Ed25519 by the issuer over `"parley device certificate v1" || 0x00 || body`:
 *
 *     u8     version = 1
 *     ...    claim           DeviceClaim
 *     u64    not_before      Unix seconds: valid from
 *     u64    not_after       Unix seconds: valid until (excluded)
 *     opaque serial          16 random bytes: what a revocation list names
 *     opaque issuer          the delegation's Ed25519 public key (32 bytes)
 */

import { DeviceClaim } from './claim';
import { verifySignature, type DelegationKey } from './delegationKey';
import { concat, decode, decodeText, isU64, SignedDocument, Writer, type Bytes, type Reader } from './encoding';
import { Fingerprint, PUBLIC_KEY_SIZE } from './fingerprint';
import { IdentityError } from './problems';
import { SERIAL_SIZE, type RevocationBook } from './revocation';

const LABEL = new TextEncoder().encode('parley device certificate v1\0');

export class DeviceCertificate extends SignedDocument {
  static readonly KIND = 'parley-certificate';

  constructor(
    readonly claim: DeviceClaim,
    readonly notBefore: bigint,
    readonly notAfter: bigint,
    readonly serial: Bytes,
    readonly issuer: Bytes,
    signature: Bytes,
  ) {
    super(signature);
    if (!(0n <= notBefore && notBefore < notAfter && isU64(notAfter))) throw new RangeError("a certificate's validity ends after it begins");
    if (serial.length !== SERIAL_SIZE) throw new RangeError(`a serial is ${SERIAL_SIZE} bytes`);
    if (issuer.length !== PUBLIC_KEY_SIZE) throw new RangeError('the issuer is a 32-byte Ed25519 public key');
  }

  get kind(): string {
    return DeviceCertificate.KIND;
  }

  body(): Bytes {
    const writer = this.claim.write(new Writer().u8(SignedDocument.VERSION));
    return writer.u64(this.notBefore).u64(this.notAfter).opaque(this.serial).opaque(this.issuer).bytes();
  }

  static readFields(reader: Reader, signature: Bytes): DeviceCertificate {
    const claim = DeviceClaim.read(reader);
    const notBefore = reader.u64('not before');
    const notAfter = reader.u64('not after');
    return new DeviceCertificate(claim, notBefore, notAfter, reader.opaque('serial'), reader.opaque('issuer'), signature);
  }

  static fromBytes(data: Uint8Array): DeviceCertificate {
    return decode(DeviceCertificate, data);
  }

  static fromText(text: string): DeviceCertificate {
    return decodeText(DeviceCertificate, text);
  }

  issuerFingerprint(): Promise<Fingerprint> {
    return Fingerprint.of(this.issuer);
  }
}

/**
 * The officer's signature over a device's claim, valid from `notBefore` to `notAfter` (Unix
 * seconds), under a fresh random serial (`serial` given: the same bytes as Python's for a test).
 */
export async function issue(key: DelegationKey, claim: DeviceClaim, notBefore: bigint, notAfter: bigint, serial: Bytes = crypto.getRandomValues(new Uint8Array(SERIAL_SIZE))): Promise<DeviceCertificate> {
  const unsigned = new DeviceCertificate(claim, notBefore, notAfter, serial, key.publicKey, new Uint8Array(64));
  return new DeviceCertificate(claim, notBefore, notAfter, serial, key.publicKey, await key.sign(concat(LABEL, unsigned.body())));
}

/**
 * Whether a certificate is its issuer's, for this summit, valid at `now` (Unix seconds) and not
 * revoked by its issuer's latest list: IdentityError naming the first thing that fails. Which
 * delegation the issuer may speak for is the pins' matter (epochCheck).
 */
export async function verifyCertificate(certificate: DeviceCertificate, summitId: string, now: number, revocations: RevocationBook): Promise<void> {
  if (!(await verifySignature(certificate.issuer, concat(LABEL, certificate.body()), certificate.signature))) {
    throw new IdentityError('bad_signature', "the certificate's signature does not verify: forged or altered");
  }
  if (certificate.claim.summitId !== summitId) {
    throw new IdentityError('wrong_summit', `the certificate is for summit ${certificate.claim.summitId}, not this one`);
  }
  if (now < Number(certificate.notBefore)) throw new IdentityError('not_yet_valid', 'the certificate is not valid yet');
  if (now >= Number(certificate.notAfter)) throw new IdentityError('expired', 'the certificate has expired');
  if (revocations.isRevoked(certificate.issuer, certificate.serial)) {
    throw new IdentityError('revoked', 'the certificate was revoked by its delegation');
  }
}
