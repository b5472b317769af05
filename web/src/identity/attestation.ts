/**
 * Epoch attestations: every member says, under its own key, which group it is in
 * (parley.identity.attestation). After each commit or welcome a member signs {summit, epoch,
 * epoch authenticator, its user id} with its DAVE signature key and sends it through the server;
 * every client requires one from every other member of the epoch it is in. A member attesting
 * another authenticator is a `mismatch` (the server split the group), one whose attestation does
 * not come within `ATTESTATION_BOUND` is `silent`. Signed with ECDSA P-256 SHA-256 (`r || s`)
 * over `"parley epoch attestation v1" || 0x00 || body`:
 *
 *     u8     version = 1
 *     text   summit_id
 *     u64    epoch
 *     opaque authenticator   the MLS epoch authenticator (what the group code shows), 1 to 64 bytes
 *     u64    user_id
 */

import { verifyDeviceSignature, type DeviceSigner } from './deviceKey';
import { concat, decode, decodeText, hex, isU64, SignedDocument, Writer, type Bytes, type Reader } from './encoding';
import { IdentityError } from './problems';

const LABEL = new TextEncoder().encode('parley epoch attestation v1\0');
export const MAX_AUTHENTICATOR = 64;
/** Every member receives a commit at once and its transition executes at most 2 s later (the gateway's transition timeout): a member that has not attested by then is not in our group. */
export const ATTESTATION_BOUND = 2; // s
/** Attestations further ahead than this many epochs are not kept. */
export const MAX_AHEAD = 4n;
/** Attestations kept for epochs ahead, in all (a server could send any number). */
export const MAX_WAITING = 1024;

export class EpochAttestation extends SignedDocument {
  static readonly KIND = 'parley-attestation';

  constructor(
    readonly summitId: string,
    readonly epoch: bigint,
    readonly authenticator: Bytes,
    readonly userId: number,
    signature: Bytes,
  ) {
    super(signature);
    if (!isU64(epoch) || !Number.isSafeInteger(userId) || userId < 1) throw new RangeError('an epoch is a u64, a user id from 1 to 2^53 - 1');
    if (authenticator.length < 1 || authenticator.length > MAX_AUTHENTICATOR) {
      throw new RangeError(`an epoch authenticator is 1 to ${MAX_AUTHENTICATOR} bytes`);
    }
  }

  get kind(): string {
    return EpochAttestation.KIND;
  }

  body(): Bytes {
    return new Writer().u8(SignedDocument.VERSION).text(this.summitId).u64(this.epoch).opaque(this.authenticator).u64(this.userId).bytes();
  }

  static readFields(reader: Reader, signature: Bytes): EpochAttestation {
    const summitId = reader.text('summit');
    const epoch = reader.u64('epoch');
    const authenticator = reader.opaque('authenticator');
    const userId = reader.u64('user id');
    if (userId >= 1n << 53n) throw new RangeError('an epoch is a u64, a user id from 1 to 2^53 - 1');
    return new EpochAttestation(summitId, epoch, authenticator, Number(userId), signature);
  }

  static fromBytes(data: Uint8Array): EpochAttestation {
    return decode(EpochAttestation, data);
  }

  static fromText(text: string): EpochAttestation {
    return decodeText(EpochAttestation, text);
  }

  /** Whether the member's DAVE signature key (65-byte P-256 point) made this attestation. */
  verify(key: Bytes): Promise<boolean> {
    return verifyDeviceSignature(key, concat(LABEL, this.body()), this.signature);
  }
}

/** This device's attestation of the epoch it just entered, signed by its DAVE key. */
export async function attest(summitId: string, epoch: bigint, authenticator: Bytes, userId: number, sign: DeviceSigner): Promise<EpochAttestation> {
  const unsigned = new EpochAttestation(summitId, epoch, authenticator, userId, new Uint8Array(64));
  return new EpochAttestation(summitId, epoch, authenticator, userId, await sign(concat(LABEL, unsigned.body())));
}

export type AttestationState =
  | 'attested' // attested this epoch with this device's authenticator
  | 'awaited' // not yet, within the bound
  | 'silent' // not within the bound: alarm
  | 'mismatch'; // attested this epoch with another authenticator: alarm

export interface AttestationAlarm {
  readonly state: 'silent' | 'mismatch';
  readonly userId: number;
  readonly epoch: bigint;
  readonly text: string;
}

/**
 * Sans-IO: feed it each epoch the device enters (`enterEpoch`) and each attestation received
 * (`receive`), with `now` (seconds); call `tick` at `deadline()`. Attestations for an epoch this
 * device has not reached yet wait for it. The two inputs are async only because WebCrypto
 * verifies signatures so; an attestation checked while the device moved on counts for nothing
 * (`stale`), as one received after would.
 */
export class AttestationTracker {
  epoch: bigint | null = null;
  readonly alarms: AttestationAlarm[] = [];
  private authenticator = '';
  private members = new Map<number, Bytes>(); // this epoch's other members: user id -> key
  private entered = 0;
  private entries = 0; // epochs entered: a signature checked across an entry counts for nothing
  private attested = new Map<number, Set<string>>(); // user id -> authenticators (hex) it signed for this epoch
  private ahead: EpochAttestation[] = []; // for epochs not reached yet: unchecked
  private raised = new Set<string>();

  constructor(
    readonly summitId: string,
    readonly selfId: number,
    readonly bound: number = ATTESTATION_BOUND,
  ) {}

  /** This device moved to `epoch` (a commit or welcome): its authenticator, and the key group's members (user id -> signature key) whose attestations it now requires. */
  async enterEpoch(epoch: bigint, authenticator: Bytes, members: ReadonlyMap<number, Bytes>, now: number): Promise<AttestationAlarm[]> {
    this.epoch = epoch;
    this.authenticator = hex(authenticator);
    this.entered = now;
    this.entries += 1;
    this.members = new Map([...members].filter(([userId]) => userId !== this.selfId));
    this.attested = new Map();
    this.raised = new Set();
    const waiting = this.ahead.filter((a) => a.epoch === epoch);
    this.ahead = this.ahead.filter((a) => a.epoch > epoch);
    for (const attestation of waiting) {
      try {
        await this.record(attestation);
      } catch (e) {
        if (!(e instanceof IdentityError)) throw e; // forged or from a non-member: as if never sent
      }
    }
    return this.check(now);
  }

  /** An attestation relayed by the server. IdentityError if it cannot count (another summit, an epoch already left, a non-member, a bad signature): log it and drop it. */
  async receive(attestation: EpochAttestation, now: number): Promise<AttestationAlarm[]> {
    if (attestation.summitId !== this.summitId) throw new IdentityError('wrong_summit', `an attestation for summit ${attestation.summitId}`);
    if (this.epoch === null || attestation.epoch > this.epoch) {
      // Before its first epoch a device cannot tell how far ahead one is (it may join a group at
      // epoch 57 by a welcome that comes after the members' attestations of 57).
      const near = this.epoch === null || attestation.epoch - this.epoch <= MAX_AHEAD;
      if (near && this.ahead.length < MAX_WAITING) this.ahead.push(attestation); // a forged one cannot crowd out the real one: both wait
      return [];
    }
    if (attestation.epoch < this.epoch) throw new IdentityError('stale', `an attestation of epoch ${attestation.epoch}, already left`);
    await this.record(attestation);
    return this.check(now);
  }

  tick(now: number): AttestationAlarm[] {
    return this.check(now);
  }

  /** When a member turns silent if nothing comes, if ever. */
  deadline(now: number): number | null {
    if (this.epoch === null || [...this.members.keys()].every((userId) => this.attested.has(userId))) return null;
    const at = this.entered + this.bound;
    return at > now ? at : null;
  }

  states(now: number): Map<number, AttestationState> {
    const ids = [...this.members.keys()].sort((a, b) => a - b);
    return new Map(ids.map((userId) => [userId, this.state(userId, now)]));
  }

  private state(userId: number, now: number): AttestationState {
    const signed = this.attested.get(userId);
    if (signed !== undefined) return signed.size === 1 && signed.has(this.authenticator) ? 'attested' : 'mismatch';
    return now - this.entered < this.bound ? 'awaited' : 'silent';
  }

  private async record(attestation: EpochAttestation): Promise<void> {
    const key = this.members.get(attestation.userId);
    if (key === undefined) {
      throw new IdentityError('not_a_member', `an attestation from user ${attestation.userId}, not in epoch ${String(this.epoch)}`);
    }
    const entries = this.entries;
    if (!(await attestation.verify(key))) {
      throw new IdentityError('bad_signature', `an attestation for user ${attestation.userId} not signed by its key`);
    }
    if (this.entries !== entries) throw new IdentityError('stale', `an attestation of epoch ${attestation.epoch}, already left`);
    const signed = this.attested.get(attestation.userId) ?? new Set<string>();
    signed.add(hex(attestation.authenticator));
    this.attested.set(attestation.userId, signed);
  }

  private check(now: number): AttestationAlarm[] {
    const epoch = this.epoch;
    if (epoch === null) return [];
    const fresh: AttestationAlarm[] = [];
    for (const [userId, state] of this.states(now)) {
      const raised = `${state} ${userId} ${epoch}`;
      if ((state === 'silent' || state === 'mismatch') && !this.raised.has(raised)) {
        this.raised.add(raised);
        fresh.push({ state, userId, epoch, text: alarmText(state, userId, epoch, this.bound) });
      }
    }
    this.alarms.push(...fresh);
    return fresh;
  }
}

function alarmText(state: 'silent' | 'mismatch', userId: number, epoch: bigint, bound: number): string {
  if (state === 'mismatch') return `user ${userId} attests epoch ${epoch} of another group than this device's: the call is split`;
  return `user ${userId} has not attested epoch ${epoch} within ${bound} s: it may be kept in another group`;
}
