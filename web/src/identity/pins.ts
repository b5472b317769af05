/**
 * Pins: which delegation key speaks for which delegation of a summit, as this device's own
 * delegation tells it (parley.identity.pins). A device trusts a pin set only if its own
 * delegation's key signed it, and it learns that key's fingerprint from its link or its officer,
 * never from the server alone. Signed with Ed25519 over `"parley pins v1" || 0x00 || body`:
 *
 *     u8     version = 1
 *     text   summit_id
 *     opaque issuer          the signing delegation's Ed25519 public key (32 bytes)
 *     u64    sequence        1, 2, ...: a device never goes back to a lower one
 *     u8 n,  (text delegation, text fingerprint)[n]
 *                            ascending by name, names and fingerprints each distinct; the
 *                            issuer's own delegation among them
 */

import { verifySignature, type DelegationKey } from './delegationKey';
import { concat, decode, decodeText, isU64, SignedDocument, Writer, type Bytes, type Reader } from './encoding';
import { Fingerprint, PUBLIC_KEY_SIZE } from './fingerprint';
import { IdentityError } from './problems';

const LABEL = new TextEncoder().encode('parley pins v1\0');
export const MAX_DELEGATIONS = 200; // the UN General Assembly has 193 members

/** Python orders names by code point; JavaScript's `<` compares UTF-16 units, which differ beyond the BMP. */
export function byCodePoint(a: string, b: string): number {
  const [x, y] = [Array.from(a, (c) => c.codePointAt(0) ?? 0), Array.from(b, (c) => c.codePointAt(0) ?? 0)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return x.length - y.length;
}

/** A pin set as received: parsed, not yet trusted (`verifyPins` makes `Pins` of it). */
export class PinSet extends SignedDocument {
  static readonly KIND = 'parley-pins';

  constructor(
    readonly summitId: string,
    readonly issuer: Bytes,
    readonly sequence: bigint,
    readonly pins: readonly (readonly [string, Fingerprint])[], // ascending by delegation name
    signature: Bytes,
  ) {
    super(signature);
    if (issuer.length !== PUBLIC_KEY_SIZE) throw new RangeError('the issuer is a 32-byte Ed25519 public key');
    if (!isU64(sequence) || sequence < 1n) throw new RangeError('a sequence number starts at 1');
    const names = pins.map(([name]) => name);
    const ascending = names.every((name, i) => i === 0 || byCodePoint(names[i - 1] ?? '', name) < 0);
    if (names.length < 1 || names.length > MAX_DELEGATIONS || !ascending) {
      throw new RangeError(`a pin set names 1 to ${MAX_DELEGATIONS} delegations, ascending, each once`);
    }
    if (new Set(pins.map(([, fingerprint]) => fingerprint.digits)).size !== pins.length) throw new RangeError('one key pinned for two delegations');
  }

  get kind(): string {
    return PinSet.KIND;
  }

  body(): Bytes {
    const writer = new Writer().u8(SignedDocument.VERSION).text(this.summitId).opaque(this.issuer).u64(this.sequence).u8(this.pins.length);
    for (const [name, fingerprint] of this.pins) writer.text(name).text(fingerprint.digits);
    return writer.bytes();
  }

  static readFields(reader: Reader, signature: Bytes): PinSet {
    const summitId = reader.text('summit');
    const issuer = reader.opaque('issuer');
    const sequence = reader.u64('sequence');
    const pins = Array.from({ length: reader.u8('pins') }, () => [reader.text('delegation'), new Fingerprint(reader.text('fingerprint'))] as const);
    return new PinSet(summitId, issuer, sequence, pins, signature);
  }

  static fromBytes(data: Uint8Array): PinSet {
    return decode(PinSet, data);
  }

  static fromText(text: string): PinSet {
    return decodeText(PinSet, text);
  }
}

/** An officer's pin set for a summit: every delegation's fingerprint, their own included. */
export async function signPins(key: DelegationKey, summitId: string, sequence: bigint, pins: ReadonlyMap<string, Fingerprint>): Promise<PinSet> {
  const own = await key.fingerprint();
  if (![...pins.values()].some((pinned) => pinned.equals(own))) throw new RangeError("a pin set pins its own delegation's key too");
  const ordered = [...pins].sort(([a], [b]) => byCodePoint(a, b));
  const unsigned = new PinSet(summitId, key.publicKey, sequence, ordered, new Uint8Array(64));
  return new PinSet(summitId, key.publicKey, sequence, ordered, await key.sign(concat(LABEL, unsigned.body())));
}

/** A pin set this device trusts: only `verifyPins` makes one. */
export class Pins {
  private constructor(
    readonly summitId: string,
    readonly sequence: bigint,
    readonly ownDelegation: string, // the delegation whose key signed it: this device's
    readonly byName: ReadonlyMap<string, Fingerprint>,
  ) {}

  /** For `verifyPins`, after its checks: nothing else is to call it (TypeScript has no module-private statics). */
  static trusted(pinSet: PinSet, ownDelegation: string): Pins {
    return new Pins(pinSet.summitId, pinSet.sequence, ownDelegation, new Map(pinSet.pins));
  }

  /** The delegation a key is pinned for, if any. */
  delegationOf(fingerprint: Fingerprint): string | null {
    for (const [name, pinned] of this.byName) if (pinned.equals(fingerprint)) return name;
    return null;
  }

  equals(other: Pins): boolean {
    return (
      this.summitId === other.summitId &&
      this.sequence === other.sequence &&
      this.ownDelegation === other.ownDelegation &&
      this.byName.size === other.byName.size &&
      [...this.byName].every(([name, fingerprint]) => other.byName.get(name)?.equals(fingerprint) === true)
    );
  }
}

/**
 * Trust a pin set if its signer is this device's own delegation key (`own`, from the link or the
 * officer), its signature verifies, it is for this summit, and it is not older than the one held.
 * IdentityError otherwise.
 */
export async function verifyPins(pinSet: PinSet, own: Fingerprint, summitId: string, held: Pins | null = null): Promise<Pins> {
  const signer = await Fingerprint.of(pinSet.issuer);
  if (!signer.equals(own)) {
    throw new IdentityError('not_own_delegation', `the pins are signed by the key ${signer.toString()}, not by this device's own delegation (${own.toString()}): refused`);
  }
  if (!(await verifySignature(pinSet.issuer, concat(LABEL, pinSet.body()), pinSet.signature))) {
    throw new IdentityError('bad_signature', "the pins' signature does not verify: forged or altered");
  }
  if (pinSet.summitId !== summitId) throw new IdentityError('wrong_summit', `the pins are for summit ${pinSet.summitId}, not this one`);
  const ownDelegation = pinSet.pins.find(([, pinned]) => pinned.equals(own))?.[0];
  if (ownDelegation === undefined) throw new IdentityError('malformed', 'the pins do not name the delegation that signed them');
  const trusted = Pins.trusted(pinSet, ownDelegation);
  if (held !== null && trusted.sequence <= held.sequence && !trusted.equals(held)) {
    throw new IdentityError('stale', `pins numbered ${trusted.sequence} cannot replace number ${held.sequence}`);
  }
  return trusted;
}
