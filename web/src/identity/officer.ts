/**
 * The officer console's proof (parley.identity.officer): this device shows the server it holds
 * its delegation's key, and the server then sends it its delegation's enrollment requests. The
 * proof binds the summit and the console's own user id under a label of its own, so no other
 * signature of the delegation key stands in for it, and a proof from one device or summit serves
 * no other. It grants nothing but that relay: no client trusts a document for having come from a
 * console.
 *
 *     "parley officer v1" || 0x00 || text summit_id || u64 user_id
 */

import type { DelegationKey } from './delegationKey';
import { concat, Writer, type Bytes } from './encoding';

const LABEL = new TextEncoder().encode('parley officer v1\0');

export function officerMessage(summitId: string, userId: number): Bytes {
  return concat(LABEL, new Writer().text(summitId).u64(userId).bytes());
}

export function proveOfficer(key: DelegationKey, summitId: string, userId: number): Promise<Bytes> {
  return key.sign(officerMessage(summitId, userId));
}
