/**
 * A device's DAVE signature key (P-256), as a leaf of the key group carries it: the 65-byte
 * uncompressed point. The device signs its enrollment request and its epoch attestations with
 * it, as it signs identify's proof (ECDSA P-256 SHA-256, `r || s`: WebCrypto's own form).
 */

import type { Bytes } from './encoding';

export const DEVICE_KEY_SIZE = 65;

/** The device's private key at work: message -> `r || s` (64 bytes). */
export type DeviceSigner = (message: Bytes) => Promise<Bytes>;

// P-256 (SEC 2): y^2 = x^3 - 3x + b over the prime field p.
const P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function integer(bytes: Uint8Array): bigint {
  return bytes.reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

/**
 * A DAVE signature key as DAVE puts it in a leaf: an uncompressed point on P-256. Checked here,
 * synchronously, so a claim holding anything else does not parse (WebCrypto would only say so
 * later, asynchronously, when verifying).
 */
export function checkDeviceKey(key: Uint8Array): void {
  if (key.length !== DEVICE_KEY_SIZE || key[0] !== 4) throw new RangeError('a device key is a 65-byte uncompressed P-256 point');
  const x = integer(key.subarray(1, 33));
  const y = integer(key.subarray(33, 65));
  const onCurve = x < P && y < P && (y * y - (x * x * x - 3n * x + B)) % P === 0n;
  if (!onCurve) throw new RangeError('a device key is a point on P-256');
}

/** Whether the device key `key` made `signature` (`r || s`) over `message`. */
export async function verifyDeviceSignature(key: Bytes, message: Bytes, signature: Bytes): Promise<boolean> {
  try {
    const publicKey = await crypto.subtle.importKey('raw', key, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, signature, message);
  } catch {
    return false; // not a point on P-256
  }
}

/** A signer over the device's private key (e2ee/signingKey.ts `privateJwk`, as identify's proof is signed). */
export async function deviceSigner(privateJwk: JsonWebKey): Promise<DeviceSigner> {
  const key = await crypto.subtle.importKey('jwk', privateJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return async (message) => new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, message));
}
