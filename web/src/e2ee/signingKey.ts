/**
 * This browser profile's DAVE signature key: made once, kept in IndexedDB, used for every call.
 *
 * A pairwise code is derived from two members' user ids and signature keys. With a new key on
 * every page load, a changed code would be routine and prove nothing; with one key per profile
 * (and the server deriving the user id from the invitation and this key) the code two people
 * compared yesterday is the code they see today, and a change means something.
 *
 * Only the worker touches it: the page learns the public half (for `identify`), never the private
 * one. The private key is stored as raw bytes because davey takes it so; like any site data it is
 * readable by this origin's code and by whoever controls the profile.
 */

import type { SigningKeyPair } from './davey';
import { base64url } from './mlsWire';

const DATABASE = 'parley';
export const KEY_STORE = 'keys';
const ENTRY = 'dave-signature';

interface StoredKey {
  private: Uint8Array;
  public: Uint8Array;
}

function isStoredKey(value: unknown): value is StoredKey {
  const v = value as Partial<StoredKey> | null;
  return v !== null && typeof v === 'object' && v.private instanceof Uint8Array && v.public instanceof Uint8Array && v.public.length === 65;
}

/**
 * The profile's key database: this key, and what belongs beside it (the device's certificates:
 * identity/certificateStore.ts). `factory` is the browser's IndexedDB; tests give an in-memory one.
 */
export function openKeyDatabase(factory: IDBFactory = indexedDB): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(KEY_STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB would not open'));
  });
}

/**
 * The profile's key, made with `generate` the first time. One read-write transaction reads it and,
 * if absent, stores a new one: two tabs opening at once still end up with one key.
 */
export async function profileKey(generate: () => SigningKeyPair, factory: IDBFactory = indexedDB): Promise<SigningKeyPair> {
  const db = await openKeyDatabase(factory);
  try {
    return await new Promise<SigningKeyPair>((resolve, reject) => {
      const tx = db.transaction(KEY_STORE, 'readwrite');
      const store = tx.objectStore(KEY_STORE);
      let key: SigningKeyPair | null = null;
      const read = store.get(ENTRY);
      read.onsuccess = () => {
        if (isStoredKey(read.result)) {
          key = read.result;
          return;
        }
        const made = generate();
        // Copies: davey's buffers are views on its wasm memory, which later calls reuse.
        key = { private: new Uint8Array(made.private), public: new Uint8Array(made.public) };
        store.put({ private: key.private, public: key.public } satisfies StoredKey, ENTRY);
      };
      tx.oncomplete = () => (key ? resolve(key) : reject(new Error('no key stored')));
      tx.onerror = () => reject(tx.error ?? new Error('the key could not be kept'));
      tx.onabort = () => reject(tx.error ?? new Error('the key could not be kept'));
    });
  } finally {
    db.close();
  }
}

/** The key as WebCrypto imports it for signing (davey keeps the raw scalar and point). */
export function privateJwk(pair: SigningKeyPair): JsonWebKey {
  return {
    kty: 'EC',
    crv: 'P-256',
    d: base64url(pair.private),
    x: base64url(pair.public.subarray(1, 33)),
    y: base64url(pair.public.subarray(33, 65)),
    ext: false,
  };
}

/**
 * What `identify.d.proof` signs (docs/protocol.md): a label, the invitation token, and the key.
 * Only the holder of the private key can make it, so a link and a public key (which every roster
 * shows) are not enough to come in as this device.
 */
export function keyProofMessage(token: string, publicKey: Uint8Array): Uint8Array<ArrayBuffer> {
  const label = new TextEncoder().encode('parley identify v1\0');
  const tokenBytes = new TextEncoder().encode(token);
  const out = new Uint8Array(label.length + tokenBytes.length + 1 + publicKey.length);
  out.set(label, 0);
  out.set(tokenBytes, label.length);
  out[label.length + tokenBytes.length] = 0;
  out.set(publicKey, label.length + tokenBytes.length + 1);
  return out;
}
