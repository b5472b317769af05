/**
 * This device's side of DAVE, on davey: the same opcode handling as the Python SDK's member
 * (src/parley/sdk/member.py). The interop tests run this very module under Node (web/interop/member.ts)
 * in one group with the SDK's members.
 *
 * Sans-IO: feed it each DAVE op the server sends and send back what it returns. It lives in the
 * DAVE worker, which is also the RTCRtpScriptTransform worker, so keys never leave the worker.
 *
 * Parley's rules where DAVE leaves room:
 * - It never enters passthrough mode. A transition to protocol version 0 (unencrypted) is refused
 *   and raised as an alarm: a server must not be able to switch encryption off.
 * - Until its first group is established, and after a group reset, it has no sending key:
 *   `encrypt` returns null and frames are dropped rather than sent in the clear.
 * - davey accepts two leaves with one user id (libdave refuses): a group with a duplicated user id
 *   is refused (op 31, rejoin) and raised as an alarm; that is what a ghost would look like.
 * - A member the server never announced (clients_connect) raises an alarm too.
 * - Who is in the call is the key group, not the roster: after every commit and welcome the key
 *   group's user ids go to `Membership` with the roster, and so do the signature keys the Add
 *   proposals carry (read here with `mlsWire`, as davey does not expose members' keys). A member
 *   the roster does not explain, or a user id whose key changed, raises an alarm, and `encrypt`
 *   returns null (frames are dropped) while the key group holds one.
 * - davey switches its sending key as soon as it processes a commit or welcome; DAVE switches
 *   senders only at execute_transition (op 22), once every member has said it holds the new keys
 *   (op 23). So after a commit or welcome this member sends nothing until op 22 (or, should that
 *   never come, `EXECUTE_FALLBACK_MS`): receivers never get frames under a key they lack yet.
 *   Frames that fail to decrypt in that window (others still on the old key) count as early.
 * - davey keeps one decryptor per sender for audio and video together (libdave has one per media),
 *   so right after a key change a video frame sealed just before an audio frame that arrived first
 *   falls outside the new key's nonce window and fails. Failures within `KEY_CHANGE_GRACE_MS` of a
 *   key change count as early too (dropped all the same); lasting failures are what the page shows.
 * - Certified mode (an `EpochGuard`, identityGuard.ts): only user ids it recognises are
 *   recognised for proposals; it hears each Add's key and each epoch entered, and while it holds
 *   (from the moment an epoch is entered until every member passes its check) nothing is sent.
 */

import { Buffer } from 'buffer';

import { formatCode, GROUP_CODE_DIGITS, CODE_GROUP_SIZE } from '../codes';
import { CODEC, MEDIA_TYPE, SESSION_STATUS, type Bytes, type DaveyModule, type DaveySession, type SigningKeyPair } from './davey';
import { hasDaveTrailer, type DecryptResult, type FrameCryptor } from './frameCryptor';
import { Membership, type RosterDevice } from './membership';
import type { AlarmReason, ClientDaveMessage, DaveJson, MediaKind, MemberState, SessionSnapshot } from './messages';
import { addedMembers, base64url, WireError } from './mlsWire';

export const PROTOCOL_VERSION = 1;

/** Send again without op 22 after this long: the server executes within 2 s (TRANSITION_TIMEOUT). */
export const EXECUTE_FALLBACK_MS = 5000;

/** After a key change, decryption failures this soon are the key change's, not a problem to report. */
export const KEY_CHANGE_GRACE_MS = 2000;

/** DAVE opcodes (daveprotocol.com; docs/protocol.md). */
export const Op = {
  CLIENTS_CONNECT: 11,
  CLIENT_DISCONNECT: 13,
  PREPARE_TRANSITION: 21,
  EXECUTE_TRANSITION: 22,
  READY_FOR_TRANSITION: 23,
  PREPARE_EPOCH: 24,
  EXTERNAL_SENDER_PACKAGE: 25,
  KEY_PACKAGE: 26,
  PROPOSALS: 27,
  COMMIT_WELCOME: 28,
  ANNOUNCE_COMMIT_TRANSITION: 29,
  WELCOME: 30,
  INVALID_COMMIT_WELCOME: 31,
} as const;

const MEDIA: Record<MediaKind, { type: number; codec: number }> = {
  audio: { type: MEDIA_TYPE.audio, codec: CODEC.opus },
  video: { type: MEDIA_TYPE.video, codec: CODEC.vp8 },
};

/** A malformed op from the server: reported, and the op is ignored. */
export class DaveOpError extends Error {}

/** An alarm; `userId` names the member it is about, when it is about one. */
export type AlarmHandler = (reason: AlarmReason, detail: string, userId: string | null) => void;

/** Certified mode's side of the member (identityGuard.ts): sync, read inside op handling and for every frame. */
export interface EpochGuard {
  readonly held: boolean;
  recognises(userId: string): boolean;
  recordAdd(userId: string, key: Uint8Array<ArrayBuffer>): void;
  enterEpoch(epoch: bigint, authenticator: Uint8Array<ArrayBuffer>, userIds: readonly string[], welcome: boolean): void;
  leaveGroup(): void;
}

export interface MemberOptions {
  /** Certified mode: the guard that checks every epoch; none for a summit without pins. */
  guard?: EpochGuard | null;
  /** The clock (ms); tests step it. */
  now?: () => number;
  /**
   * Test only: decrypt each sender's frames under another user's key, which this member does not
   * hold, so every frame fails and is dropped. (`?testWrongGroup=1`; see `Call`.)
   */
  testWrongKeys?: boolean;
}

function binary(opcode: number, ...parts: Bytes[]): ClientDaveMessage {
  const size = parts.reduce((n, p) => n + p.length, 1);
  const out = new Uint8Array(size);
  out[0] = opcode;
  let at = 1;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return { binary: out.buffer };
}

function json(op: number, d: object): ClientDaveMessage {
  return { json: { op, d } };
}

/** A view davey can take (a Node-style Buffer over the same bytes, no copy). */
function view(bytes: Uint8Array): Bytes {
  return Buffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
}

/** The big-endian u16 at the start of `bytes` (a transition id). */
function u16(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0);
}

/** A field of a DAVE op's `d`, unchecked: what each handler then checks. */
function field(d: object, name: string): unknown {
  return Object.hasOwn(d, name) ? (d as Record<string, unknown>)[name] : undefined;
}

function uint(d: object, name: string, max: number): number {
  const value = field(d, name);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new DaveOpError(`${name} must be an integer in 0..${max}`);
  }
  return value;
}

function parseUserId(value: unknown): string {
  if ((typeof value === 'string' && /^\d{1,20}$/.test(value)) || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) {
    return String(value);
  }
  throw new DaveOpError('a user id is a decimal string');
}

export class DaveMember implements FrameCryptor {
  state: MemberState = 'waiting';
  /** Transition ids executed (op 22, or 0 which executes at once). */
  readonly executed: number[] = [];
  private readonly session: DaveySession;
  private externalSender: Uint8Array | null = null;
  private readonly recognised = new Set<string>();
  private readonly refusedDowngrades = new Set<number>();
  /** A transition whose commit or welcome we processed, not yet executed: we hold off sending. */
  private awaiting: { transition: number; since: number } | null = null;
  /** When senders last moved to a new key (a transition executed). */
  private keyChangedAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly testWrongKeys: boolean;
  private readonly membership: Membership;
  /** The key group holds a member the roster does not explain, or a swapped key: send nothing. */
  private holding = false;
  private readonly guard: EpochGuard | null;

  constructor(
    private readonly davey: DaveyModule,
    readonly userId: string,
    readonly channelId: string,
    private readonly key: SigningKeyPair,
    private readonly onAlarm: AlarmHandler,
    options: MemberOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.testWrongKeys = options.testWrongKeys ?? false;
    this.guard = options.guard ?? null;
    this.session = new davey.DAVESession(PROTOCOL_VERSION, userId, channelId, key);
    this.session.setPassthroughMode(false);
    this.membership = new Membership(userId, base64url(key.public));
  }

  /** The roster op (forwarded by the page): who the server says is in the call, and their keys. */
  setRoster(devices: readonly RosterDevice[]): void {
    this.membership.setRoster(devices, this.now());
    this.checkMembership();
  }

  /** Called on a timer: the bounds of `Membership` (joining, leaving) run out with time alone. */
  tick(): void {
    this.checkMembership();
  }

  private checkMembership(): void {
    const now = this.now();
    this.holding = this.membership.held(now);
    for (const alarm of this.membership.takeAlarms(now)) this.onAlarm(alarm.reason, alarm.detail, alarm.userId);
  }

  /** Forget the group and its keys (leave, or a new connection): davey deletes the MLS state. */
  dispose(): void {
    this.session.reset();
    this.state = 'waiting';
  }

  // -- wire level --------------------------------------------------------------------------

  /** A server binary frame, `u16 sequence | u8 opcode | payload`; returns what to send back. */
  receiveBinary(frame: Uint8Array): ClientDaveMessage[] {
    if (frame.length < 3) throw new DaveOpError('a binary frame is u16 sequence | u8 opcode | payload');
    const opcode = frame[2] ?? 0; // bytes 0-1: the server's sequence number, not needed here
    const payload = frame.subarray(3);
    switch (opcode) {
      case Op.EXTERNAL_SENDER_PACKAGE:
        return this.onExternalSenderPackage(payload);
      case Op.PROPOSALS:
        return this.onProposals(payload);
      case Op.ANNOUNCE_COMMIT_TRANSITION:
        return this.onAnnounceCommitTransition(payload);
      case Op.WELCOME:
        return this.onWelcome(payload);
      default:
        throw new DaveOpError(`unknown binary opcode ${opcode}`);
    }
  }

  /** A numbered JSON op from the server; returns what to send back. */
  receiveJson(message: DaveJson): ClientDaveMessage[] {
    const d = message.d;
    switch (message.op) {
      case Op.CLIENTS_CONNECT: {
        const ids = field(d, 'user_ids');
        if (!Array.isArray(ids)) throw new DaveOpError('user_ids must be a list');
        for (const id of ids) this.recognised.add(parseUserId(id));
        return [];
      }
      case Op.CLIENT_DISCONNECT:
        this.recognised.delete(parseUserId(field(d, 'user_id')));
        return [];
      case Op.PREPARE_TRANSITION:
        return this.onPrepareTransition(uint(d, 'transition_id', 0xffff), uint(d, 'protocol_version', 0xffff));
      case Op.EXECUTE_TRANSITION:
        this.onExecuteTransition(uint(d, 'transition_id', 0xffff));
        return [];
      case Op.PREPARE_EPOCH:
        return this.onPrepareEpoch(uint(d, 'epoch', Number.MAX_SAFE_INTEGER), uint(d, 'protocol_version', 0xffff));
      default:
        throw new DaveOpError(`unknown JSON opcode ${message.op}`);
    }
  }

  // -- opcode handlers (DAVE numbering) ----------------------------------------------------

  /** Op 25: start a pending group under this gateway and send our key package (op 26). */
  private onExternalSenderPackage(payload: Uint8Array): ClientDaveMessage[] {
    this.externalSender = payload.slice();
    return this.restart();
  }

  /** Op 27: append or revoke the gateway's proposals; commit whatever is queued (op 28). */
  private onProposals(payload: Uint8Array): ClientDaveMessage[] {
    if (this.state === 'waiting') return [];
    if (payload.length < 1) throw new DaveOpError('op 27: empty payload');
    const operation = payload[0] ?? 0xff; // 0 append, 1 revoke
    if (operation > 1) throw new DaveOpError(`op 27: unknown operation ${operation}`);
    if (operation === 0) this.recordAdds(payload.subarray(1));
    // Only users the gateway announced (and, certified, that hold a good certificate) may be
    // added: davey checks each Add against this list.
    const guard = this.guard;
    const recognised = guard === null ? [...this.recognised] : [...this.recognised].filter((id) => guard.recognises(id));
    const result = this.session.processProposals(operation, view(payload.subarray(1)), recognised);
    if (!result.commit) return [];
    return [binary(Op.COMMIT_WELCOME, result.commit, ...(result.welcome ? [result.welcome] : []))];
  }

  /** Each Add's user id and signature key, before davey takes it; proposals we cannot read are refused. */
  private recordAdds(items: Uint8Array): void {
    let added;
    try {
      added = addedMembers(items);
    } catch (err) {
      if (err instanceof WireError) throw new DaveOpError(`op 27: ${err.message}`);
      throw err;
    }
    for (const member of added) {
      this.membership.recordAdd(member.userId, base64url(member.signatureKey));
      this.guard?.recordAdd(member.userId, new Uint8Array(member.signatureKey));
    }
    this.checkMembership();
  }

  /** Op 29: the commit the gateway chose; ready (op 23) once our receivers hold the new keys. */
  private onAnnounceCommitTransition(payload: Uint8Array): ClientDaveMessage[] {
    if (payload.length < 2) throw new DaveOpError('op 29: payload too short');
    const transition = u16(payload);
    return this.afterTransition(transition, () => this.session.processCommit(view(payload.subarray(2))), false);
  }

  /** Op 30: join an existing group (or the one just founded). */
  private onWelcome(payload: Uint8Array): ClientDaveMessage[] {
    if (payload.length < 2) throw new DaveOpError('op 30: payload too short');
    const transition = u16(payload);
    return this.afterTransition(transition, () => this.session.processWelcome(view(payload.subarray(2))), true);
  }

  /** Op 21: version 0 would switch encryption off; Parley members refuse it. */
  private onPrepareTransition(transition: number, protocolVersion: number): ClientDaveMessage[] {
    if (protocolVersion === 0) {
      // No 23: we are never ready to send in the clear. Passthrough stays off.
      this.refusedDowngrades.add(transition);
      this.onAlarm('downgrade', `the server asked to turn end-to-end encryption off (transition ${transition}); refused`, null);
      return [];
    }
    if (transition === 0) {
      this.executed.push(0);
      return [];
    }
    return [json(Op.READY_FOR_TRANSITION, { transition_id: transition })];
  }

  /** Op 22: every member holds the new keys; send with ours from now on. */
  private onExecuteTransition(transition: number): void {
    this.executed.push(transition);
    if (this.awaiting?.transition === transition) this.awaiting = null;
    this.keyChangedAt = this.now();
    if (this.refusedDowngrades.has(transition)) {
      this.onAlarm('downgrade', `the server executed a downgrade to unencrypted media (transition ${transition}); media stays encrypted`, null);
    }
  }

  /** Op 24: epoch 1 means the group is being re-created: start over with a new key package. */
  private onPrepareEpoch(epoch: number, protocolVersion: number): ClientDaveMessage[] {
    if (protocolVersion === 0) {
      this.onAlarm('downgrade', 'the server announced an epoch without encryption; refused', null);
      return [];
    }
    if (epoch !== 1 || this.externalSender === null) return [];
    return this.restart();
  }

  // -- state -------------------------------------------------------------------------------

  /** A fresh pending group and key package (op 26); nothing is sent with the old keys after this. */
  private restart(): ClientDaveMessage[] {
    this.session.reinit(PROTOCOL_VERSION, this.userId, this.channelId, this.key);
    this.session.setPassthroughMode(false);
    if (this.externalSender !== null) this.session.setExternalSender(view(this.externalSender));
    this.state = 'pending';
    this.awaiting = null;
    this.membership.setKeyGroup(null, this.now());
    this.guard?.leaveGroup();
    this.checkMembership();
    return [binary(Op.KEY_PACKAGE, this.session.getSerializedKeyPackage())];
  }

  /** Ops 29 and 30: ready (23) on success; otherwise flag it (31) and rejoin with a new key package. */
  private afterTransition(transition: number, apply: () => void, welcome: boolean): ClientDaveMessage[] {
    const invalid = (): ClientDaveMessage[] => [json(Op.INVALID_COMMIT_WELCOME, { transition_id: transition }), ...this.restart()];
    try {
      apply();
    } catch {
      // davey's message may quote MLS internals; the transition id is enough to act on.
      return invalid();
    }
    const members = this.session.getUserIds();
    const duplicates = [...new Set(members.filter((id, i) => members.indexOf(id) !== i))];
    if (duplicates.length > 0) {
      this.onAlarm('duplicate_member', `the group holds user id(s) ${duplicates.join(', ')} twice (transition ${transition}); group refused`, duplicates[0] ?? null);
      return invalid();
    }
    const unknown = members.filter((id) => id !== this.userId && !this.recognised.has(id));
    if (unknown.length > 0) {
      this.onAlarm('unknown_member', `the group holds user(s) the server never announced: ${unknown.join(', ')}`, unknown[0] ?? null);
    }
    this.session.setPassthroughMode(false); // decryptors made for new members must not pass through either
    this.state = 'joined';
    // Before any frame is sealed under the new keys: hold them if the new group is not explained.
    this.membership.setKeyGroup(members, this.now());
    this.checkMembership();
    this.enteredEpoch(members, welcome);
    if (transition === 0) {
      this.executed.push(0);
      this.awaiting = null;
      this.keyChangedAt = this.now();
      return [];
    }
    this.awaiting = { transition, since: this.now() };
    return [json(Op.READY_FOR_TRANSITION, { transition_id: transition })];
  }

  /** Certified mode: the guard holds media from here until the epoch passes its check. */
  private enteredEpoch(members: readonly string[], welcome: boolean): void {
    const epoch = this.session.epoch;
    const authenticator = this.session.getEpochAuthenticator();
    if (this.guard === null || epoch === null || authenticator === null) return;
    // A copy: davey's result is a view on wasm memory that later calls reuse.
    this.guard.enterEpoch(epoch, new Uint8Array(authenticator), members, welcome);
  }

  /** Between processing a commit or welcome and its execution (op 22). */
  private get inTransition(): boolean {
    return this.awaiting !== null && this.now() - this.awaiting.since < EXECUTE_FALLBACK_MS;
  }

  /** Still moving to a new key: a transition under way, or executed moments ago. */
  private get changingKeys(): boolean {
    return this.inTransition || this.now() - this.keyChangedAt < KEY_CHANGE_GRACE_MS;
  }

  /**
   * In a group whose keys are in use. davey says AWAITING_RESPONSE from the moment this member
   * made a commit until the gateway announces the commit it chose: the group and its keys are
   * unchanged meanwhile, so media goes on (counting only ACTIVE stopped the committer's sending
   * and decrypting for a whole round trip to the server at every key change).
   */
  private get joined(): boolean {
    const status = this.session.status;
    return this.state === 'joined' && (status === SESSION_STATUS.active || status === SESSION_STATUS.awaitingResponse);
  }

  snapshot(): SessionSnapshot {
    const joined = this.joined;
    const authenticator = joined ? this.session.getEpochAuthenticator() : null;
    return {
      state: this.state,
      canSend: joined && this.session.ready,
      groupCode: authenticator
        ? formatCode(this.davey.generateDisplayableCode(authenticator, GROUP_CODE_DIGITS, CODE_GROUP_SIZE))
        : null,
      epoch: this.epoch(),
      members: this.membership.members(this.now()),
      held: this.holding || this.guard?.held === true,
    };
  }

  // -- media (FrameCryptor) ----------------------------------------------------------------

  encrypt(mediaKind: MediaKind, frame: Uint8Array): Uint8Array | null {
    if (!this.joined || !this.session.ready || this.inTransition || this.holding || this.guard?.held === true) return null;
    const { type, codec } = MEDIA[mediaKind];
    let out: Bytes;
    try {
      out = this.session.encrypt(type, codec, view(frame));
    } catch {
      return null;
    }
    // davey hands silence packets back unencrypted ("passthrough"); Parley sends nothing unencrypted.
    if (!hasDaveTrailer(out) || out.length <= frame.length) return null;
    // `out` is a view on shared wasm memory: copy it before the next call reuses that memory.
    return new Uint8Array(out);
  }

  keyChanges(): number {
    return this.executed.length;
  }

  epoch(): string | null {
    return this.joined ? (this.session.epoch?.toString() ?? null) : null;
  }

  decrypt(senderId: string, mediaKind: MediaKind, frame: Uint8Array): DecryptResult {
    if (!this.joined) return { ok: false, reason: 'no_key' };
    if (!hasDaveTrailer(frame)) return { ok: false, reason: 'unencrypted' };
    try {
      const keyOwner = this.testWrongKeys ? (BigInt(senderId) ^ 1n).toString() : senderId;
      const out = this.session.decrypt(keyOwner, MEDIA[mediaKind].type, view(frame));
      return { ok: true, data: new Uint8Array(out) };
    } catch {
      return { ok: false, reason: this.changingKeys ? 'no_key' : 'failed' };
    }
  }

  // -- verification ------------------------------------------------------------------------

  /** The 45-digit code two members compare aloud to verify each other's keys. */
  async pairwiseCode(otherId: string): Promise<string> {
    if (!this.joined) throw new Error('not in a group yet');
    const count = this.session.getUserIds().filter((id) => id === otherId).length;
    if (count === 0) throw new Error(`user ${otherId} is not in this device's group`);
    // davey would answer for the first of two leaves with one id: no code for an ambiguous member.
    if (count > 1) throw new Error(`user ${otherId} appears twice in the group`);
    return formatCode(await this.session.getVerificationCode(otherId));
  }
}
