/**
 * This device's own copy of the summit's record, kept in IndexedDB beside its key and
 * certificates (e2ee/signingKey.ts): the readout of what it verified (canonical JSON), rewritten
 * after every burst of entries. Nothing then depends on the server keeping the record: the copy
 * is what the device saw, and `parley verify` checks it like any readout.
 */

import { KEY_STORE, openKeyDatabase } from '../e2ee/signingKey';

function entry(summitId: string): string {
  return `record ${summitId}`;
}

function settle<T>(db: IDBDatabase, mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(KEY_STORE, mode);
    const made = run(tx.objectStore(KEY_STORE));
    tx.oncomplete = () => resolve(made.result);
    tx.onerror = () => reject(tx.error ?? new Error('the record copy could not be kept'));
    tx.onabort = () => reject(tx.error ?? new Error('the record copy could not be kept'));
  });
}

/** Keep the readout of the summit's record as this device holds it now (replacing the last). */
export async function keepRecordCopy(summitId: string, readout: string, factory: IDBFactory = indexedDB): Promise<void> {
  const db = await openKeyDatabase(factory);
  try {
    await settle(db, 'readwrite', (store) => store.put(readout, entry(summitId)));
  } finally {
    db.close();
  }
}

/** The copy kept for this summit, if any. */
export async function keptRecordCopy(summitId: string, factory: IDBFactory = indexedDB): Promise<string | null> {
  const db = await openKeyDatabase(factory);
  try {
    const value: unknown = await settle(db, 'readonly', (store) => store.get(entry(summitId)));
    return typeof value === 'string' ? value : null;
  } finally {
    db.close();
  }
}
