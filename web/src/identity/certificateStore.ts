/**
 * The device's certificate, kept in IndexedDB beside its DAVE signature key (e2ee/signingKey.ts),
 * so that a reload or a new visit comes back certified without asking the officer again.
 *
 * One entry per summit (a certificate is good for one summit only), holding the certificate's
 * text. It is public (the server relays it to every member), so keeping it beside the key adds
 * nothing an attacker with the profile lacks: that attacker already has the private key it
 * certifies. What comes back out is not trusted for being ours: it is returned only if it
 * certifies this profile's key, and the caller still runs `acceptCertificate` on it (an expired
 * or foreign certificate is refused there, and the device enrolls again).
 */

import { KEY_STORE, openKeyDatabase } from '../e2ee/signingKey';
import { DeviceCertificate } from './certificate';
import { sameBytes } from './encoding';
import { IdentityError } from './problems';

function entry(summitId: string): string {
  return `certificate ${summitId}`;
}

function request<T>(db: IDBDatabase, mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(KEY_STORE, mode);
    const made = run(tx.objectStore(KEY_STORE));
    tx.oncomplete = () => resolve(made.result);
    tx.onerror = () => reject(tx.error ?? new Error('the certificate store failed'));
    tx.onabort = () => reject(tx.error ?? new Error('the certificate store failed'));
  });
}

/** Keep this device's certificate for its summit, replacing the one kept before (a renewal). */
export async function keepCertificate(certificate: DeviceCertificate, factory: IDBFactory = indexedDB): Promise<void> {
  const db = await openKeyDatabase(factory);
  try {
    await request(db, 'readwrite', (store) => store.put(certificate.toText(), entry(certificate.claim.summitId)));
  } finally {
    db.close();
  }
}

/**
 * The certificate kept for this summit, if there is one for `deviceKey` (this profile's key):
 * one for another key, or one that no longer parses, is as none.
 */
export async function keptCertificate(summitId: string, deviceKey: Uint8Array, factory: IDBFactory = indexedDB): Promise<DeviceCertificate | null> {
  const db = await openKeyDatabase(factory);
  let text: unknown;
  try {
    text = await request<unknown>(db, 'readonly', (store) => store.get(entry(summitId)));
  } finally {
    db.close();
  }
  if (typeof text !== 'string') return null;
  try {
    const certificate = DeviceCertificate.fromText(text);
    return certificate.claim.summitId === summitId && sameBytes(certificate.claim.deviceKey, deviceKey) ? certificate : null;
  } catch (e) {
    if (e instanceof IdentityError) return null;
    throw e;
  }
}

/** Forget the certificate kept for this summit (the server refused it: the device enrolls again). */
export async function forgetCertificate(summitId: string, factory: IDBFactory = indexedDB): Promise<void> {
  const db = await openKeyDatabase(factory);
  try {
    await request(db, 'readwrite', (store) => store.delete(entry(summitId)));
  } finally {
    db.close();
  }
}
