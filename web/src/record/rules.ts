/**
 * The append rules of docs/record.md ("Rules the server enforces, and every client checks
 * again"), as a client checks each entry it receives against the log it has verified. Sans-IO:
 * the log's state is here, the certified devices and signer lists are the SignerBook's, and the
 * only awaits are WebCrypto's (hash, signature).
 *
 * Two of the server's rules a client cannot check and does not: that the writer is present, and
 * that a seal comes only after the record was closed (the host's word, or the summit's end, is
 * the server's to tell). A seal, signed by a signer, is that signer's word that it was closed.
 */

import { hex, sameBytes, type Bytes } from '../identity/encoding';
import { hasText, isZero, ZEROS, type RecordEntry } from './entry';
import { MAX_CIPHERTEXT, NONCE_SIZE } from './keys';
import { RecordError } from './problems';
import type { RecordDevice, SignerBook } from './signers';

const MIN_CIPHERTEXT = NONCE_SIZE + 16 + 1; // a nonce, a tag, and a statement

/** An entry this client verified, with what it learned checking it. */
export interface LoggedEntry {
  readonly entry: RecordEntry;
  readonly hash: Bytes;
  readonly device: RecordDevice; // the signer: its delegation is the entry's `by`
  readonly ciphertext: Bytes | null; // null for sign and seal
}

interface Outcome {
  readonly delegation: string;
  readonly answered: Set<string>; // delegations that signed or declined it
}

export class RecordLog {
  readonly entries: LoggedEntry[] = [];
  /** The summit's record key id: fixed by the first grant this device accepts, or by the first entry. */
  keyId: Bytes | null = null;
  /** The head the seals seal: set by the first seal. */
  sealedHead: Bytes | null = null;
  readonly sealedBy = new Set<string>();
  private readonly outcomes = new Map<string, Outcome>(); // entry hash (hex) -> outcome

  constructor(
    readonly summitId: string,
    readonly delegations: readonly string[], // every pinned delegation: all must sign an outcome, and seal
  ) {}

  get length(): bigint {
    return BigInt(this.entries.length);
  }

  /** The hash of the last entry; zeros when the log is empty. */
  get head(): Bytes {
    return this.entries.at(-1)?.hash ?? ZEROS;
  }

  /** Whether a signer of every delegation sealed the same head. */
  get sealed(): boolean {
    return this.delegations.every((name) => this.sealedBy.has(name));
  }

  /** The entry at this hash, if held. */
  byHash(hash: Bytes): LoggedEntry | undefined {
    return this.entries.find((e) => sameBytes(e.hash, hash));
  }

  /** Whether `entry` (with its ciphertext) may be appended now: RecordError naming the rule it breaks. */
  async check(entry: RecordEntry, ciphertext: Bytes | null, book: SignerBook): Promise<LoggedEntry> {
    if (entry.summitId !== this.summitId) throw new RecordError('wrong_summit', `the entry is for summit ${entry.summitId}`);
    if (entry.seq !== this.length) throw new RecordError('out_of_order', `entry ${entry.seq} comes where entry ${this.length} belongs`);
    if (!sameBytes(entry.prev, this.head)) throw new RecordError('forked', `entry ${entry.seq} follows another entry than this log's ${entry.seq - 1n}`);
    const device = book.signer(entry.signer);
    const at = entry.time / 1000n; // the certificate's validity is in Unix seconds
    if (at < device.certificate.notBefore || at >= device.certificate.notAfter) {
      throw new RecordError('bad_certificate', "its signer's certificate is not valid at the entry's time");
    }
    if (!(await entry.verify(device.deviceKey))) throw new RecordError('bad_signature', `its signature is not ${device.delegation}'s device's`);
    if (this.keyId !== null && !sameBytes(entry.keyId, this.keyId)) throw new RecordError('wrong_key', 'it names another record key than the summit\'s');
    checkCiphertext(entry, ciphertext);
    this.checkKind(entry, device.delegation);
    return { entry, hash: await entry.hash(), device, ciphertext: hasText(entry.entryKind) ? ciphertext : null };
  }

  /** Take an entry `check` returned, as the log's next. */
  append(logged: LoggedEntry): void {
    const { entry, hash, device } = logged;
    this.entries.push(logged);
    this.keyId ??= entry.keyId;
    if (entry.entryKind === 'outcome') this.outcomes.set(hex(hash), { delegation: device.delegation, answered: new Set() });
    if (entry.entryKind === 'sign' || entry.entryKind === 'decline') this.outcomes.get(hex(entry.refers))?.answered.add(device.delegation);
    if (entry.entryKind === 'seal') {
      this.sealedHead ??= entry.refers;
      this.sealedBy.add(device.delegation);
    }
  }

  private checkKind(entry: RecordEntry, delegation: string): void {
    const kind = entry.entryKind;
    if (this.sealedHead !== null && kind !== 'seal') throw new RecordError('sealed', 'after the first seal the log takes only seals');
    if (kind === 'outcome' && !isZero(entry.refers) && !this.outcomes.has(hex(entry.refers))) {
      throw new RecordError('bad_reference', 'an amendment refers to an outcome of the log');
    }
    if (kind === 'sign' || kind === 'decline') {
      const outcome = this.outcomes.get(hex(entry.refers));
      if (outcome === undefined) throw new RecordError('bad_reference', `a ${kind} refers to an outcome of the log`);
      if (outcome.delegation === delegation) throw new RecordError('bad_reference', `${delegation} cannot ${kind} its own outcome`);
      if (outcome.answered.has(delegation)) throw new RecordError('answered', `${delegation} already answered this outcome`);
    }
    if (kind === 'seal') {
      const sealing = this.sealedHead ?? entry.prev;
      if (!sameBytes(entry.refers, sealing)) throw new RecordError('bad_reference', 'a seal refers to the head the first seal sealed (its prev, for the first)');
      if (this.sealedBy.has(delegation)) throw new RecordError('answered', `${delegation} has sealed already`);
    }
  }
}

function checkCiphertext(entry: RecordEntry, ciphertext: Bytes | null): void {
  if (!hasText(entry.entryKind)) {
    if (ciphertext !== null && ciphertext.length > 0) throw new RecordError('bad_text', `a ${entry.entryKind} carries no text`);
    return;
  }
  if (ciphertext === null || ciphertext.length < MIN_CIPHERTEXT || ciphertext.length > MAX_CIPHERTEXT) {
    throw new RecordError('bad_text', `a ${entry.entryKind} carries a ciphertext of ${MIN_CIPHERTEXT} to ${MAX_CIPHERTEXT} bytes`);
  }
}
