/**
 * The browser's side of the record (docs/record.md), as the SDK's `RecordDesk` is the SDK's: it
 * sits between the call (which forwards the record ops and the identity documents the server
 * relays) and the sans-IO parts (`RecordView`, `RecordLog`, `SignerBook`).
 *
 * - It trusts the pins only as its own delegation signed them (`verifyPins` with the fingerprint
 *   of the link), a certificate only if it verifies for this summit and its issuer is pinned, a
 *   grant of the record key only if a certified member signed it.
 * - On `record_state` it reads the log page by page (`record_read`); entries relayed meanwhile wait
 *   until it has caught up, then go to the view in order. The view's alarms go to the call.
 * - The record key: the first reader to find the record without one makes it and grants it to
 *   itself; every holder grants it to the readers and the pinned delegations the state names.
 * - Writing: at the end of the log as this copy knows it; `record_conflict` means wait for what
 *   came and write again there. A signed head goes out once a burst of entries has passed, and a
 *   signer seals by itself once the record is closed.
 *
 * The device key stays in the DAVE worker: `Ports.sign` asks it for a signature over a record
 * document, `Ports.openGrant` for `R` out of this device's grant. Everything here runs one input at
 * a time (`serial`), in the order the server sent it.
 */

import type { RecordState } from '../generated/codes';
import type { RecordEntryData, RecordStateData, ServerOp } from '../generated/wire';
import { DeviceCertificate, verifyCertificate } from '../identity/certificate';
import type { DeviceSigner } from '../identity/deviceKey';
import { hex, sameBytes, unbase64url, type Bytes } from '../identity/encoding';
import { Fingerprint } from '../identity/fingerprint';
import { PinSet, verifyPins, type Pins } from '../identity/pins';
import { RevocationBook, RevocationList } from '../identity/revocation';
import { base64url } from '../e2ee/mlsWire';
import type { RecordDocument } from '../e2ee/recordSigning';
import { RequestFailed, type AnswerTo, type RequestMessage } from '../requests';
import { RecordEntry, signEntry, ZEROS, type EntryKind } from './entry';
import { RecordHead, signHead } from './head';
import { encryptStatement, grantToDelegation, grantToDevice, keyIdOf, newRecordKey, RecordGrant } from './keys';
import { readoutHtml, readoutJson, readoutOf } from './readout';
import { SignerBook, SignerList } from './signers';
import { Statement } from './statement';
import { RecordView, type RecordAlarm, type Standing } from './view';

/** Heads go out once a burst of entries has passed, not once per entry. */
export const HEAD_DELAY_MS = 200;
/** A busy record: other signers' entries may take the place this many times before a write gives up. */
export const APPEND_ATTEMPTS = 20;
/** How long a write waits for the log to catch up, or to show its own entry. */
export const WAIT_MS = 15_000;

export type RecordRequestOp = 'record_append' | 'record_read' | 'record_grant' | 'record_head' | 'record_close';
export type RecordOp = Extract<ServerOp, { op: 'record_entry' | 'record_grant' | 'record_head' | 'record_state' | 'signers' }>;

/** What the session needs from the call and the worker (the fake server of the unit tests gives the same). */
export interface Ports {
  request<K extends RecordRequestOp>(op: K, d: RequestMessage<K>['d']): Promise<AnswerTo<K>>;
  /** The device's signer for one kind of record document (the worker's: it signs nothing else). */
  sign(document: RecordDocument): DeviceSigner;
  /** `R` from a grant to this device (its text), opened where the device key is. */
  openGrant(text: string): Promise<Bytes>;
  alarm(alarm: RecordAlarm): void;
  changed(): void;
  /** Keep this device's own copy of the record (its readout's JSON), after each burst of entries. */
  keep(readout: string): void;
  /** The DAVE epoch this device is in now (an entry names it). */
  epoch(): bigint;
  /** Unix milliseconds. */
  now(): number;
  /** Run `run` in `ms`; the handle cancels it. */
  later(ms: number, run: () => void): () => void;
}

export interface SessionSetup {
  summitId: string;
  userId: number;
  /** This device's DAVE key (65 bytes): its certificate names it, its grants are sealed to it. */
  deviceKey: Bytes;
  /** The own delegation's key fingerprint, from the link: the only key whose pins this device trusts. */
  own: string;
}

/** A write the device cannot make (not a signer, no such outcome, the record moved on too often). */
export class RecordWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordWriteError';
  }
}

interface Waiter {
  ready: () => boolean;
  resolve: () => void;
}

export class RecordSession {
  state: RecordStateData | null = null;
  /** Documents the server relayed that were refused, and why (for logs and tests; never texts). */
  readonly refused: string[] = [];
  private pins: Pins | null = null;
  private book: SignerBook | null = null;
  private view: RecordView | null = null;
  private readonly revocations: RevocationBook;
  private readonly certificates = new Map<number, DeviceCertificate>(); // user id -> its latest
  private readonly early: (() => Promise<void>)[] = []; // record ops before the pins were trusted
  private caughtUp = false;
  private reading = false;
  private held: RecordEntryData[] = [];
  private made: Bytes | null = null; // a key this device made, until its grant comes back
  private readonly granting = new Set<string>();
  private headTimer: (() => void) | null = null;
  private tickTimer: (() => void) | null = null;
  private readonly waiters = new Set<Waiter>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly setup: SessionSetup,
    private readonly ports: Ports,
  ) {
    this.revocations = new RevocationBook(setup.summitId);
  }

  // -- what it holds ---------------------------------------------------------------------------

  /** The pins are trusted and the log is being kept. */
  get ready(): boolean {
    return this.view !== null;
  }

  get caught(): boolean {
    return this.caughtUp;
  }

  get length(): number {
    return this.view?.log.entries.length ?? 0;
  }

  get hasKey(): boolean {
    return (this.view?.key ?? null) !== null;
  }

  get delegation(): string | null {
    return this.pins?.ownDelegation ?? null;
  }

  /** This device's certificate, as the server relayed it (a good one: its own delegation's, for its key). */
  get ownCertificate(): DeviceCertificate | null {
    const own = this.certificates.get(this.setup.userId);
    return own !== undefined && sameBytes(own.claim.deviceKey, this.setup.deviceKey) ? own : null;
  }

  /** May this device write (a principal, or on its delegation's signer list)? */
  get signer(): boolean {
    const own = this.ownCertificate;
    if (own === null || this.book === null) return false;
    try {
      this.book.signer(own.serial);
      return true;
    } catch {
      return false;
    }
  }

  get sealedBy(): string[] {
    return this.view === null ? [] : [...this.view.log.sealedBy].sort();
  }

  get sealed(): boolean {
    return this.view?.log.sealed ?? false;
  }

  get recordState(): RecordState | null {
    return this.state?.state ?? null;
  }

  standings(): Standing[] {
    return this.view?.standings() ?? [];
  }

  /** Outcomes of other delegations this device's delegation has neither signed nor declined. */
  awaiting(): Standing[] {
    const mine = this.delegation;
    if (mine === null) return [];
    return this.standings().filter((s) => s.kind === 'outcome' && s.by !== mine && s.awaiting.includes(mine));
  }

  /** The readout of the record as this device holds it: the canonical JSON and the printable page. */
  export(): { json: string; html: string } {
    const view = this.view;
    const delegation = this.delegation;
    if (view === null || delegation === null) throw new RecordWriteError('the record is not open on this device');
    const readout = readoutOf(view, delegation);
    return { json: readoutJson(readout), html: readoutHtml(readout, view.standings(), view.log.sealed) };
  }

  /** The connection is gone: timers stop, writes in flight fail. */
  close(): void {
    this.closed = true;
    this.headTimer?.();
    this.tickTimer?.();
    this.headTimer = this.tickTimer = null;
  }

  // -- from the server -----------------------------------------------------------------------

  /** The own delegation's pin set (`ready.pin_set`, a `pins` op): the first one trusted opens the record. */
  pinSet(text: string | null): Promise<void> {
    if (text === null) return Promise.resolve();
    return this.serial(async () => {
      try {
        this.pins = await verifyPins(PinSet.fromText(text), new Fingerprint(this.setup.own), this.setup.summitId, this.pins);
      } catch (e) {
        this.refuse('pins', e);
        return;
      }
      if (this.view !== null) return; // the record's delegations are fixed by the first pins trusted
      this.book = new SignerBook(this.setup.summitId, this.pins);
      this.view = new RecordView(this.setup.summitId, [...this.pins.byName.keys()], this.book, () => this.ports.now());
      for (const certificate of this.certificates.values()) await this.admit(certificate, this.ports.now() / 1000);
      for (const run of this.early.splice(0)) await run();
    });
  }

  /** A member's certificate (the `certificate` op). */
  addCertificate(userId: number, text: string): Promise<void> {
    return this.serial(async () => {
      let certificate: DeviceCertificate;
      try {
        certificate = DeviceCertificate.fromText(text);
      } catch (e) {
        this.refuse('certificate', e);
        return;
      }
      if (certificate.claim.userId !== userId) return; // relayed under another user id
      this.certificates.set(userId, certificate);
      await this.admit(certificate, this.ports.now() / 1000);
    });
  }

  revocationList(text: string): Promise<void> {
    return this.serial(async () => {
      try {
        await this.revocations.accept(RevocationList.fromText(text));
      } catch (e) {
        this.refuse('revocations', e);
      }
    });
  }

  /** A record op the server relayed. */
  receive(op: RecordOp): Promise<void> {
    return this.serial(async () => {
      if (this.view === null) {
        this.early.push(() => this.take(op));
        return;
      }
      await this.take(op);
    });
  }

  private async take(op: RecordOp): Promise<void> {
    try {
      switch (op.op) {
        case 'record_state':
          this.onState(op.d);
          break;
        case 'record_entry':
          if (this.caughtUp) await this.entry(op.d);
          else this.held.push(op.d);
          break;
        case 'record_grant':
          await this.onGrant(RecordGrant.fromText(op.d.grant));
          break;
        case 'record_head':
          await this.onHead(op.d.user_id, RecordHead.fromText(op.d.head));
          break;
        case 'signers':
          await this.need(this.book).acceptList(SignerList.fromText(op.d.signer_list));
          break;
      }
    } catch (e) {
      this.refuse(op.op, e);
    }
    this.settle();
  }

  private onState(state: RecordStateData): void {
    this.state = state;
    if (!this.reading && !this.caughtUp) {
      this.reading = true;
      void this.catchUp();
    }
    const own = this.ownCertificate;
    if (state.key_id === '' && !this.hasKey && this.made === null && own !== null) {
      const made = newRecordKey();
      this.made = made;
      void this.grant(made, { device: this.setup.deviceKey }, 'self');
    } else if (this.made !== null && state.key_id !== '') {
      const made = this.made;
      void keyIdOf(made).then((id) => {
        if (base64url(id) !== state.key_id && this.made === made) this.made = null; // another's key came first: its grant comes
      });
    }
    this.grantMissing();
    this.sealIfDue();
  }

  private async onGrant(grant: RecordGrant): Promise<void> {
    const view = this.need(this.view);
    const granter = view.book.device(grant.granter); // only good, pinned certificates are in the book
    if (!(await grant.verify(granter.deviceKey))) throw new RangeError('a grant of the record key not signed by the certified member it names');
    const key = await this.ports.openGrant(grant.toText());
    if (view.key !== null) {
      if (!sameBytes(await keyIdOf(view.key), await keyIdOf(key))) throw new RangeError('a second, different record key');
      return;
    }
    this.alarms(await view.holdKey(key));
    this.made = null;
    this.grantMissing();
    this.sealIfDue();
  }

  private async onHead(userId: number, head: RecordHead): Promise<void> {
    if (head.userId !== userId) throw new RangeError(`user ${head.userId}'s head relayed as user ${userId}'s`);
    const member = this.certificates.get(userId);
    if (member === undefined || !(await this.good(member, this.ports.now() / 1000))) throw new RangeError(`a head from user ${userId}, who has no good certificate here`);
    this.alarms(await this.need(this.view).receiveHead(head, member.claim.deviceKey));
    this.wake();
  }

  // -- the log -------------------------------------------------------------------------------

  /** Read the log from the start, page by page, then take what was relayed meanwhile. */
  private async catchUp(): Promise<void> {
    let length = 0;
    try {
      for (;;) {
        const page = await this.ports.request('record_read', { from_seq: length });
        await this.serial(async () => {
          for (const data of page.d.entries) await this.entry(data);
        });
        length += page.d.entries.length;
        if (page.d.entries.length === 0 || length >= page.d.length) break;
      }
    } catch (e) {
      this.reading = false;
      this.refuse('record_read', e);
      return;
    }
    await this.serial(async () => {
      this.caughtUp = true;
      this.reading = false;
      for (const data of this.held.splice(0)) await this.entry(data);
      this.sendHead();
      this.grantMissing();
      this.sealIfDue();
      this.settle();
    });
  }

  private async entry(data: RecordEntryData): Promise<void> {
    const view = this.need(this.view);
    let entry: RecordEntry;
    let ciphertext: Bytes | null;
    try {
      entry = RecordEntry.fromText(data.entry);
      ciphertext = data.ciphertext === '' ? null : unbase64url(data.ciphertext);
      // The signer's certificate, judged at the entry's time (the log outlives a certificate).
      await this.admit(DeviceCertificate.fromText(data.certificate), Number(entry.time) / 1000);
    } catch (e) {
      this.refuse('record_entry', e);
      return;
    }
    const before = view.log.entries.length;
    this.alarms(await view.receiveEntry(entry, ciphertext));
    this.wake();
    if (view.log.entries.length > before && this.caughtUp) {
      this.sendHead();
      this.sealIfDue();
    }
    this.settle();
  }

  /** A certificate into the book if it is good at `at` (Unix seconds) and pinned for its delegation. */
  private async admit(certificate: DeviceCertificate, at: number): Promise<void> {
    if (this.book === null || !(await this.good(certificate, at))) return;
    const delegation = this.pins?.delegationOf(await Fingerprint.of(certificate.issuer));
    if (delegation !== null && delegation !== undefined) this.book.addCertificate(certificate, delegation);
  }

  private async good(certificate: DeviceCertificate, at: number): Promise<boolean> {
    if (this.pins === null) return false;
    try {
      await verifyCertificate(certificate, this.setup.summitId, at, this.revocations);
    } catch {
      return false;
    }
    return this.pins.delegationOf(await Fingerprint.of(certificate.issuer)) !== null;
  }

  private sendHead(): void {
    if (this.headTimer !== null || this.closed) return;
    this.headTimer = this.ports.later(HEAD_DELAY_MS, () => {
      this.headTimer = null;
      void this.serial(async () => {
        const view = this.view;
        if (view === null || this.closed) return;
        const head = await signHead(this.setup.summitId, view.log.length, view.log.head, this.setup.userId, this.ports.sign('head'));
        this.ports.request('record_head', { head: head.toText() }).catch((e: unknown) => this.refuse('record_head', e));
        this.keepCopy();
      });
    });
  }

  /** This device's own copy, once it holds the key (an entry whose text it cannot open keeps the last copy). */
  private keepCopy(): void {
    if (this.view?.key == null) return;
    try {
      this.ports.keep(this.export().json);
    } catch (e) {
      console.warn(`parley: the record's copy was not kept: ${String(e)}`);
    }
  }

  /** The view's next deadline (a missing entry's bound): tick then. */
  private wake(): void {
    const at = this.view?.deadline() ?? null;
    this.tickTimer?.();
    this.tickTimer = null;
    if (at === null || this.closed) return;
    this.tickTimer = this.ports.later(Math.max(0, at - this.ports.now()), () => {
      this.tickTimer = null;
      void this.serial(async () => {
        this.alarms(this.view?.tick() ?? []);
        this.wake();
      });
    });
  }

  private alarms(alarms: readonly RecordAlarm[]): void {
    for (const alarm of alarms) this.ports.alarm(alarm);
  }

  // -- the record key ------------------------------------------------------------------------

  private grantMissing(): void {
    const key = this.view?.key ?? null;
    const state = this.state;
    if (key === null || state === null || this.ownCertificate === null) return;
    for (const userId of state.ungranted_devices) {
      const member = this.certificates.get(userId);
      if (member === undefined || member.claim.role === 'press') continue;
      void this.good(member, this.ports.now() / 1000).then((ok) => {
        if (ok) this.grantOnce(key, { device: member.claim.deviceKey });
      });
    }
    for (const name of state.ungranted_delegations) {
      const issuer = [...this.certificates.values()].find((c) => c.claim.delegation === name)?.issuer;
      if (issuer === undefined) continue;
      void Fingerprint.of(issuer).then((fingerprint) => {
        if (this.pins?.byName.get(name)?.equals(fingerprint) === true) this.grantOnce(key, { delegation: issuer });
      });
    }
  }

  private grantOnce(key: Bytes, to: { device: Bytes } | { delegation: Bytes }): void {
    const tag = hex('device' in to ? to.device : to.delegation);
    if (this.granting.has(tag)) return;
    this.granting.add(tag);
    void this.grant(key, to, tag);
  }

  private async grant(key: Bytes, to: { device: Bytes } | { delegation: Bytes }, tag: string): Promise<void> {
    const own = this.ownCertificate;
    if (own === null) return;
    const sign = this.ports.sign('grant');
    try {
      const grant = 'device' in to
        ? await grantToDevice(key, this.setup.summitId, to.device, own.serial, sign)
        : await grantToDelegation(key, this.setup.summitId, to.delegation, own.serial, sign);
      await this.ports.request('record_grant', { grant: grant.toText() });
    } catch (e) {
      this.granting.delete(tag);
      this.refuse('record_grant', e);
    }
  }

  // -- writing -------------------------------------------------------------------------------

  /** This delegation's position: the seq of its entry. */
  position(text: string): Promise<bigint> {
    return this.write('position', Statement.make(text));
  }

  /** An outcome for every delegation to sign (this delegation's signature is the proposal); `amends`: the outcome it amends. */
  async propose(text: string, amends: bigint | null = null): Promise<bigint> {
    return this.write('outcome', Statement.make(text), amends === null ? ZEROS : this.outcome(amends));
  }

  action(what: string, owner: string, due: string): Promise<bigint> {
    return this.write('action', Statement.make(what, owner, due));
  }

  /** Sign another delegation's outcome: the very bytes its entry commits to. */
  sign(outcome: bigint): Promise<bigint> {
    return this.write('sign', null, this.outcome(outcome));
  }

  decline(outcome: bigint, reason: string): Promise<bigint> {
    return this.write('decline', Statement.make(reason), this.outcome(outcome));
  }

  /** This delegation's seal of the log's head (the record must be closed). */
  seal(): Promise<bigint> {
    const log = this.need(this.view).log;
    return this.write('seal', null, log.sealedHead ?? log.head);
  }

  /** Host: the record takes only the signers' seals from now on. */
  async closeRecord(): Promise<void> {
    await this.ports.request('record_close', {});
  }

  private outcome(seq: bigint): Bytes {
    const logged = this.view?.log.entries[Number(seq)];
    if (logged === undefined || logged.entry.entryKind !== 'outcome') throw new RecordWriteError(`entry ${seq} is no outcome of this record`);
    return logged.hash;
  }

  private sealIfDue(): void {
    const mine = this.delegation;
    const log = this.view?.log;
    if (this.state?.state !== 'closed' || !this.caughtUp || !this.signer || mine === null || log === undefined || log.sealedBy.has(mine) || !this.hasKey) return;
    if (this.granting.has('seal')) return;
    this.granting.add('seal'); // one seal in flight at a time
    this.seal()
      .catch((e: unknown) => this.refuse('seal', e)) // another signer of this delegation sealed first
      .finally(() => this.granting.delete('seal'));
  }

  private async write(kind: EntryKind, statement: Statement | null, refers: Bytes = ZEROS): Promise<bigint> {
    if (!this.signer) throw new RecordWriteError('this device is not a signer of its delegation: it cannot write in the record');
    await this.until(() => this.caughtUp && this.hasKey);
    const own = this.need(this.ownCertificate);
    for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
      const view = this.need(this.view);
      const key = this.need(view.key);
      const seq = view.log.length;
      const entry = await signEntry(
        {
          summitId: this.setup.summitId,
          seq,
          prev: view.log.head,
          entryKind: kind,
          refers,
          commitment: statement === null ? ZEROS : await statement.commitment(),
          keyId: await keyIdOf(key),
          epoch: this.ports.epoch(),
          time: BigInt(Math.floor(this.ports.now())),
          signer: own.serial,
        },
        this.ports.sign('entry'),
      );
      const ciphertext = statement === null ? '' : base64url(await encryptStatement(key, statement));
      try {
        await this.ports.request('record_append', { entry: entry.toText(), ciphertext });
      } catch (e) {
        if (!(e instanceof RequestFailed) || e.code !== 'record_conflict') throw e;
        await this.until(() => view.log.length > seq); // the entries that took the place
        continue;
      }
      // The entry is relayed to this device before the `ok` (one socket, in order).
      await this.until(() => view.log.length > seq);
      const held = view.log.entries[Number(seq)];
      if (held === undefined || !sameBytes(held.hash, await entry.hash())) throw new RecordWriteError(`entry ${seq} in this copy is not the one this device wrote`);
      return seq;
    }
    throw new RecordWriteError(`the record kept moving: ${APPEND_ATTEMPTS} attempts to write were overtaken`);
  }

  // -- plumbing ------------------------------------------------------------------------------

  /** Until `ready()` holds (checked after every input), or RecordWriteError after WAIT_MS. */
  private until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { ready, resolve: () => undefined };
      const cancel = this.ports.later(WAIT_MS, () => {
        this.waiters.delete(waiter);
        reject(new RecordWriteError('the record did not come in time: is this device still connected?'));
      });
      waiter.resolve = () => {
        cancel();
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  /** Something changed: waiting writes look again, and the page redraws. */
  private settle(): void {
    for (const waiter of this.waiters) {
      if (waiter.ready()) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
    this.ports.changed();
  }

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private need<T>(value: T | null | undefined): T {
    if (value === null || value === undefined) throw new RecordWriteError('the record is not open on this device yet');
    return value;
  }

  private refuse(what: string, e: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    this.refused.push(`${what}: ${why}`);
    console.warn(`parley: record: ${what} refused: ${why}`);
  }
}
