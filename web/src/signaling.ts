/**
 * The signalling WebSocket (docs/protocol.md): Parley's named JSON ops, and DAVE's numbered JSON
 * ops and binary frames, on one connection per device. This module only frames and parses; the
 * call decides what to do with each op.
 */

import type { ClientDaveMessage, DaveJson } from './e2ee/messages';

export const PROTOCOL_VERSION = 1;

/** Close codes the server uses (docs/protocol.md, "Close codes"). */
export const CLOSE_LEFT = 1000;
export const CLOSE_NOT_IDENTIFIED = 4001;
/** The invitation was refused or revoked, the host refused admission, or the summit is locked. */
export const CLOSE_INVITATION = 4003;
/** A press device after the opening (at the cut, and at any identify later). */
export const CLOSE_OPENING_ENDED = 4005;
/** The summit has ended (and any identify after it). */
export const CLOSE_SUMMIT_ENDED = 4006;
export const CLOSE_ABUSE = 4008;
/** The host removed this device. */
export const CLOSE_REMOVED = 4009;
/** The other members could not use this device's commits, again: the server removed it. */
export const CLOSE_UNUSABLE_COMMITS = 4010;

/** Closes after which the device must not reconnect: the stay is over, the page says why. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CLOSE_INVITATION, CLOSE_OPENING_ENDED, CLOSE_SUMMIT_ENDED, CLOSE_REMOVED, CLOSE_UNUSABLE_COMMITS]);

/** `error` codes that announce the end of this device's stay (a close follows). */
export type EndingCode =
  | 'admission_refused'
  | 'summit_locked'
  | 'removed'
  | 'invitation_revoked'
  | 'opening_ended'
  | 'summit_ended'
  | 'unusable_commits';
export const ENDING_CODES: ReadonlySet<string> = new Set<EndingCode>([
  'admission_refused',
  'summit_locked',
  'removed',
  'invitation_revoked',
  'opening_ended',
  'summit_ended',
  'unusable_commits',
]);

export function isEndingCode(code: string): code is EndingCode {
  return ENDING_CODES.has(code);
}

/** What each final close means when no `error` op said it first. */
export const ENDING_FOR_CLOSE: Readonly<Record<number, EndingCode>> = {
  [CLOSE_OPENING_ENDED]: 'opening_ended',
  [CLOSE_SUMMIT_ENDED]: 'summit_ended',
  [CLOSE_REMOVED]: 'removed',
  [CLOSE_UNUSABLE_COMMITS]: 'unusable_commits',
};

/** Refusals of a host control: not the host (or not this delegation's head); not the next phase. */
export const ERROR_FORBIDDEN = 'forbidden';
export const ERROR_PHASE_ORDER = 'phase_order';

/** The summit course, held by the server and advanced by the host one step at a time. */
export type Phase = 'scheduled' | 'lobby' | 'opening' | 'closed_session' | 'ended';
export const PHASES: readonly Phase[] = ['scheduled', 'lobby', 'opening', 'closed_session', 'ended'];

export interface CourseInfo {
  phase: Phase;
  locked: boolean;
  /** ISO 8601, UTC. */
  starts_at: string;
  ends_at: string;
  /** The server's clock when this was sent. */
  server_time: string;
  at_end: 'hard_stop' | 'overrun';
  /** The host allowed the summit to run past `ends_at`. */
  overrun: boolean;
  /** "open": no lobby, every invited device goes straight in. */
  admission: 'host' | 'delegation_head' | 'open';
}

/** A device waiting in the lobby, as shown to those who may admit it. */
export interface LobbyEntry {
  user_id: number;
  delegation_id: string;
  delegation: string;
  role: string;
  people: string[];
}

/** A `lobby` entry: `removed_earlier` when the host removed a device of its link and has not admitted one since. */
export interface WaitingEntry extends LobbyEntry {
  removed_earlier: boolean;
}

export interface DeviceInfo extends LobbyEntry {
  publishing: boolean;
  /** The DAVE signature key the device identified with (65-byte P-256 point, base64url). */
  key?: string | null;
  /** An opaque tag, stable per invitation: the same link coming back with another key shows. */
  link?: string | null;
  /** An interpreter's channel (its feed is that channel, not the floor); null for everyone else. */
  language?: string | null;
}

/** This device, as `ready` describes it. */
export interface ReadyDevice extends DeviceInfo {
  /** What it hears until it chooses: its delegation's working language if the summit has that channel; null: the floor. */
  default_channel?: string | null;
}

/** One language's booth (the `booths` op): its interpreters, who is live, handed over, coughing. */
export interface BoothInfo {
  language: string;
  interpreters: number[];
  live: number | null;
  handing_over: boolean;
  muted: boolean;
}

export interface SummitInfo {
  summit_id: string;
  title: string;
  scheduled_start: string;
  duration_minutes: number;
  channel_id: number;
  delegations: { delegation_id: string; name: string; working_language: string }[];
  /** Its interpretation channels (language tags); none: no interpretation. */
  languages?: string[];
  /** The floor's level (0..1) under a channel while its booth has a live interpreter. */
  ducking?: number;
}

export type ServerOp =
  | {
      op: 'ready';
      d: {
        device: ReadyDevice;
        summit: SummitInfo;
        heartbeat_interval: number;
        ice_servers: RTCIceServer[];
        test_hooks: boolean;
        /** false: the device waits in the lobby (no DAVE ops, no media) until `admitted`. */
        admitted: boolean;
        course: CourseInfo;
        /** The host, or a delegation's principal when admission is "delegation_head". */
        can_admit: boolean;
      };
    }
  | { op: 'admitted'; d: Record<string, never> }
  | { op: 'course'; d: CourseInfo }
  | { op: 'clock_warning'; d: { minutes_left: number } }
  /** One device more waiting that this device may admit (one op per device; the lobby is never sent whole). */
  | { op: 'lobby_joined'; d: { device: WaitingEntry } }
  /** That device no longer waits (admitted, refused, or gone). */
  | { op: 'lobby_left'; d: { user_id: number } }
  | { op: 'roster'; d: { devices: DeviceInfo[] } }
  | { op: 'booths'; d: { booths: BoothInfo[] } }
  | { op: 'publish_answer'; d: { sdp: string } }
  | { op: 'subscribe_offer'; d: { feed: number; sdp: string } }
  | { op: 'media_reset'; d: { reason: string } }
  | { op: 'heartbeat_ack'; d: { nonce: number } }
  | { op: 'error'; d: { code: string; message: string; op: string | number | null } };

/** Host controls (device → server); anyone not allowed gets error `forbidden`. */
export type HostOp =
  | { op: 'admit'; d: { user_id: number } }
  | { op: 'refuse'; d: { user_id: number } }
  | { op: 'remove'; d: { user_id: number } }
  /** Revoke the link this device joined with: every device of it leaves, and it admits no one. */
  | { op: 'revoke'; d: { user_id: number } }
  | { op: 'lock'; d: { locked: boolean } }
  | { op: 'advance'; d: { phase: Phase } }
  | { op: 'allow_overrun'; d: Record<string, never> };

export const HOST_OPS: ReadonlySet<string> = new Set<HostOp['op']>(['admit', 'refuse', 'remove', 'revoke', 'lock', 'advance', 'allow_overrun']);

/** An interpreter's booth controls (device → server); refusals: `booth_busy`, `not_live`, `already_live`, `not_publishing`. */
export type BoothOp =
  | { op: 'take_over'; d: Record<string, never> }
  | { op: 'hand_over'; d: Record<string, never> }
  | { op: 'cough'; d: { muted: boolean } };

export const BOOTH_OPS: ReadonlySet<string> = new Set<BoothOp['op']>(['take_over', 'hand_over', 'cough']);

/** Refusals of a publish into a channel: a policy answer, so publishing again would not help. */
export const CHANNEL_REFUSALS: ReadonlySet<string> = new Set(['channel_forbidden', 'audio_only', 'no_such_channel']);

export interface SignalingHandlers {
  open(): void;
  op(message: ServerOp): void;
  daveBinary(frame: ArrayBuffer): void;
  daveJson(message: DaveJson): void;
  close(code: number, reason: string): void;
}

/** The signalling WebSocket of a summit on the Parley server at `server` (an http(s) origin). */
export function signalingUrl(summitId: string, server: string): string {
  const url = new URL(`/api/summits/${encodeURIComponent(summitId)}/ws`, server);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

export class SignalingSocket {
  private readonly ws: WebSocket;
  private heartbeat: number | null = null;
  private nonce = 0;
  private closed = false;

  constructor(url: string, private readonly handlers: SignalingHandlers) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => this.handlers.open();
    this.ws.onmessage = (event: MessageEvent<string | ArrayBuffer>) => this.receive(event.data);
    this.ws.onclose = (event) => this.finish(event.code, event.reason);
    this.ws.onerror = () => undefined; // a close event follows
  }

  private receive(data: string | ArrayBuffer): void {
    if (typeof data !== 'string') {
      this.handlers.daveBinary(data);
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return; // the server sends JSON objects only; nothing to act on
    }
    if (typeof message !== 'object' || message === null) return;
    const { op, d } = message as { op?: unknown; d?: unknown };
    if (typeof d !== 'object' || d === null) return;
    if (typeof op === 'number') this.handlers.daveJson({ op, d: d as Record<string, unknown> });
    else if (typeof op === 'string') this.handlers.op({ op, d } as ServerOp);
  }

  private finish(code: number, reason: string): void {
    if (this.heartbeat !== null) window.clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (this.closed) return;
    this.closed = true;
    this.handlers.close(code, reason);
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(op: string, d: Record<string, unknown>): void {
    if (this.open) this.ws.send(JSON.stringify({ op, d }));
  }

  sendDave(message: ClientDaveMessage): void {
    if (!this.open) return;
    if ('binary' in message) this.ws.send(message.binary);
    else this.ws.send(JSON.stringify(message.json));
  }

  sendHost(message: HostOp): void {
    this.send(message.op, message.d);
  }

  sendBooth(message: BoothOp): void {
    this.send(message.op, message.d);
  }

  /** `key`: this profile's DAVE signature public key (base64url); the server derives our user id from it. */
  identify(token: string, people: string[], key: string): void {
    this.send('identify', { token, people, protocol_version: PROTOCOL_VERSION, key });
  }

  /** The server closes a connection silent for 3 intervals; beat at every interval. */
  startHeartbeat(intervalSeconds: number): void {
    if (this.heartbeat !== null) window.clearInterval(this.heartbeat);
    const ms = Math.max(1, intervalSeconds) * 1000;
    this.heartbeat = window.setInterval(() => this.send('heartbeat', { nonce: this.nonce++ }), ms);
  }

  /** Close from our side; `close` handlers are not called for it. */
  close(code = CLOSE_LEFT, reason = 'left'): void {
    this.closed = true;
    if (this.heartbeat !== null) window.clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
  }
}
