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

const DATABASE = 'parley';
const STORE = 'keys';
const ENTRY = 'dave-signature';

interface StoredKey {
  private: Uint8Array;
  public: Uint8Array;
}

function isStoredKey(value: unknown): value is StoredKey {
  const v = value as Partial<StoredKey> | null;
  return v !== null && typeof v === 'object' && v.private instanceof Uint8Array && v.public instanceof Uint8Array && v.public.length === 65;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB would not open'));
  });
}

/**
 * The profile's key, made with `generate` the first time. One read-write transaction reads it and,
 * if absent, stores a new one: two tabs opening at once still end up with one key.
 */
export async function profileKey(generate: () => SigningKeyPair): Promise<SigningKeyPair> {
  const db = await open();
  try {
    return await new Promise<SigningKeyPair>((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
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
