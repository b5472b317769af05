/**
 * A delegation's Ed25519 key (parley.identity.delegation_key). Every device verifies with its
 * public half: certificates, revocation lists and pin sets name it as their issuer (WebCrypto's
 * Ed25519; Chromium and Node 20 have it). Its private half is the officer's: in the browser it is
 * opened from the officer's key file with their passphrase, for the officer console to sign
 * with, and it stays in this tab's memory only, as a non-extractable CryptoKey: never stored,
 * never sent, never logged.
 *
 * The key file (JSON, as `parley delegation keygen` writes it):
 *
 *     {"kind": "parley delegation key", "version": 1,
 *      "public_key": b64url(32 bytes), "log2_n": 17, "salt": b64url(16 bytes),
 *      "nonce": b64url(12 bytes), "sealed": b64url(AES-256-GCM(32-byte private key))}
 *
 * The AES key is scrypt(passphrase, salt, n = 2^log2_n, r = 8, p = 1) (WebCrypto has no scrypt:
 * @noble/hashes computes it); the associated data binds the public key and the scrypt
 * parameters, so a file whose public key was swapped, or whose cost was lowered, does not open.
 */

import { scryptAsync } from '@noble/hashes/scrypt.js';

import { concat, unbase64url, type Bytes } from './encoding';
import { Fingerprint, PUBLIC_KEY_SIZE } from './fingerprint';

const KIND = 'parley delegation key';
const VERSION = 1;
// parley.identity.delegation_key's bounds: below 2^14 a guess is cheap, above 2^20 (1 GiB) a file could exhaust the tab.
const MIN_LOG2_N = 14;
const MAX_LOG2_N = 20;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const HEADER_LABEL = new TextEncoder().encode('parley delegation key file v1\0');
// PKCS #8 for an Ed25519 private key (RFC 8410): this prefix, then the 32-byte seed.
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
const SEED_SIZE = 32;

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

/** A key file that cannot be opened or trusted; the message says why and what to do. */
export class DelegationKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DelegationKeyError';
  }
}

/** The private half, in memory only while the officer signs (its CryptoKey cannot be exported). */
export class DelegationKey {
  private constructor(
    private readonly privateKey: CryptoKey,
    /** The 32 raw bytes: what certificates name as their issuer and fingerprints hash. */
    readonly publicKey: Bytes,
  ) {}

  /**
   * From the 32-byte private seed and the public key it must have; the seed is wiped once
   * imported. A seed that does not belong to `publicKey` is refused (its signature would not
   * verify under it).
   */
  static async fromSeed(seed: Bytes, publicKey: Bytes): Promise<DelegationKey> {
    if (seed.length !== SEED_SIZE || publicKey.length !== PUBLIC_KEY_SIZE) throw new DelegationKeyError('a delegation key is a 32-byte Ed25519 seed');
    const pkcs8 = concat(PKCS8_PREFIX, seed);
    let privateKey: CryptoKey;
    try {
      privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
    } finally {
      pkcs8.fill(0);
      seed.fill(0);
    }
    const key = new DelegationKey(privateKey, publicKey);
    const probe = concat(HEADER_LABEL, publicKey);
    if (!(await verifySignature(publicKey, probe, await key.sign(probe)))) {
      throw new DelegationKeyError('the key file holds a private key that does not match its public key');
    }
    return key;
  }

  fingerprint(): Promise<Fingerprint> {
    return Fingerprint.of(this.publicKey);
  }

  async sign(message: Bytes): Promise<Bytes> {
    return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, this.privateKey, message));
  }
}

function header(publicKey: Bytes, log2n: number, salt: Bytes): Bytes {
  return concat(HEADER_LABEL, publicKey, Uint8Array.of(log2n, SCRYPT_R, SCRYPT_P), salt);
}

function field(document: Record<string, unknown>, name: string, size: number | null = null): Bytes {
  const value = document[name];
  let data: Bytes | null = null;
  try {
    data = typeof value === 'string' && /^[A-Za-z0-9_-]*$/.test(value) ? unbase64url(value) : null;
  } catch {
    data = null;
  }
  if (data === null || (size !== null && data.length !== size)) throw new DelegationKeyError(`the delegation key file's '${name}' is damaged`);
  return data;
}

function parse(text: string): Record<string, unknown> {
  let document: unknown = null;
  try {
    document = JSON.parse(text);
  } catch {
    document = null;
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new DelegationKeyError('this is not a Parley delegation key file');
  const fields = document as Record<string, unknown>;
  if (fields.kind !== KIND || fields.version !== VERSION) throw new DelegationKeyError('this is not a Parley delegation key file');
  return fields;
}

/** The public key a key file names, without its passphrase (to show its fingerprint). */
export function readPublicKey(text: string): Bytes {
  return field(parse(text), 'public_key', PUBLIC_KEY_SIZE);
}

/**
 * Open a key file's text with its passphrase. A wrong passphrase and an altered file are refused
 * alike (AES-GCM cannot tell them apart). Takes a moment: scrypt at the file's cost (128 MiB and
 * about a second at the default).
 */
export async function openKeyFile(text: string, passphrase: string): Promise<DelegationKey> {
  const document = parse(text);
  const publicKey = field(document, 'public_key', PUBLIC_KEY_SIZE);
  const log2n = document.log2_n;
  if (typeof log2n !== 'number' || !Number.isInteger(log2n) || log2n < MIN_LOG2_N || log2n > MAX_LOG2_N) {
    throw new DelegationKeyError("the delegation key file's 'log2_n' is damaged");
  }
  const salt = field(document, 'salt', 16);
  const nonce = field(document, 'nonce', 12);
  const sealed = field(document, 'sealed');
  const derived = await scryptAsync(new TextEncoder().encode(passphrase), salt, { N: 2 ** log2n, r: SCRYPT_R, p: SCRYPT_P, dkLen: 32 });
  const aesKey = await crypto.subtle.importKey('raw', new Uint8Array(derived), { name: 'AES-GCM' }, false, ['decrypt']);
  derived.fill(0);
  let seed: Bytes;
  try {
    seed = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: header(publicKey, log2n, salt) }, aesKey, sealed));
  } catch {
    throw new DelegationKeyError('wrong passphrase for this key file (or the file was altered)');
  }
  return DelegationKey.fromSeed(seed, publicKey);
}
