/**
 * The record's confidentiality (docs/record.md "Confidentiality"): one record key `R` per summit,
 * entry texts under AES-256-GCM with a key derived from it, and grants that carry `R` to a device
 * (P-256 ECDH to its certified DAVE key) or to a delegation (X25519 to the Montgomery form of its
 * Ed25519 key, so the officer's key file opens the record with no device).
 *
 *     key_id    = SHA-256("parley record key id v1" || 0x00 || R)[:16]
 *     text key  = HKDF-SHA256(ikm=R, salt="", info="parley record text v1", 32)
 *     ciphertext = nonce(12) || AES-256-GCM(text key, nonce, statement, aad=commitment)
 *
 * A grant (`parley-record-grant`), signed (ECDSA P-256) by the granting device over
 * `"parley record grant v1" || 0x00 || body`:
 *
 *     u8     version = 1
 *     text   summit_id
 *     opaque key_id          16 bytes
 *     u8     recipient_kind  1 a device, 2 a delegation
 *     opaque recipient       a device: its 65-byte P-256 key; a delegation: its 32-byte Ed25519 key
 *     opaque ephemeral       a device: a 65-byte P-256 point; a delegation: a 32-byte X25519 key
 *     opaque sealed          nonce(12) || AES-256-GCM(wrap key, nonce, R, aad=key_id): 60 bytes
 *     opaque granter         16 bytes: the serial of the granting device's certificate
 *
 *     wrap key = HKDF-SHA256(ikm=ECDH(ephemeral, recipient), salt="",
 *                            info="parley record grant v1" || 0x00 || ephemeral || recipient || key_id, 32)
 */

import { checkDeviceKey, DEVICE_KEY_SIZE, verifyDeviceSignature, type DeviceSigner } from '../identity/deviceKey';
import { concat, decode, decodeText, SignedDocument, Writer, type Bytes, type Reader } from '../identity/encoding';
import { PUBLIC_KEY_SIZE, sha256 } from '../identity/fingerprint';
import { SERIAL_SIZE } from '../identity/revocation';
import { KEY_ID_SIZE } from './entry';
import { RecordError } from './problems';
import { Statement } from './statement';

export const RECORD_KEY_SIZE = 32;
export const NONCE_SIZE = 12;
const TAG_SIZE = 16;
export const SEALED_SIZE = NONCE_SIZE + RECORD_KEY_SIZE + TAG_SIZE;
/** docs/record.md: a text kind carries at most 8 KiB of ciphertext (a 4000-byte text and its owner and due fit well within). */
export const MAX_CIPHERTEXT = 8 * 1024;
const KEY_ID_LABEL = new TextEncoder().encode('parley record key id v1\0');
const TEXT_INFO = new TextEncoder().encode('parley record text v1');
/** What a grant's signature covers before its body (and the wrap key's info begins with). */
export const GRANT_LABEL = new TextEncoder().encode('parley record grant v1\0');
const X25519_KEY_SIZE = 32;
// PKCS #8 for an X25519 private key (RFC 8410): this prefix, then the 32-byte scalar.
const X25519_PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);

export const RECIPIENT_KINDS = { device: 1, delegation: 2 } as const;
export type RecipientKind = keyof typeof RECIPIENT_KINDS;

/** A fresh record key: the first device that writes makes it. */
export function newRecordKey(): Bytes {
  return crypto.getRandomValues(new Uint8Array(RECORD_KEY_SIZE));
}

export async function keyIdOf(recordKey: Bytes): Promise<Bytes> {
  return (await sha256(KEY_ID_LABEL, recordKey)).slice(0, KEY_ID_SIZE);
}

async function hkdf(ikm: Bytes, info: Bytes, usage: KeyUsage): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const bits = new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info }, base, 256));
  try {
    return await crypto.subtle.importKey('raw', bits, 'AES-GCM', false, [usage]);
  } finally {
    bits.fill(0);
  }
}

function freshNonce(): Bytes {
  return crypto.getRandomValues(new Uint8Array(NONCE_SIZE));
}

async function seal(key: CryptoKey, plaintext: Bytes, aad: Bytes, nonce: Bytes): Promise<Bytes> {
  return concat(nonce, new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad }, key, plaintext)));
}

async function open(key: CryptoKey, sealed: Bytes, aad: Bytes): Promise<Bytes | null> {
  if (sealed.length <= NONCE_SIZE + TAG_SIZE || sealed.length > MAX_CIPHERTEXT) return null;
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.slice(0, NONCE_SIZE), additionalData: aad }, key, sealed.slice(NONCE_SIZE)));
  } catch {
    return null;
  }
}

/** A statement's ciphertext under the record key, bound to its commitment (`nonce` given: a known-answer test's). */
export async function encryptStatement(recordKey: Bytes, statement: Statement, nonce: Bytes = freshNonce()): Promise<Bytes> {
  return seal(await hkdf(recordKey, TEXT_INFO, 'encrypt'), statement.toBytes(), await statement.commitment(), nonce);
}

/** The statement an entry commits to, from its ciphertext: RecordError('bad_text') if it does not open to exactly that commitment. */
export async function decryptStatement(recordKey: Bytes, ciphertext: Bytes, commitment: Bytes): Promise<Statement> {
  const plaintext = await open(await hkdf(recordKey, TEXT_INFO, 'decrypt'), ciphertext, commitment);
  if (plaintext === null) throw new RecordError('bad_text', 'the ciphertext does not open under the record key with this commitment');
  let statement: Statement;
  try {
    statement = Statement.fromBytes(plaintext);
  } catch (e) {
    throw new RecordError('bad_text', `the text is not a statement: ${e instanceof Error ? e.message : String(e)}`);
  }
  const actual = await statement.commitment();
  if (!actual.every((b, i) => b === commitment[i])) throw new RecordError('bad_text', 'the text is not the statement the entry commits to');
  return statement;
}

export class RecordGrant extends SignedDocument {
  static readonly KIND = 'parley-record-grant';

  constructor(
    readonly summitId: string,
    readonly keyId: Bytes,
    readonly recipientKind: RecipientKind,
    readonly recipient: Bytes,
    readonly ephemeral: Bytes,
    readonly sealed: Bytes,
    readonly granter: Bytes,
    signature: Bytes,
  ) {
    super(signature);
    if (keyId.length !== KEY_ID_SIZE) throw new RangeError(`a key id is ${KEY_ID_SIZE} bytes`);
    if (recipientKind === 'device') {
      checkDeviceKey(recipient);
      if (ephemeral.length !== DEVICE_KEY_SIZE) throw new RangeError("a device grant's ephemeral key is a 65-byte P-256 point");
    } else if (recipient.length !== PUBLIC_KEY_SIZE || ephemeral.length !== X25519_KEY_SIZE) {
      throw new RangeError("a delegation grant names a 32-byte Ed25519 key and a 32-byte X25519 ephemeral");
    }
    if (sealed.length !== SEALED_SIZE) throw new RangeError(`a sealed record key is ${SEALED_SIZE} bytes`);
    if (granter.length !== SERIAL_SIZE) throw new RangeError(`a serial is ${SERIAL_SIZE} bytes`);
  }

  get kind(): string {
    return RecordGrant.KIND;
  }

  body(): Bytes {
    return new Writer()
      .u8(SignedDocument.VERSION)
      .text(this.summitId)
      .opaque(this.keyId)
      .u8(RECIPIENT_KINDS[this.recipientKind])
      .opaque(this.recipient)
      .opaque(this.ephemeral)
      .opaque(this.sealed)
      .opaque(this.granter)
      .bytes();
  }

  static readFields(reader: Reader, signature: Bytes): RecordGrant {
    const summitId = reader.text('summit');
    const keyId = reader.opaque('key id');
    const number = reader.u8('recipient kind');
    if (number !== 1 && number !== 2) throw new RangeError(`no recipient kind ${number}`);
    const recipient = reader.opaque('recipient');
    const ephemeral = reader.opaque('ephemeral');
    const sealed = reader.opaque('sealed');
    return new RecordGrant(summitId, keyId, number === 1 ? 'device' : 'delegation', recipient, ephemeral, sealed, reader.opaque('granter'), signature);
  }

  static fromBytes(data: Uint8Array): RecordGrant {
    return decode(RecordGrant, data);
  }

  static fromText(text: string): RecordGrant {
    return decodeText(RecordGrant, text);
  }

  /** Whether the granting device's DAVE key made this grant (its certificate is the caller's to check). */
  verify(granterKey: Bytes): Promise<boolean> {
    return verifyDeviceSignature(granterKey, concat(GRANT_LABEL, this.body()), this.signature);
  }
}

function wrapInfo(ephemeral: Bytes, recipient: Bytes, keyId: Bytes): Bytes {
  return concat(GRANT_LABEL, ephemeral, recipient, keyId);
}

// Curve25519's field, for the birational map from Edwards y to Montgomery u, and Edwards25519's d.
const FIELD = 2n ** 255n - 19n;
const D = mod(-121665n * modPow(121666n, FIELD - 2n));

function mod(n: bigint): bigint {
  return ((n % FIELD) + FIELD) % FIELD;
}

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % FIELD;
    b = (b * b) % FIELD;
  }
  return result;
}

function littleEndian(bytes: Uint8Array): bigint {
  return bytes.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

/**
 * The X25519 public key of a delegation's Ed25519 key: `u = (1 + y) / (1 - y) mod 2^255 - 19`
 * (as libsodium's `crypto_sign_ed25519_pk_to_curve25519`), where y is the Edwards point's
 * coordinate with the sign bit of x cleared.
 */
export function ed25519ToX25519(publicKey: Uint8Array): Bytes {
  if (publicKey.length !== PUBLIC_KEY_SIZE) throw new RangeError('a delegation key is a 32-byte Ed25519 public key');
  const y = littleEndian(publicKey) & ((1n << 255n) - 1n);
  if (y >= FIELD || y === 1n) throw new RangeError('not an Ed25519 public key');
  // x^2 = (y^2 - 1) / (d y^2 + 1) must have a root: a y off the curve is no key.
  const x2 = mod((y * y - 1n) * modPow(D * y * y + 1n, FIELD - 2n));
  if (x2 !== 0n && modPow(x2, (FIELD - 1n) / 2n) !== 1n) throw new RangeError('not an Ed25519 public key');
  const u = mod((1n + y) * modPow(1n - y, FIELD - 2n));
  return Uint8Array.from({ length: 32 }, (_, i) => Number((u >> BigInt(8 * i)) & 0xffn));
}

async function wrap(recordKey: Bytes, shared: Bytes, ephemeral: Bytes, recipient: Bytes, keyId: Bytes, nonce: Bytes): Promise<Bytes> {
  return seal(await hkdf(shared, wrapInfo(ephemeral, recipient, keyId), 'encrypt'), recordKey, keyId, nonce);
}

async function unwrap(grant: RecordGrant, shared: Bytes): Promise<Bytes> {
  const key = await open(await hkdf(shared, wrapInfo(grant.ephemeral, grant.recipient, grant.keyId), 'decrypt'), grant.sealed, grant.keyId);
  if (key === null) throw new RecordError('bad_text', 'the grant does not open with this key: not ours, or altered');
  const keyId = await keyIdOf(key);
  if (!keyId.every((b, i) => b === grant.keyId[i])) throw new RecordError('wrong_key', 'the grant holds another record key than the one it names');
  return key;
}

/** summit, key id, recipient kind, recipient, ephemeral, sealed, granter: a grant's fields before its signature. */
type GrantFields = readonly [string, Bytes, RecipientKind, Bytes, Bytes, Bytes, Bytes];

async function signGrant(fields: GrantFields, sign: DeviceSigner): Promise<RecordGrant> {
  const [summitId, keyId, kind, recipient, ephemeral, sealed, granter] = fields;
  const unsigned = new RecordGrant(summitId, keyId, kind, recipient, ephemeral, sealed, granter, new Uint8Array(64));
  return new RecordGrant(summitId, keyId, kind, recipient, ephemeral, sealed, granter, await sign(concat(GRANT_LABEL, unsigned.body())));
}

/** A known-answer test's fixed ephemeral key and nonce; a grant otherwise makes fresh ones. */
export interface GrantRandomness {
  readonly ephemeral?: CryptoKeyPair;
  readonly nonce?: Bytes;
}

/** `R` for a certified device (its 65-byte DAVE key), signed by this device (its serial `granter`). */
export async function grantToDevice(recordKey: Bytes, summitId: string, recipient: Bytes, granter: Bytes, sign: DeviceSigner, fixed: GrantRandomness = {}): Promise<RecordGrant> {
  const pair = fixed.ephemeral ?? (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']));
  const ephemeral = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const peer = await crypto.subtle.importKey('raw', recipient, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, pair.privateKey, 256));
  const keyId = await keyIdOf(recordKey);
  return signGrant([summitId, keyId, 'device', recipient, ephemeral, await wrap(recordKey, shared, ephemeral, recipient, keyId, fixed.nonce ?? freshNonce()), granter], sign);
}

/** `R` for a pinned delegation (its 32-byte Ed25519 key): the officer's key file opens it after the summit. */
export async function grantToDelegation(recordKey: Bytes, summitId: string, recipient: Bytes, granter: Bytes, sign: DeviceSigner, fixed: GrantRandomness = {}): Promise<RecordGrant> {
  const pair = fixed.ephemeral ?? (await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits']));
  const ephemeral = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const peer = await crypto.subtle.importKey('raw', ed25519ToX25519(recipient), { name: 'X25519' }, false, []);
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: peer }, pair.privateKey, 256));
  const keyId = await keyIdOf(recordKey);
  return signGrant([summitId, keyId, 'delegation', recipient, ephemeral, await wrap(recordKey, shared, ephemeral, recipient, keyId, fixed.nonce ?? freshNonce()), granter], sign);
}

/**
 * `R` from a grant to this device, with its DAVE private key (e2ee/signingKey.ts `privateJwk`:
 * the same scalar does ECDH). Whether the granter is certified is the caller's check, before.
 */
export async function openDeviceGrant(grant: RecordGrant, privateJwk: JsonWebKey): Promise<Bytes> {
  if (grant.recipientKind !== 'device') throw new RangeError('this grant is for a delegation, not a device');
  const own = await crypto.subtle.importKey('jwk', privateJwk, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
  const peer = await crypto.subtle.importKey('raw', grant.ephemeral, { name: 'ECDH', namedCurve: 'P-256' }, false, []).catch(() => {
    throw new RecordError('bad_text', "the grant's ephemeral key is not a point on P-256");
  });
  return unwrap(grant, new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, own, 256)));
}

/**
 * The X25519 private scalar of a delegation's Ed25519 seed: the first half of SHA-512(seed),
 * clamped (libsodium's `crypto_sign_ed25519_sk_to_curve25519`).
 */
export async function x25519ScalarOf(seed: Bytes): Promise<Bytes> {
  const scalar = new Uint8Array(await crypto.subtle.digest('SHA-512', seed)).slice(0, 32);
  scalar[0] = (scalar[0] ?? 0) & 248;
  scalar[31] = ((scalar[31] ?? 0) & 127) | 64;
  return scalar;
}

/** `R` from a grant to a delegation, with the 32-byte seed of its Ed25519 key (the officer's key file). */
export async function openDelegationGrant(grant: RecordGrant, seed: Bytes): Promise<Bytes> {
  if (grant.recipientKind !== 'delegation') throw new RangeError('this grant is for a device, not a delegation');
  const scalar = await x25519ScalarOf(seed);
  const pkcs8 = concat(X25519_PKCS8_PREFIX, scalar);
  scalar.fill(0);
  let own: CryptoKey;
  try {
    own = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']);
  } finally {
    pkcs8.fill(0);
  }
  const peer = await crypto.subtle.importKey('raw', grant.ephemeral, { name: 'X25519' }, false, []);
  let shared: Bytes;
  try {
    shared = new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: peer }, own, 256));
  } catch {
    throw new RecordError('bad_text', "the grant's ephemeral key gives no shared secret"); // a low-order point
  }
  return unwrap(grant, shared);
}
