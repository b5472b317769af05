/**
 * Messages between the main thread and the DAVE worker: a `kind`-tagged union each way.
 *
 * The main thread owns the signalling socket; the worker owns every key. The main thread forwards
 * the server's DAVE ops to the worker and sends on whatever the worker answers with; frames never
 * cross this boundary (they stay inside the worker's RTCRtpScriptTransform streams), and neither do
 * keys. `generation` numbers one signalling connection: after a reconnect the worker starts a new
 * DAVE session, and anything still in flight for the old one is dropped on arrival.
 *
 * This file is shared by the page and the worker, so it uses no DOM or worker types.
 */

import type { AlarmKind, Role } from '../generated/codes';
import type { IdentityProblem } from '../generated/codes';
import type { MemberView, RosterDevice } from './membership';

export type MediaKind = 'audio' | 'video';

/**
 * A numbered DAVE JSON op, as the server sent it (checked against the schema on the main thread:
 * a `DaveServerOp` of src/generated/wire.ts) or as the worker wants it sent. The worker reads its
 * fields as unknown and checks them again: nothing reaches davey on the main thread's word alone.
 */
export interface DaveJson {
  op: number;
  d: object;
}

/** What the worker asks the main thread to send: a binary frame (`u8 opcode | payload`) or a JSON op. */
export type ClientDaveMessage = { binary: ArrayBuffer } | { json: DaveJson };

/** Options of every RTCRtpScriptTransform made for the DAVE worker. */
export interface TransformOptions {
  kind: 'encrypt' | 'decrypt';
  /** The sender's user id (our own for `encrypt`), decimal. */
  userId: string;
  mediaKind: MediaKind;
}

// -- certified mode (e2ee/identityGuard.ts) ---------------------------------------------------

/** What starts certified mode, from `ready` and the link. */
export interface IdentitySetup {
  summitId: string;
  selfId: string;
  /** This device's own delegation's key fingerprint (30 digits), from its link. */
  own: string;
  /** The organiser's pins as the summit shows them: {delegation name: 30 digits}. */
  summitPins: Record<string, string>;
}

/** A roster entry with what a certificate vouches for. */
export interface RosterPerson {
  userId: string;
  delegationId: string;
  delegation: string;
  role: Role;
  people: string[];
  language: string | null;
}

export type PinsState = 'trusted' | 'missing' | 'refused' | 'differ';

export interface MemberVerdict {
  userId: string;
  /** The pinned delegation that certifies it; null: not certified. */
  delegation: string | null;
  problem: IdentityProblem | null;
  text: string;
}

/** What the page shows of certified mode. */
export interface IdentityView {
  pins: PinsState;
  /** This device's own delegation, as its pin set names it (null until trusted). */
  ownDelegation: string | null;
  /** The last epoch check, one verdict per member of the key group (empty before the first). */
  verdicts: MemberVerdict[];
  /** "all N members certified", or how many are not; null before the first check. */
  summary: string | null;
  /** Outgoing media held by the identity checks. */
  held: boolean;
}

// -- main thread -> worker --------------------------------------------------------------------

/** Start a DAVE session for one signalling connection (after `ready`). */
export interface InitMessage {
  kind: 'init';
  generation: number;
  userId: string;
  channelId: string;
  /** Test only (`?testWrongGroup=1`): decrypt under keys that are not the sender's. */
  testWrongKeys: boolean;
}

/** A server binary frame, `u16 sequence | u8 opcode | payload`, transferred whole. */
export interface DaveBinaryMessage {
  kind: 'daveBinary';
  generation: number;
  frame: ArrayBuffer;
}

export interface DaveJsonMessage {
  kind: 'daveJson';
  generation: number;
  message: DaveJson;
}

/** Leave: forget the session and its keys; frames are dropped until the next `init`. */
export interface CloseMessage {
  kind: 'close';
  generation: number;
}

/** A subscription to this device's video came up (the server's `keyframe`): the video senders make key frames. */
export interface KeyFrameMessage {
  kind: 'keyFrame';
}

/**
 * The worker's video sender wants a key frame and its transformer cannot make one (Chromium's
 * RTCRtpScriptTransformer has no `generateKeyFrame`): the page has the sender's encoder make it.
 */
export interface MakeKeyFrameMessage {
  kind: 'makeKeyFrame';
}

export interface PairwiseCodeRequest {
  kind: 'pairwiseCode';
  id: number;
  userId: string;
}

/** The roster op, as far as the key group needs it: who the server says is here, with their keys. */
export interface RosterMessage {
  kind: 'roster';
  generation: number;
  devices: RosterDevice[];
  /** The same devices with what a certificate vouches for (certified mode checks them). */
  people: RosterPerson[];
}

/** Certified mode for this connection (a pinned summit, a link naming the own delegation): a fresh guard. */
export interface IdentityStartMessage {
  kind: 'identity';
  setup: IdentitySetup;
  /** `ready.pin_set`: the own delegation's latest pin set, or null. */
  pinSet: string | null;
}

/** An identity document the server relayed (its text form), for the guard. */
export type IdentityDocument =
  | { op: 'certificate'; userId: string; text: string }
  | { op: 'revocations'; text: string }
  | { op: 'pins'; text: string }
  | { op: 'attestation'; text: string };

export interface IdentityDocumentMessage {
  kind: 'identityDocument';
  document: IdentityDocument;
}

/** What a device claims of itself, from `ready` (the worker adds its key). */
export interface ClaimFields {
  summitId: string;
  delegationId: string;
  delegation: string;
  role: Role;
  people: string[];
  language: string | null;
  userId: string;
}

/** The enrollment, done where the key is: see deviceEnrollment.ts for the answers. */
export type IdentityAsk =
  | { what: 'kept'; summitId: string }
  | { what: 'enroll'; claim: ClaimFields }
  /** `keep`: keep it for the summit (a new one; the one presented from the store is kept already). */
  | { what: 'accept'; claim: ClaimFields; certificate: string; own: string; keep: boolean }
  | { what: 'forget'; summitId: string };

export interface IdentityAskRequest {
  kind: 'identityAsk';
  id: number;
  ask: IdentityAsk;
}

/** Sign the invitation with this profile's key, for `identify.d.proof`: the key alone proves nothing. */
export interface KeyProofRequest {
  kind: 'proveKey';
  id: number;
  token: string;
}

/**
 * The record (docs/record.md): the device's signature over an entry, a head or a grant, sent as
 * `label || body` (base64url). The worker signs nothing else under the record's name.
 */
export interface RecordSignRequest {
  kind: 'signRecord';
  id: number;
  document: 'entry' | 'head' | 'grant';
  message: string;
}

/** The record key from a grant to this device (its text), for the page: `R`, never the device key. */
export interface RecordGrantRequest {
  kind: 'openRecordGrant';
  id: number;
  grant: string;
}

export type MainToWorker =
  | InitMessage
  | DaveBinaryMessage
  | DaveJsonMessage
  | RosterMessage
  | CloseMessage
  | KeyFrameMessage
  | PairwiseCodeRequest
  | KeyProofRequest
  | IdentityStartMessage
  | IdentityDocumentMessage
  | IdentityAskRequest
  | RecordSignRequest
  | RecordGrantRequest;

// -- worker -> main thread --------------------------------------------------------------------

/** davey (WebAssembly) is loaded: transforms may be created from now on. */
export interface LoadedMessage {
  kind: 'loaded';
  version: string;
  /** This profile's DAVE signature public key (65-byte P-256 point), base64url: `identify` sends it. */
  publicKey: string;
  /** False when the browser would not keep the key (no IndexedDB): this page has a key of its own. */
  keyKept: boolean;
}

export interface LoadFailedMessage {
  kind: 'loadFailed';
  reason: string;
}

export interface SendMessage {
  kind: 'send';
  generation: number;
  messages: ClientDaveMessage[];
}

export type MemberState = 'waiting' | 'pending' | 'joined';

/** What the page may show about the session; sent after every op that can change it. */
export interface SessionSnapshot {
  state: MemberState;
  /** True when this device has a sending key (frames leave encrypted; before that they are dropped). */
  canSend: boolean;
  /** The epoch authenticator as 30 digits in groups of five, while in a group. */
  groupCode: string | null;
  epoch: string | null;
  /** Every device of the key group and of the roster (ourselves included), with its status. */
  members: MemberView[];
  /** Outgoing media is held: the key group holds a member the roster does not explain, or a swapped key, or (certified mode) a member not certified. */
  held: boolean;
}

export interface SessionMessage {
  kind: 'session';
  generation: number;
  session: SessionSnapshot;
}

/** The alarms of the key group against the roster (AlarmKind, named alike by the SDK), and the DAVE member's own. */
export type AlarmReason = 'downgrade' | 'duplicate_member' | 'unknown_member' | AlarmKind;

/** Something only an attacking server would do. Shown to people, never silenced. */
export interface AlarmMessage {
  kind: 'alarm';
  generation: number;
  reason: AlarmReason;
  detail: string;
  /** The member it is about, if it is about one. */
  userId: string | null;
}

/** Per-sender frame counts since the previous report (throttled: at most one report per interval). */
export interface SenderFrameCounts {
  decrypted: number;
  /** Frames that did not authenticate under any key we hold, or were not encrypted: dropped. */
  failed: number;
  /** Frames that arrived before we had a key, or while keys changed: dropped, not counted as failures. */
  early: number;
}

export interface FrameCost {
  frames: number;
  /** Total time spent inside the cryptor for these frames, in milliseconds. */
  ms: number;
  maxMs: number;
}

export interface FrameStatsMessage {
  kind: 'frameStats';
  senders: Record<string, SenderFrameCounts>;
  encrypted: number;
  /** Frames our senders dropped because there was no key to send with. */
  unsent: number;
  encrypt: FrameCost;
  decrypt: FrameCost;
}

export interface PairwiseCodeResponse {
  kind: 'pairwiseCodeResult';
  id: number;
  code: string | null;
  error: string | null;
}

/** The signature for `identify.d.proof` (base64url, r || s), or why there is none. */
export interface KeyProofResponse {
  kind: 'keyProof';
  id: number;
  proof: string | null;
  error: string | null;
}

/** Certified mode's state changed (verdicts, pins, hold). */
export interface IdentityViewMessage {
  kind: 'identityView';
  view: IdentityView;
}

/** This device's attestation of the epoch it entered, to send (`attest`). */
export interface AttestMessage {
  kind: 'attest';
  generation: number;
  attestation: string;
}

export interface IdentityAnswer {
  kind: 'identityAnswer';
  id: number;
  value: string | null;
  error: string | null;
}

/** The answer to a record request: a signature, or the record key (base64url), or why not. */
export interface RecordAnswer {
  kind: 'recordAnswer';
  id: number;
  value: string | null;
  error: string | null;
}

/** A DAVE op the worker could not handle (malformed, or a davey error); no key material in `detail`. */
export interface WorkerErrorMessage {
  kind: 'error';
  generation: number;
  detail: string;
}

export type WorkerToMain =
  | LoadedMessage
  | LoadFailedMessage
  | SendMessage
  | SessionMessage
  | AlarmMessage
  | FrameStatsMessage
  | PairwiseCodeResponse
  | KeyProofResponse
  | IdentityViewMessage
  | AttestMessage
  | IdentityAnswer
  | RecordAnswer
  | MakeKeyFrameMessage
  | WorkerErrorMessage;
