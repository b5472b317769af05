/**
 * What the DAVE worker signs for the record, and how it opens the record key's grant to it
 * (docs/record.md). The device key is the worker's alone; the page asks for a signature over one
 * of three record documents (an entry, a head, a grant) and nothing else: the message must be that
 * document's label followed by a body that parses as that document, so the page cannot have the
 * key sign an identify proof, an attestation or arbitrary bytes under the record's name.
 *
 * Sans-IO but for WebCrypto: tests run it with a real key and no worker.
 */

import { type DeviceSigner } from '../identity/deviceKey';
import { concat, sameBytes, SIGNATURE_SIZE, type Bytes } from '../identity/encoding';
import { ENTRY_LABEL, RecordEntry } from '../record/entry';
import { HEAD_LABEL, RecordHead } from '../record/head';
import { GRANT_LABEL, openDeviceGrant, RecordGrant } from '../record/keys';

export type RecordDocument = 'entry' | 'head' | 'grant';

const FORMATS: Record<RecordDocument, { label: Bytes; parse(data: Uint8Array): unknown }> = {
  entry: { label: ENTRY_LABEL, parse: (data) => RecordEntry.fromBytes(data) },
  head: { label: HEAD_LABEL, parse: (data) => RecordHead.fromBytes(data) },
  grant: { label: GRANT_LABEL, parse: (data) => RecordGrant.fromBytes(data) },
};

/**
 * The device's signature over `message` if it is `label || body` of a `document` (an unsigned
 * document's body, in its one canonical form): RangeError, and no signature, otherwise.
 */
export async function signRecordDocument(document: RecordDocument, message: Bytes, sign: DeviceSigner): Promise<Bytes> {
  const format = FORMATS[document];
  if (!sameBytes(message.subarray(0, format.label.length), format.label)) throw new RangeError(`not a record ${document} to sign`);
  const body = message.subarray(format.label.length);
  try {
    format.parse(concat(body, new Uint8Array(SIGNATURE_SIZE))); // the decoder refuses anything not canonical
  } catch {
    throw new RangeError(`not a record ${document} to sign: its body does not parse`);
  }
  return sign(message);
}

/**
 * The record key `R` from a grant to this device (its DAVE key `ownKey`), with the private key
 * the worker holds. The page checked who granted it; here only that it is this device's.
 */
export async function openOwnGrant(text: string, ownKey: Bytes, privateJwk: JsonWebKey): Promise<Bytes> {
  const grant = RecordGrant.fromText(text);
  if (grant.recipientKind !== 'device' || !sameBytes(grant.recipient, ownKey)) throw new RangeError('a grant of the record key to another recipient');
  return openDeviceGrant(grant, privateJwk);
}
