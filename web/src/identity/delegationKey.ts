/**
 * A delegation's Ed25519 public key, as certificates, revocation lists and pin sets name their
 * issuer: what this browser verifies them with (WebCrypto's Ed25519; Chromium and Node 20 have
 * it). The private half stays with the delegation's officer (parley.identity.delegation_key).
 */

import type { Bytes } from './encoding';
import { PUBLIC_KEY_SIZE } from './fingerprint';

/** Whether `signature` is the Ed25519 signature of `message` by the delegation key `publicKey`. */
export async function verifySignature(publicKey: Bytes, message: Bytes, signature: Bytes): Promise<boolean> {
  if (publicKey.length !== PUBLIC_KEY_SIZE) return false;
  try {
    const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
  } catch {
    return false; // not a point on the curve: no signature of it verifies
  }
}
