/**
 * A member's word on which log it holds (`parley-record-head`, docs/record.md "Head"), sent after
 * every entry it accepts and signed by its device key (ECDSA P-256) over
 * `"parley record head v1" || 0x00 || body`:
 *
 *     u8     version = 1
 *     text   summit_id
 *     u64    length        how many entries it holds
 *     opaque head          32 bytes: the hash of its last entry (zeros when empty)
 *     u64    user_id       the member speaking
 *
 * Another member's head that is longer than ours, or names another hash at a length we hold, is
 * how a client sees entries dropped for it, or a log forked between the sides (view.ts).
 */

import { verifyDeviceSignature, type DeviceSigner } from '../identity/deviceKey';
import { concat, decode, decodeText, isU64, SignedDocument, Writer, type Bytes, type Reader } from '../identity/encoding';
import { HASH_SIZE, isZero } from './entry';

/** What a head's signature covers before its body. */
export const HEAD_LABEL = new TextEncoder().encode('parley record head v1\0');

export class RecordHead extends SignedDocument {
  static readonly KIND = 'parley-record-head';

  constructor(
    readonly summitId: string,
    readonly length: bigint,
    readonly head: Bytes,
    readonly userId: number,
    signature: Bytes,
  ) {
    super(signature);
    if (!isU64(length) || !Number.isSafeInteger(userId) || userId < 1) throw new RangeError('a length is a u64, a user id from 1 to 2^53 - 1');
    if (head.length !== HASH_SIZE) throw new RangeError(`a head is ${HASH_SIZE} bytes`);
    if ((length === 0n) !== isZero(head)) throw new RangeError('a head is zeros for an empty log and only for it');
  }

  get kind(): string {
    return RecordHead.KIND;
  }

  body(): Bytes {
    return new Writer().u8(SignedDocument.VERSION).text(this.summitId).u64(this.length).opaque(this.head).u64(this.userId).bytes();
  }

  static readFields(reader: Reader, signature: Bytes): RecordHead {
    const summitId = reader.text('summit');
    const length = reader.u64('length');
    const head = reader.opaque('head');
    const userId = reader.u64('user id');
    if (userId >= 1n << 53n) throw new RangeError('a user id is from 1 to 2^53 - 1');
    return new RecordHead(summitId, length, head, Number(userId), signature);
  }

  static fromBytes(data: Uint8Array): RecordHead {
    return decode(RecordHead, data);
  }

  static fromText(text: string): RecordHead {
    return decodeText(RecordHead, text);
  }

  /** Whether the member's DAVE signature key made this head. */
  verify(deviceKey: Bytes): Promise<boolean> {
    return verifyDeviceSignature(deviceKey, concat(HEAD_LABEL, this.body()), this.signature);
  }
}

/** This device's head after it accepted an entry, signed with its DAVE key. */
export async function signHead(summitId: string, length: bigint, head: Bytes, userId: number, sign: DeviceSigner): Promise<RecordHead> {
  const unsigned = new RecordHead(summitId, length, head, userId, new Uint8Array(64));
  return new RecordHead(summitId, length, head, userId, await sign(concat(HEAD_LABEL, unsigned.body())));
}
