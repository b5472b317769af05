/**
 * A record entry (`parley-record-entry`, docs/record.md "Entry"): one line of the append-only
 * log, signed by the writer's device (ECDSA P-256 SHA-256, `r || s`, with the DAVE signature
 * key its certificate names) over `"parley record entry v1" || 0x00 || body`:
 *
 *     u8     version = 1
 *     text   summit_id
 *     u64    seq          its position in the log, from 0
 *     opaque prev         32 bytes: the hash of entry seq - 1; zeros for seq 0
 *     u8     kind         1 position, 2 outcome, 3 action, 4 sign, 5 decline, 6 seal
 *     opaque refers       32 bytes; zeros when it refers to nothing
 *     opaque commitment   32 bytes: the statement's commitment; zeros for sign and seal
 *     opaque key_id       16 bytes: the record key its text is under
 *     u64    epoch        the DAVE epoch the writer was in
 *     u64    time         Unix milliseconds at the writer
 *     opaque signer       16 bytes: the serial of the signer's certificate
 *
 * `hash = SHA-256(body || signature)`. What one entry alone can break of the kind table (a sign
 * with a commitment, a position that refers) is refused when it is made or parsed; what needs the
 * log (which outcome a sign answers) is rules.ts's.
 */

import { verifyDeviceSignature, type DeviceSigner } from '../identity/deviceKey';
import { concat, decode, decodeText, isU64, SignedDocument, Writer, type Bytes, type Reader } from '../identity/encoding';
import { sha256 } from '../identity/fingerprint';
import { SERIAL_SIZE } from '../identity/revocation';

/** What an entry's signature covers before its body (the worker signs nothing else under it: e2ee/recordSigning.ts). */
export const ENTRY_LABEL = new TextEncoder().encode('parley record entry v1\0');
export const HASH_SIZE = 32;
export const KEY_ID_SIZE = 16;
export const ZEROS = new Uint8Array(HASH_SIZE);

export const ENTRY_KINDS = { position: 1, outcome: 2, action: 3, sign: 4, decline: 5, seal: 6 } as const;
export type EntryKind = keyof typeof ENTRY_KINDS;

const KIND_OF_NUMBER = new Map(Object.entries(ENTRY_KINDS).map(([name, number]) => [number, name as EntryKind]));

/** The kinds whose entry commits to a statement (and carries its ciphertext). */
export function hasText(kind: EntryKind): boolean {
  return kind !== 'sign' && kind !== 'seal';
}

export function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

/** The fields of an entry, before its signature. */
export interface EntryFields {
  readonly summitId: string;
  readonly seq: bigint;
  readonly prev: Bytes;
  readonly entryKind: EntryKind;
  readonly refers: Bytes;
  readonly commitment: Bytes;
  readonly keyId: Bytes;
  readonly epoch: bigint;
  readonly time: bigint;
  readonly signer: Bytes;
}

function checkFields(f: EntryFields): void {
  if (!isU64(f.seq) || !isU64(f.epoch) || !isU64(f.time)) throw new RangeError('seq, epoch and time are u64');
  for (const [what, value, size] of [['prev', f.prev, HASH_SIZE], ['refers', f.refers, HASH_SIZE], ['commitment', f.commitment, HASH_SIZE], ['key id', f.keyId, KEY_ID_SIZE], ['signer', f.signer, SERIAL_SIZE]] as const) {
    if (value.length !== size) throw new RangeError(`an entry's ${what} is ${size} bytes`);
  }
  if ((f.seq === 0n) !== isZero(f.prev)) throw new RangeError('prev is zeros for entry 0 and only for it');
  if (hasText(f.entryKind) === isZero(f.commitment)) throw new RangeError(`a ${f.entryKind} ${hasText(f.entryKind) ? 'commits to a statement' : 'has no statement'}`);
  const refersNothing = isZero(f.refers);
  if ((f.entryKind === 'position' || f.entryKind === 'action') && !refersNothing) throw new RangeError(`a ${f.entryKind} refers to nothing`);
  if ((f.entryKind === 'sign' || f.entryKind === 'decline' || f.entryKind === 'seal') && refersNothing) throw new RangeError(`a ${f.entryKind} refers to an entry`);
}

export class RecordEntry extends SignedDocument implements EntryFields {
  static readonly KIND = 'parley-record-entry';
  readonly summitId: string;
  readonly seq: bigint;
  readonly prev: Bytes;
  readonly entryKind: EntryKind;
  readonly refers: Bytes;
  readonly commitment: Bytes;
  readonly keyId: Bytes;
  readonly epoch: bigint;
  readonly time: bigint;
  readonly signer: Bytes;

  constructor(fields: EntryFields, signature: Bytes) {
    super(signature);
    checkFields(fields);
    ({ summitId: this.summitId, seq: this.seq, prev: this.prev, entryKind: this.entryKind, refers: this.refers } = fields);
    ({ commitment: this.commitment, keyId: this.keyId, epoch: this.epoch, time: this.time, signer: this.signer } = fields);
  }

  /** The armour prefix (SignedDocument's `kind`); the entry's own kind is `entryKind`. */
  get kind(): string {
    return RecordEntry.KIND;
  }

  body(): Bytes {
    return new Writer()
      .u8(SignedDocument.VERSION)
      .text(this.summitId)
      .u64(this.seq)
      .opaque(this.prev)
      .u8(ENTRY_KINDS[this.entryKind])
      .opaque(this.refers)
      .opaque(this.commitment)
      .opaque(this.keyId)
      .u64(this.epoch)
      .u64(this.time)
      .opaque(this.signer)
      .bytes();
  }

  static readFields(reader: Reader, signature: Bytes): RecordEntry {
    const summitId = reader.text('summit');
    const seq = reader.u64('seq');
    const prev = reader.opaque('prev');
    const number = reader.u8('kind');
    const entryKind = KIND_OF_NUMBER.get(number as 1);
    if (entryKind === undefined) throw new RangeError(`no entry kind ${number}`);
    const refers = reader.opaque('refers');
    const commitment = reader.opaque('commitment');
    const keyId = reader.opaque('key id');
    const epoch = reader.u64('epoch');
    const time = reader.u64('time');
    return new RecordEntry({ summitId, seq, prev, entryKind, refers, commitment, keyId, epoch, time, signer: reader.opaque('signer') }, signature);
  }

  static fromBytes(data: Uint8Array): RecordEntry {
    return decode(RecordEntry, data);
  }

  static fromText(text: string): RecordEntry {
    return decodeText(RecordEntry, text);
  }

  /** SHA-256(body || signature): what the next entry's `prev`, a sign's `refers` and a head name. */
  hash(): Promise<Bytes> {
    return sha256(this.toBytes());
  }

  /** Whether the device key (65-byte P-256 point) made this entry. */
  verify(deviceKey: Bytes): Promise<boolean> {
    return verifyDeviceSignature(deviceKey, concat(ENTRY_LABEL, this.body()), this.signature);
  }
}

/** This device's entry, signed with its DAVE key (identity/deviceKey.ts `deviceSigner`). */
export async function signEntry(fields: EntryFields, sign: DeviceSigner): Promise<RecordEntry> {
  const unsigned = new RecordEntry(fields, new Uint8Array(64));
  return new RecordEntry(fields, await sign(concat(ENTRY_LABEL, unsigned.body())));
}
