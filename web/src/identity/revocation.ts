/**
 * A delegation's revocation list: the serials of its certificates it no longer vouches for, and
 * the book that holds each delegation's latest (parley.identity.revocation). Signed by the issuer
 * with Ed25519 over `"parley revocations v1" || 0x00 || body`:
 *
 *     u8     version = 1
 *     text   summit_id
 *     opaque issuer          the delegation's Ed25519 public key (32 bytes)
 *     u64    sequence        1, 2, 3, ...: each new list of this delegation for this summit is higher
 *     u64    issued_at       Unix seconds (for people; ordering is by sequence)
 *     u16 n, opaque serial[n]  16 bytes each, ascending, no repeats
 *
 * The book only moves forward: a server can withhold a newer list, never bring back an older.
 */

import { verifySignature, type DelegationKey } from './delegationKey';
import { concat, decode, decodeText, hex, isU64, sameBytes, SignedDocument, Writer, type Bytes, type Reader } from './encoding';
import { PUBLIC_KEY_SIZE } from './fingerprint';
import { IdentityError } from './problems';

const LABEL = new TextEncoder().encode('parley revocations v1\0');
export const SERIAL_SIZE = 16;
export const MAX_SERIALS = 512; // a delegation revokes a handful of devices per summit; this bounds the list

export class RevocationList extends SignedDocument {
  static readonly KIND = 'parley-revocations';

  constructor(
    readonly summitId: string,
    readonly issuer: Bytes,
    readonly sequence: bigint,
    readonly issuedAt: bigint,
    readonly serials: readonly Bytes[],
    signature: Bytes,
  ) {
    super(signature);
    if (issuer.length !== PUBLIC_KEY_SIZE) throw new RangeError('the issuer is a 32-byte Ed25519 public key');
    if (!isU64(sequence) || sequence < 1n || !isU64(issuedAt)) throw new RangeError('a sequence number starts at 1');
    if (serials.length > MAX_SERIALS || serials.some((s) => s.length !== SERIAL_SIZE)) {
      throw new RangeError(`a revocation list holds at most ${MAX_SERIALS} serials of ${SERIAL_SIZE} bytes`);
    }
    const ordered = serials.map(hex);
    if (ordered.some((serial, i) => i > 0 && serial <= (ordered[i - 1] ?? ''))) {
      throw new RangeError("a revocation list's serials are ascending and distinct");
    }
  }

  get kind(): string {
    return RevocationList.KIND;
  }

  body(): Bytes {
    const writer = new Writer().u8(SignedDocument.VERSION).text(this.summitId).opaque(this.issuer).u64(this.sequence).u64(this.issuedAt);
    writer.u16(this.serials.length);
    for (const serial of this.serials) writer.opaque(serial);
    return writer.bytes();
  }

  static readFields(reader: Reader, signature: Bytes): RevocationList {
    const summitId = reader.text('summit');
    const issuer = reader.opaque('issuer');
    const sequence = reader.u64('sequence');
    const issuedAt = reader.u64('issued at');
    const serials = Array.from({ length: reader.u16('serials') }, () => reader.opaque('serial'));
    return new RevocationList(summitId, issuer, sequence, issuedAt, serials, signature);
  }

  static fromBytes(data: Uint8Array): RevocationList {
    return decode(RevocationList, data);
  }

  static fromText(text: string): RevocationList {
    return decodeText(RevocationList, text);
  }
}

/** The officer's new list: every serial still revoked (lists replace, they do not add up), ascending and distinct. */
export async function signRevocations(key: DelegationKey, summitId: string, sequence: bigint, serials: readonly Bytes[], issuedAt: bigint): Promise<RevocationList> {
  const byHex = new Map(serials.map((serial) => [hex(serial), serial]));
  const ordered = [...byHex.keys()].sort().map((serial) => byHex.get(serial) ?? new Uint8Array());
  const unsigned = new RevocationList(summitId, key.publicKey, sequence, issuedAt, ordered, new Uint8Array(64));
  return new RevocationList(summitId, key.publicKey, sequence, issuedAt, ordered, await key.sign(concat(LABEL, unsigned.body())));
}

/** The latest revocation list of each delegation key, for one summit. Only moves forward. */
export class RevocationBook {
  private readonly latest = new Map<string, RevocationList>(); // issuer (hex) -> its latest list

  constructor(readonly summitId: string) {}

  /**
   * Take a list if it is authentic, for this summit, and newer than the one held for its issuer;
   * true if it changed anything. IdentityError otherwise, naming why.
   */
  async accept(revocations: RevocationList): Promise<boolean> {
    if (!(await verifySignature(revocations.issuer, concat(LABEL, revocations.body()), revocations.signature))) {
      throw new IdentityError('bad_signature', 'a revocation list whose signature does not verify');
    }
    if (revocations.summitId !== this.summitId) {
      throw new IdentityError('wrong_summit', `a revocation list for summit ${revocations.summitId}, not this one`);
    }
    // Read after the await: a list accepted meanwhile counts.
    const held = this.latest.get(hex(revocations.issuer));
    if (held !== undefined && revocations.sequence <= held.sequence) {
      if (sameBytes(revocations.toBytes(), held.toBytes())) return false;
      throw new IdentityError('stale', `a revocation list numbered ${revocations.sequence} cannot replace number ${held.sequence}`);
    }
    this.latest.set(hex(revocations.issuer), revocations);
    return true;
  }

  isRevoked(issuer: Uint8Array, serial: Uint8Array): boolean {
    const held = this.latest.get(hex(issuer));
    return held !== undefined && held.serials.some((s) => sameBytes(s, serial));
  }

  /** The sequence number held for a delegation key (0: none yet). */
  sequence(issuer: Uint8Array): bigint {
    return this.latest.get(hex(issuer))?.sequence ?? 0n;
  }
}
