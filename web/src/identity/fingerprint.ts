/**
 * A delegation key's fingerprint: what one security officer reads to another over a phone line.
 * 30 digits in six groups of five: SHA-256(`"parley delegation key v1" || 0x00 || the 32-byte
 * Ed25519 public key`) read as a big-endian integer, modulo 10^30, zero-padded (as
 * parley.identity.fingerprint; docs/identity.md says why 99.7 bits are enough).
 */

import { formatCode } from '../codes';
import { concat, hex, type Bytes } from './encoding';

export const FINGERPRINT_DIGITS = 30;
export const PUBLIC_KEY_SIZE = 32; // an Ed25519 public key
const LABEL = new TextEncoder().encode('parley delegation key v1\0');

export async function sha256(...parts: readonly Uint8Array[]): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(...parts)));
}

/** `count` decimal digits of a hash: the whole hash as a big-endian integer, modulo 10^count. */
export function digitsOf(hash: Uint8Array, count: number): string {
  return (BigInt(`0x${hex(hash)}`) % 10n ** BigInt(count)).toString().padStart(count, '0');
}

export class Fingerprint {
  /** Exactly FINGERPRINT_DIGITS decimal digits, no spaces. */
  constructor(readonly digits: string) {
    if (!new RegExp(`^[0-9]{${FINGERPRINT_DIGITS}}$`).test(digits)) {
      throw new RangeError(`a fingerprint is ${FINGERPRINT_DIGITS} digits`);
    }
  }

  /** The fingerprint of a delegation's Ed25519 public key (its 32 raw bytes). */
  static async of(publicKey: Uint8Array): Promise<Fingerprint> {
    if (publicKey.length !== PUBLIC_KEY_SIZE) throw new RangeError('a delegation key is a 32-byte Ed25519 public key');
    return new Fingerprint(digitsOf(await sha256(LABEL, publicKey), FINGERPRINT_DIGITS));
  }

  /** A fingerprint as a person typed it: the digits, with any spaces or hyphens between. */
  static parse(text: string): Fingerprint {
    const digits = text.replace(/[ \t-]/g, '');
    if (!new RegExp(`^[0-9]{${FINGERPRINT_DIGITS}}$`).test(digits)) {
      throw new RangeError(`a fingerprint is ${FINGERPRINT_DIGITS} digits (spaces and hyphens between them are fine)`);
    }
    return new Fingerprint(digits);
  }

  equals(other: Fingerprint): boolean {
    return this.digits === other.digits;
  }

  /** '12345 67890 ...': how people read it aloud. */
  toString(): string {
    return formatCode(this.digits);
  }
}
