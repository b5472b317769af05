/**
 * Certified mode, in the DAVE worker (docs/identity.md): every member of every epoch this device
 * enters is checked against the certificates, revocation lists and pins received, and outgoing
 * media is held until the epoch passes.
 *
 * The guard takes what the page forwards (the pin set, certificates, revocation lists,
 * attestations, the roster) and what the DAVE member tells it (each Add proposal's key, each epoch
 * entered); it answers with `held` (read by `encrypt` for every frame, so a plain field), whether
 * a user id may be recognised for proposals, alarms, the attestations to send, and a view for the
 * page. Leaf keys: an Add proposal carries the key (read by mlsWire). davey shows no key of a member
 * already in the group at a welcome; such a member's key is the certified key whose holder attested
 * this very epoch (`attestedKey`): only members know the epoch authenticator, an honest member's
 * leaf bears the user id its own key signed in its key package, and no user id is in the group
 * twice (else `user_id_twice`), so the one leaf with that user id holds that key. Until its
 * attestation comes such a member is awaited (media held, no verdict shown); one that never
 * attests is named `attestation_silent` at the bound. A member whose key is known neither way is
 * checked with no key, and fails as `key_mismatch`.
 *
 * Its work runs one item at a time (`work`): an epoch check started before a newer epoch or
 * document counts only if nothing changed meanwhile; then it runs again.
 */

import { AttestationTracker, attest, EpochAttestation, type AttestationAlarm } from '../identity/attestation';
import { DeviceCertificate, verifyCertificate } from '../identity/certificate';
import { type DeviceSigner } from '../identity/deviceKey';
import { sameBytes, type Bytes } from '../identity/encoding';
import { checkEpoch, type EpochCheck, type RosterEntry } from '../identity/epochCheck';
import { Fingerprint } from '../identity/fingerprint';
import { PinSet, verifyPins, type Pins } from '../identity/pins';
import { IdentityError } from '../identity/problems';
import { RevocationBook, RevocationList } from '../identity/revocation';
import type { IdentitySetup, IdentityView, RosterPerson } from './messages';

/** Certificates kept per user id: the server sends the latest; a few more cover a renewal. */
export const CERTIFICATES_PER_USER = 4;
/** A member that left the roster is judged by its last entry this long (its removal commit is under way; see membership.ts). */
export const LEAVING_GRACE_MS = 15_000;

export type IdentityAlarmReason = 'uncertified' | 'attestation_mismatch' | 'attestation_silent' | 'pins';

export interface IdentityEvents {
  alarm(reason: IdentityAlarmReason, detail: string, userId: string | null): void;
  /** Send this attestation (`attest`). */
  attest(text: string): void;
  /** The view changed. */
  changed(view: IdentityView): void;
}

interface Epoch {
  epoch: bigint;
  authenticator: Bytes;
  userIds: readonly string[];
  /** Seconds (the attestation tracker's clock). */
  enteredAt: number;
}

const NO_KEY = new Uint8Array(0);

export class IdentityGuard {
  /** Read for every outgoing frame: hold it? True from the moment an epoch is entered until it passes. */
  held = true;
  private readonly own: Fingerprint;
  private pins: Pins | null = null;
  private pinsState: IdentityView['pins'] = 'missing';
  private readonly certificates = new Map<string, DeviceCertificate[]>();
  private readonly revocations: RevocationBook;
  private roster = new Map<string, RosterPerson>();
  private readonly departed = new Map<string, { person: RosterPerson; at: number }>();
  /** Leaf keys from Add proposals. */
  private readonly addKeys = new Map<string, Bytes>();
  /** Leaf keys proven by an attestation in the current group (cleared at a welcome): a leaf's key changes only by an Add. */
  private proven = new Map<string, Bytes>();
  /** User ids with a certificate that verifies and is pinned for its delegation: the keys those certify. */
  private recognisable = new Map<string, Bytes[]>();
  /** User ids whose latest Add carried a key none of their good certificates is for: never committed. */
  private readonly foreignAdds = new Set<string>();
  private epoch: Epoch | null = null;
  /** The epoch the tracker was entered at, and the certified key it verifies each member of unknown key by. */
  private tracked: { epoch: Epoch; byAttestation: Map<string, Bytes> } | null = null;
  private check: EpochCheck | null = null;
  /** Members of the checked epoch whose key waits for their attestation: their verdicts are not shown or alarmed yet. */
  private awaited = new Set<string>();
  private checking = false;
  private attestationAlarm = false;
  private readonly tracker: AttestationTracker;
  private readonly raised = new Set<string>();
  private work: Promise<void> = Promise.resolve();
  /** Bumped by every input an epoch check reads: a check that ran across one is run again. */
  private version = 0;

  constructor(
    readonly setup: IdentitySetup,
    private readonly sign: DeviceSigner,
    private readonly selfKey: Bytes,
    private readonly events: IdentityEvents,
    private readonly now: () => number = () => Date.now(),
    /** Runs `tick` at the attestations' deadline (tests step the clock and tick by hand). */
    private readonly wake: (ms: number, tick: () => void) => void = (ms, tick) => void setTimeout(tick, ms),
  ) {
    this.own = new Fingerprint(setup.own);
    this.revocations = new RevocationBook(setup.summitId);
    this.tracker = new AttestationTracker(setup.summitId, Number(setup.selfId));
  }

  // -- documents (awaited by the worker's queue, so a certificate counts before the Add that follows it) --

  /** The own delegation's pin set (`ready.pin_set`, or a `pins` op); null: there is none. */
  async setPinSet(text: string | null): Promise<void> {
    if (text === null) {
      if (this.pins === null) this.alarm('pins', 'its delegation has published no pin set for this summit', null);
      this.changed();
      return;
    }
    let trusted: Pins;
    try {
      trusted = await verifyPins(PinSet.fromText(text), this.own, this.setup.summitId, this.pins);
    } catch (e) {
      if (!(e instanceof IdentityError) && !(e instanceof RangeError)) throw e;
      if (this.pins === null) this.pinsState = 'refused';
      this.alarm('pins', `a pin set was refused: ${e.message}`, null);
      this.changed();
      return;
    }
    this.pins = trusted;
    this.pinsState = samePins(trusted, this.setup.summitPins) ? 'trusted' : 'differ';
    if (this.pinsState === 'differ') {
      this.alarm('pins', `the summit shows other pins than this device's delegation signed (${describePins(this.setup.summitPins)})`, null);
    }
    await this.refreshRecognisable();
    this.recheck();
  }

  /** A member's certificate (the `certificate` op, or this device's own). */
  async addCertificate(userId: string, text: string): Promise<void> {
    let certificate: DeviceCertificate;
    try {
      certificate = DeviceCertificate.fromText(text);
    } catch (e) {
      if (e instanceof IdentityError || e instanceof RangeError) return; // unreadable: as if never sent
      throw e;
    }
    if (String(certificate.claim.userId) !== userId) return; // relayed under another user id: ignored
    const held = (this.certificates.get(userId) ?? []).filter((c) => c.toText() !== certificate.toText());
    this.certificates.set(userId, [certificate, ...held].slice(0, CERTIFICATES_PER_USER));
    await this.refreshRecognisable();
    this.recheck();
  }

  async addRevocations(text: string): Promise<void> {
    try {
      if (!(await this.revocations.accept(RevocationList.fromText(text)))) return;
    } catch (e) {
      if (e instanceof IdentityError || e instanceof RangeError) return; // forged, stale, another summit's
      throw e;
    }
    await this.refreshRecognisable();
    this.recheck();
  }

  /**
   * An attestation relayed from another member. It is judged at the time it came, not when its
   * turn in the queue comes: behind other work it would otherwise count as late. One that proves
   * the key of an awaited member runs the check again.
   */
  receiveAttestation(text: string): void {
    const received = this.seconds();
    this.enqueue(async () => {
      let attestation: EpochAttestation;
      try {
        attestation = EpochAttestation.fromText(text);
        this.attestationAlarms(await this.tracker.receive(attestation, received));
      } catch (e) {
        if (e instanceof IdentityError || e instanceof RangeError) return; // counts for nothing
        throw e;
      }
      if (this.awaited.has(String(attestation.userId)) && this.attestedKey(String(attestation.userId)) !== null) this.recheck();
    });
  }

  setRoster(people: readonly RosterPerson[]): void {
    const now = this.now();
    const next = new Map(people.map((p) => [p.userId, p]));
    for (const [id, person] of this.roster) if (!next.has(id)) this.departed.set(id, { person, at: now });
    for (const id of next.keys()) this.departed.delete(id);
    this.roster = next;
    this.recheck();
  }

  // -- the DAVE member's side (synchronous: called inside its op handling) --------------------

  /** May `userId` be recognised for proposals? Only a user id with a good certificate, whose latest Add carries the key it certifies. */
  recognises(userId: string): boolean {
    return this.recognisable.has(userId) && !this.foreignAdds.has(userId);
  }

  /**
   * An Add proposal for `userId` carrying `key`: its leaf key, should it be committed (by anyone:
   * the latest Add's key is the one checked, so a key the server made is never taken for the
   * certified one). A certified user id with another key (a key swapped in, a removed member
   * back with a new key, a user id twice) is not recognised, so this device does not commit it.
   */
  recordAdd(userId: string, key: Bytes): void {
    this.addKeys.set(userId, key);
    const certified = this.recognisable.get(userId);
    if (certified === undefined) {
      this.alarm('uncertified', `the server proposed user ${userId} for the key group without a valid certificate; this device does not add it`, userId);
    } else if (!certified.some((k) => sameBytes(k, key))) {
      this.foreignAdds.add(userId);
      this.alarm('uncertified', `the server proposed user ${userId} for the key group with another key than its certificate is for; this device does not add it`, userId);
    } else {
      this.foreignAdds.delete(userId);
    }
  }

  /** This device entered an epoch (a commit or welcome): hold until it passes. */
  enterEpoch(epoch: bigint, authenticator: Bytes, userIds: readonly string[], welcome: boolean): void {
    if (welcome) this.proven = new Map();
    this.epoch = { epoch, authenticator, userIds, enteredAt: this.seconds() };
    this.check = null;
    this.awaited = new Set();
    this.attestationAlarm = false;
    this.version += 1;
    this.updateHeld();
    const entered = this.epoch;
    this.enqueue(async () => {
      // Attest first: the others' bound runs from their own entry, not from our check.
      const signed = await attest(this.setup.summitId, entered.epoch, entered.authenticator, Number(this.setup.selfId), this.sign);
      if (this.epoch === entered) this.events.attest(signed.toText());
    });
    this.recheck();
  }

  /** This device left its group (a reset): nothing to check until the next epoch; media waits. */
  leaveGroup(): void {
    this.epoch = null;
    this.check = null;
    this.awaited = new Set();
    this.version += 1;
    this.updateHeld();
  }

  /**
   * At the attestations' deadline (and on the worker's timer): attestations not received within
   * the bound raise `attestation_silent`. Judged at the time of the tick, like an attestation at
   * the time it came: those received before it are queued before it.
   */
  tick(): void {
    const at = this.seconds();
    this.enqueue(async () => {
      this.attestationAlarms(this.tracker.tick(at));
    });
  }

  /** Resolves once no work (checks, attestations) is queued, including work queued meanwhile. */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.work;
      await seen;
    } while (seen !== this.work);
  }

  view(): IdentityView {
    // An awaited member's verdict (checked without its key) is not shown: it is "checking", and so is the whole.
    const shown = (this.check?.verdicts ?? []).filter((v) => !this.awaited.has(String(v.userId)));
    return {
      pins: this.pinsState,
      ownDelegation: this.pins?.ownDelegation ?? null,
      verdicts: shown.map((v) => ({ userId: String(v.userId), delegation: v.delegation, problem: v.problem, text: v.text })),
      summary: this.awaited.size > 0 ? null : (this.check?.summary() ?? null),
      held: this.held,
    };
  }

  // -- the check ------------------------------------------------------------------------------

  private seconds(): number {
    return this.now() / 1000;
  }

  private enqueue(job: () => Promise<void>): void {
    this.work = this.work.then(job).catch((e: unknown) => {
      // A fault of ours, not the server's input: hold media and say so, rather than pass unchecked.
      this.check = null;
      this.updateHeld();
      this.alarm('uncertified', `the identity check failed: ${e instanceof Error ? e.message : String(e)}`, null);
    });
  }

  /** Run the epoch check again (a new epoch, or an input it reads changed). */
  private recheck(): void {
    if (this.checking) {
      this.version += 1;
      return;
    }
    this.checking = true;
    this.enqueue(async () => {
      try {
        await this.runCheck();
      } finally {
        this.checking = false;
      }
    });
  }

  private async runCheck(): Promise<void> {
    for (;;) {
      const entered = this.epoch;
      const pins = this.pins;
      if (entered === null || pins === null) {
        this.updateHeld();
        this.changed();
        return;
      }
      const version = this.version;
      if (this.tracked?.epoch !== entered) await this.enterTracker(entered);
      const keys = new Map(entered.userIds.map((id) => [id, this.leafKey(id)]));
      const check = await this.checkLeaves(entered.userIds.map((id) => [Number(id), keys.get(id) ?? NO_KEY]), pins);
      if (version !== this.version || this.epoch !== entered) continue; // changed meanwhile: again
      this.check = check;
      // Awaited: its certificate fails only for want of its key, which its attestation will prove.
      const awaits = (id: string): boolean => keys.get(id) === null && this.tracked?.byAttestation.has(id) === true;
      this.awaited = new Set(check.alarms.filter((v) => v.problem === 'key_mismatch' && awaits(String(v.userId))).map((v) => String(v.userId)));
      for (const verdict of check.alarms) {
        if (!this.awaited.has(String(verdict.userId))) this.alarm('uncertified', verdict.text, String(verdict.userId));
      }
      this.updateHeld();
      this.changed();
      return;
    }
  }

  private checkLeaves(leaves: [number, Bytes][], pins: Pins): Promise<EpochCheck> {
    return checkEpoch({
      summitId: this.setup.summitId,
      leaves,
      certificates: [...this.certificates.values()].flat(),
      pins,
      revocations: this.revocations,
      roster: this.rosterEntries(),
      now: Math.floor(this.seconds()),
    });
  }

  /**
   * Requires an attestation of the epoch from every other member whose key this device knows or
   * can prove: a member of unknown key is required to attest under the key of its good
   * certificate (the newest: renewals keep the key), and that attestation, when it comes, is
   * what proves its leaf's key (`attestedKey`). Members with neither are named by the check.
   */
  private async enterTracker(entered: Epoch): Promise<void> {
    const members = new Map<number, Bytes>();
    const byAttestation = new Map<string, Bytes>();
    for (const id of entered.userIds) {
      const known = id === this.setup.selfId ? this.selfKey : (this.addKeys.get(id) ?? this.proven.get(id));
      const certified = this.recognisable.get(id)?.[0];
      if (known === undefined && certified !== undefined) byAttestation.set(id, certified);
      const key = known ?? certified;
      if (key !== undefined) members.set(Number(id), key);
    }
    this.tracked = { epoch: entered, byAttestation };
    this.attestationAlarms(await this.tracker.enterEpoch(entered.epoch, entered.authenticator, members, entered.enteredAt));
    // A member silent at the bound is named then, not at the next periodic tick.
    const deadline = this.tracker.deadline(this.seconds());
    if (deadline !== null) this.wake(Math.max(0, deadline * 1000 - this.now()) + 1, () => this.tick());
  }

  /** The key the leaf of `userId` holds, as far as this device can tell (null: unknown). */
  private leafKey(userId: string): Bytes | null {
    if (userId === this.setup.selfId) return this.selfKey;
    return this.addKeys.get(userId) ?? this.proven.get(userId) ?? this.attestedKey(userId);
  }

  /**
   * The certified key whose holder attested this epoch's authenticator as `userId` (the tracker
   * verified it under that key), kept as proven; null until then, or if it attested another too.
   */
  private attestedKey(userId: string): Bytes | null {
    const tracked = this.tracked;
    const key = tracked?.byAttestation.get(userId);
    if (tracked === null || key === undefined || tracked.epoch !== this.epoch) return null;
    if (this.tracker.states(this.seconds()).get(Number(userId)) !== 'attested') return null;
    this.proven.set(userId, key);
    return key;
  }

  private rosterEntries(): Map<number, RosterEntry> {
    const now = this.now();
    const entries = new Map<number, RosterEntry>();
    for (const [id, { person, at }] of this.departed) {
      if (now - at < LEAVING_GRACE_MS) entries.set(Number(id), entryOf(person));
      else this.departed.delete(id);
    }
    for (const [id, person] of this.roster) entries.set(Number(id), entryOf(person));
    return entries;
  }

  /** The user ids a good certificate names (signature, summit, validity, revocation, pinned for its delegation). */
  private async refreshRecognisable(): Promise<void> {
    const pins = this.pins;
    const next = new Map<string, Bytes[]>();
    if (pins !== null) {
      const now = Math.floor(this.seconds());
      for (const [userId, certificates] of this.certificates) {
        for (const certificate of certificates) {
          try {
            await verifyCertificate(certificate, this.setup.summitId, now, this.revocations);
          } catch (e) {
            if (e instanceof IdentityError) continue;
            throw e;
          }
          if (pins.delegationOf(await certificate.issuerFingerprint()) === certificate.claim.delegation) {
            next.set(userId, [...(next.get(userId) ?? []), certificate.claim.deviceKey]);
          }
        }
      }
    }
    this.recognisable = next;
  }

  private attestationAlarms(alarms: readonly AttestationAlarm[]): void {
    for (const alarm of alarms) {
      if (alarm.epoch !== this.epoch?.epoch) continue;
      this.attestationAlarm = true;
      this.alarm(alarm.state === 'mismatch' ? 'attestation_mismatch' : 'attestation_silent', alarm.text, String(alarm.userId));
    }
    if (alarms.length > 0) {
      this.updateHeld();
      this.changed();
    }
  }

  private updateHeld(): void {
    this.held = this.pinsState !== 'trusted' || this.epoch === null || this.check === null || !this.check.certified || this.attestationAlarm;
  }

  /** Once per reason, member and text: a new reason for the same member is said too. */
  private alarm(reason: IdentityAlarmReason, detail: string, userId: string | null): void {
    const key = `${reason} ${userId ?? ''} ${detail}`;
    if (this.raised.has(key)) return;
    this.raised.add(key);
    this.events.alarm(reason, detail, userId);
  }

  private changed(): void {
    this.updateHeld();
    this.events.changed(this.view());
  }
}

function entryOf(person: RosterPerson): RosterEntry {
  return { delegationId: person.delegationId, delegation: person.delegation, role: person.role, people: person.people, language: person.language };
}

/** The organiser's pins (what the summit shows) say what the own delegation's pin set says. */
function samePins(pins: Pins, summitPins: Record<string, string>): boolean {
  const shown = Object.entries(summitPins);
  return shown.length === pins.byName.size && shown.every(([name, digits]) => pins.byName.get(name)?.digits === digits);
}

function describePins(summitPins: Record<string, string>): string {
  const shown = Object.entries(summitPins).map(([name, digits]) => `${name}: ${digits}`);
  return shown.length > 0 ? shown.join('; ') : 'none';
}
