/**
 * A client's verified copy of the record (docs/record.md "What every client detects"). Sans-IO:
 * feed it each entry the server relays (`receiveEntry`), each member's head (`receiveHead`) and
 * the record key once a grant brings it (`receiveGrant` or `holdKey`); call `tick` at
 * `deadline()`. The clock is injected (Unix milliseconds). It keeps only what verifies, and
 * raises an alarm naming what the server did and the entry:
 *
 *     altered    an entry whose signature, certificate, text or kind rules do not verify
 *     reordered  an entry that arrives after a later one
 *     dropped    an entry missing within DROP_BOUND of a later one, or of a head saying the log is longer
 *     forked     an entry whose prev is not the hash held before it, another entry at a position
 *                held, or a head naming another hash at a length held
 *
 * The inputs are async only because WebCrypto is; they run one at a time, in the order called.
 */

import { hex, sameBytes, type Bytes } from '../identity/encoding';
import { byCodePoint } from '../identity/pins';
import { hasText, ZEROS, type RecordEntry } from './entry';
import type { RecordHead } from './head';
import { decryptStatement, keyIdOf, openDeviceGrant, type RecordGrant } from './keys';
import { RecordError } from './problems';
import { RecordLog, type LoggedEntry } from './rules';
import type { SignerBook } from './signers';
import type { Statement } from './statement';

/** How long an entry may be missing once a later one, or a longer head, showed it exists: heads follow every accepted entry at once, and 2 s covers a relay's jitter. */
export const DROP_BOUND = 2000; // ms
/** Entries kept waiting ahead of a gap (a server could send any number). */
export const MAX_PENDING = 256;

export type RecordAlarmKind = 'altered' | 'reordered' | 'dropped' | 'forked';

export interface RecordAlarm {
  readonly kind: RecordAlarmKind;
  readonly seq: bigint | null; // the entry it is about (null: the log as a whole)
  readonly text: string; // for people: what the server did, and to which entry
}

/** Where a statement stands: what the UI shows beside it, and what a readout says of it (the same texts as parley.record.readout). */
export interface Standing {
  readonly seq: bigint;
  readonly kind: 'position' | 'outcome' | 'action' | 'decline';
  readonly by: string;
  readonly statement: Statement;
  readonly agreedBy: readonly string[]; // an outcome's: the proposer, then each delegation that signed
  readonly declinedBy: readonly { readonly delegation: string; readonly reason: string }[];
  readonly awaiting: readonly string[]; // an outcome's delegations that have not answered yet
  readonly amends: bigint | null; // an amendment: the seq of the outcome it amends
  readonly answers: bigint | null; // a decline: the seq of the outcome it declines
  readonly agreed: boolean; // an outcome every delegation signed
  readonly text: string; // "agreed by A and B", "position of A", ...
}

/** "A", "A and B", "A, B and C". */
export function listOf(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}

function describe(logged: LoggedEntry): string {
  return `entry ${logged.entry.seq} (${logged.entry.entryKind} by ${logged.device.delegation})`;
}

export class RecordView {
  readonly log: RecordLog;
  readonly alarms: RecordAlarm[] = [];
  private recordKey: Bytes | null = null;
  private readonly statements = new Map<bigint, Statement>();
  private readonly pending = new Map<bigint, { entry: RecordEntry; ciphertext: Bytes | null }>();
  private gapSince: number | null = null; // when an entry ahead of the log first showed a gap
  private readonly expected = new Map<bigint, { head: RecordHead; since: number }>(); // members' heads beyond our log, by length
  private readonly raised = new Set<string>(); // `${kind} ${seq}`: each alarm once
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    summitId: string,
    delegations: readonly string[],
    readonly book: SignerBook,
    private readonly now: () => number,
    readonly bound: number = DROP_BOUND,
  ) {
    this.log = new RecordLog(summitId, delegations);
  }

  /** An entry the server relayed, with its ciphertext (null for sign and seal). */
  receiveEntry(entry: RecordEntry, ciphertext: Bytes | null): Promise<RecordAlarm[]> {
    return this.serial(async () => {
      if (entry.seq > this.log.length) {
        if (this.pending.size < MAX_PENDING && !this.pending.has(entry.seq)) this.pending.set(entry.seq, { entry, ciphertext });
        this.gapSince ??= this.now();
        return this.check();
      }
      if (entry.seq < this.log.length) return this.again(entry);
      const fresh: RecordAlarm[] = [];
      const later = [...this.pending.keys()].sort((a, b) => (a < b ? -1 : 1))[0];
      if (later !== undefined) fresh.push(...this.raise('reordered', entry.seq, `entry ${entry.seq} arrived after entry ${later}: the server reordered the log`));
      fresh.push(...(await this.append(entry, ciphertext)));
      for (let next = this.pending.get(this.log.length); next !== undefined; next = this.pending.get(this.log.length)) {
        this.pending.delete(next.entry.seq);
        const before = this.log.length;
        fresh.push(...(await this.append(next.entry, next.ciphertext)));
        if (this.log.length === before) break; // refused: what waits behind it cannot follow
      }
      for (const [seq, waiting] of this.pending) {
        if (seq < this.log.length) {
          this.pending.delete(seq);
          fresh.push(...(await this.again(waiting.entry)));
        }
      }
      this.gapSince = this.pending.size > 0 ? this.now() : null;
      return [...fresh, ...this.check()];
    });
  }

  /** A member's head, with that member's DAVE key (from the key group). RecordError if it is not theirs or not for this summit: log it and drop it. */
  receiveHead(head: RecordHead, deviceKey: Bytes): Promise<RecordAlarm[]> {
    return this.serial(async () => {
      if (head.summitId !== this.log.summitId) throw new RecordError('wrong_summit', `a head for summit ${head.summitId}`);
      if (!(await head.verify(deviceKey))) throw new RecordError('bad_signature', `a head for user ${head.userId} not signed by its key`);
      if (head.length > this.log.length) {
        if (!this.expected.has(head.length) && this.expected.size < MAX_PENDING) this.expected.set(head.length, { head, since: this.now() });
        return this.check();
      }
      return this.compare(head);
    });
  }

  /** Whether an entry went missing in the meantime. */
  tick(): RecordAlarm[] {
    return this.check();
  }

  /** When `tick` may next raise an alarm, if ever. */
  deadline(): number | null {
    if (this.raised.has(`dropped ${this.log.length}`)) return null; // said once: nothing more to wake for until the log grows
    const times = [...this.expected.values()].map(({ since }) => since);
    if (this.gapSince !== null) times.push(this.gapSince);
    return times.length === 0 ? null : Math.min(...times) + this.bound;
  }

  /** A grant to this device: taken if a certified device of the summit signed it (RecordError otherwise), then the record opens. */
  receiveGrant(grant: RecordGrant, privateJwk: JsonWebKey): Promise<RecordAlarm[]> {
    return this.serial(async () => {
      if (grant.summitId !== this.log.summitId) throw new RecordError('wrong_summit', `a grant for summit ${grant.summitId}`);
      const granter = this.book.device(grant.granter);
      if (!(await grant.verify(granter.deviceKey))) throw new RecordError('bad_signature', `a grant not signed by ${granter.delegation}'s device it names`);
      return this.takeKey(await openDeviceGrant(grant, privateJwk));
    });
  }

  /** The record key this device made or opened: every held text is decrypted now, and each later one as it comes. */
  holdKey(recordKey: Bytes): Promise<RecordAlarm[]> {
    return this.serial(() => this.takeKey(recordKey));
  }

  /** The record key, once held: what this device grants to others (keys.ts). */
  get key(): Bytes | null {
    return this.recordKey;
  }

  statement(seq: bigint): Statement | null {
    return this.statements.get(seq) ?? null;
  }

  /** Every statement (position, outcome, action, a decline's reason) whose text this device holds, with where it stands. */
  standings(): Standing[] {
    const out: Standing[] = [];
    for (const logged of this.log.entries) {
      const kind = logged.entry.entryKind;
      const statement = this.statements.get(logged.entry.seq);
      if (statement === undefined || kind === 'sign' || kind === 'seal') continue;
      out.push(this.standing(logged, kind, statement));
    }
    return out;
  }

  private standing(logged: LoggedEntry, kind: Standing['kind'], statement: Statement): Standing {
    const by = logged.device.delegation;
    const seqOf = (hash: Bytes): bigint | null => (sameBytes(hash, ZEROS) ? null : (this.log.byHash(hash)?.entry.seq ?? null));
    const answers = this.log.entries.filter((e) => sameBytes(e.entry.refers, logged.hash) && (e.entry.entryKind === 'sign' || e.entry.entryKind === 'decline'));
    const agreedBy = kind === 'outcome' ? [by, ...answers.filter((e) => e.entry.entryKind === 'sign').map((e) => e.device.delegation)] : [];
    const declinedBy = answers
      .filter((e) => e.entry.entryKind === 'decline')
      .map((e) => ({ delegation: e.device.delegation, reason: this.statements.get(e.entry.seq)?.text ?? '' }));
    const answered = new Set([by, ...answers.map((e) => e.device.delegation)]);
    const awaiting = kind === 'outcome' ? this.log.delegations.filter((name) => !answered.has(name)).sort(byCodePoint) : [];
    const agreed = kind === 'outcome' && this.log.delegations.every((name) => agreedBy.includes(name));
    const amends = kind === 'outcome' ? seqOf(logged.entry.refers) : null;
    const answersSeq = kind === 'decline' ? seqOf(logged.entry.refers) : null;
    const standing = { seq: logged.entry.seq, kind, by, statement, agreedBy, declinedBy, awaiting, amends, answers: answersSeq, agreed };
    return { ...standing, text: this.standingText(standing) };
  }

  private standingText(s: Omit<Standing, 'text'>): string {
    if (s.kind === 'position') return `position of ${s.by}`;
    if (s.kind === 'action') return `action for ${s.statement.owner || 'no one named'} by ${s.statement.due || 'no date'}, by ${s.by}`;
    if (s.kind === 'decline') return `${s.by}'s reason for declining entry ${String(s.answers)}`;
    const amends = s.amends === null ? '' : `, amending entry ${s.amends}`;
    if (s.agreed) return `agreed by ${listOf([...s.agreedBy].sort(byCodePoint))}${amends}`;
    if (s.declinedBy.length > 0) {
      const reasons = s.declinedBy.map((d) => `declined by ${d.delegation}: ${d.reason}`).join('; ');
      return `position of ${s.by}, not agreed (${reasons})${amends}`;
    }
    const missing = this.log.delegations.filter((name) => !s.agreedBy.includes(name)).sort(byCodePoint);
    return `proposed by ${s.by}, not agreed (not signed by ${listOf(missing)})${amends}`;
  }

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async takeKey(recordKey: Bytes): Promise<RecordAlarm[]> {
    const keyId = await keyIdOf(recordKey);
    const summitKey = this.log.keyId;
    // Before the first entry, a grant's key replaces one this device made: the first grant the server took fixes the summit's.
    if (summitKey !== null && this.log.entries.length > 0 && !sameBytes(keyId, summitKey)) {
      throw new RecordError('wrong_key', "this record key is not the one the summit's entries name");
    }
    this.log.keyId = keyId;
    this.recordKey = recordKey;
    const fresh: RecordAlarm[] = [];
    for (const logged of this.log.entries) fresh.push(...(await this.decrypt(logged)));
    return fresh;
  }

  /** An entry at a position already held: the same one again is nothing, another is a fork. */
  private async again(entry: RecordEntry): Promise<RecordAlarm[]> {
    const held = this.log.entries[Number(entry.seq)];
    if (held === undefined || sameBytes(await entry.hash(), held.hash)) return [];
    return this.raise('forked', entry.seq, `the server sent another ${entry.entryKind} as entry ${entry.seq} than the ${describe(held)} this client holds: the log is forked`);
  }

  private async append(entry: RecordEntry, ciphertext: Bytes | null): Promise<RecordAlarm[]> {
    if (!sameBytes(entry.prev, this.log.head)) {
      return this.raise('forked', entry.seq, `entry ${entry.seq} (${entry.entryKind}) chains to another entry ${entry.seq - 1n} than the one this client holds: the log is forked`);
    }
    let logged: LoggedEntry;
    try {
      logged = await this.log.check(entry, ciphertext, this.book);
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      return this.raise('altered', entry.seq, `entry ${entry.seq} (${entry.entryKind}) does not verify: ${e.message}: the server altered it`);
    }
    this.log.append(logged);
    return [...(await this.decrypt(logged)), ...this.compareExpected()];
  }

  private async decrypt(logged: LoggedEntry): Promise<RecordAlarm[]> {
    const { entry, ciphertext } = logged;
    if (this.recordKey === null || ciphertext === null || !hasText(entry.entryKind) || this.statements.has(entry.seq)) return [];
    try {
      this.statements.set(entry.seq, await decryptStatement(this.recordKey, ciphertext, entry.commitment));
      return [];
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      return this.raise('altered', entry.seq, `the text of ${describe(logged)} does not verify: ${e.message}: the server altered it`);
    }
  }

  /**
   * The log grew: members' heads it has reached must name our hash at their length, and those
   * still beyond it give the server a new bound from now (`dropped` means no progress within it).
   */
  private compareExpected(): RecordAlarm[] {
    const fresh: RecordAlarm[] = [];
    for (const [length, expected] of this.expected) {
      if (length > this.log.length) {
        expected.since = this.now();
        continue;
      }
      this.expected.delete(length);
      fresh.push(...this.compare(expected.head));
    }
    return fresh;
  }

  private compare(head: RecordHead): RecordAlarm[] {
    const held = head.length === 0n ? ZEROS : (this.log.entries[Number(head.length) - 1]?.hash ?? ZEROS);
    if (sameBytes(held, head.head)) return [];
    return this.raise('forked', head.length - 1n, `user ${head.userId} holds another entry ${head.length - 1n} (${hex(head.head).slice(0, 16)}…) than this client: the server forked the log`);
  }

  private check(): RecordAlarm[] {
    const now = this.now();
    const fresh: RecordAlarm[] = [];
    if (this.gapSince !== null && now - this.gapSince >= this.bound) {
      const later = [...this.pending.keys()].sort((a, b) => (a < b ? -1 : 1))[0] ?? this.log.length;
      fresh.push(...this.raise('dropped', this.log.length, `entry ${this.log.length} never arrived though entry ${later} did: the server dropped it`));
      this.gapSince = null; // raised once; if it comes after all, it is reordered
    }
    const due = [...this.expected.values()].filter(({ since }) => now - since >= this.bound);
    const head = due.reduce<RecordHead | null>((longest, e) => (longest === null || e.head.length > longest.length ? e.head : longest), null);
    if (head !== null) {
      fresh.push(...this.raise('dropped', this.log.length, `user ${head.userId} holds ${head.length} entries; the server delivered ${this.log.length} to this client: it dropped entry ${this.log.length}`));
    }
    return fresh;
  }

  private raise(kind: RecordAlarmKind, seq: bigint | null, text: string): RecordAlarm[] {
    const key = `${kind} ${String(seq)}`;
    if (this.raised.has(key)) return [];
    this.raised.add(key);
    const alarm = { kind, seq, text };
    this.alarms.push(alarm);
    return [alarm];
  }
}
