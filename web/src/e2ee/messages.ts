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

import type { AlarmKind } from '../generated/codes';
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
}

/** Sign the invitation with this profile's key, for `identify.d.proof`: the key alone proves nothing. */
export interface KeyProofRequest {
  kind: 'proveKey';
  id: number;
  token: string;
}

export type MainToWorker =
  | InitMessage
  | DaveBinaryMessage
  | DaveJsonMessage
  | RosterMessage
  | CloseMessage
  | PairwiseCodeRequest
  | KeyProofRequest;

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
  /** Outgoing media is held: the key group holds a member the roster does not explain, or a swapped key. */
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
  | WorkerErrorMessage;
