/**
 * The signalling WebSocket (docs/protocol.md): Parley's named JSON ops, and DAVE's numbered JSON
 * ops and binary frames, on one connection per device. This module frames, checks every
 * incoming op against the generated schema (incoming.ts), and matches answers to requests
 * (requests.ts); the call decides what to do with each op.
 */

import type { ClientDaveMessage } from './e2ee/messages';
import { ENDING_CODES, type CloseCode, type EndingCode } from './generated/codes';
import type { DaveServerOp, ServerOp } from './generated/wire';
import type { ServerFrames } from './incoming';
import { PendingRequests, RequestFailed, type AnswerTo, type RequestMessage, type RequestOp } from './requests';

export const PROTOCOL_VERSION = 1;

/** How long the server has to answer a request (it answers each at once, bar Janus's round trips). */
export const REQUEST_TIMEOUT_MS = 15_000;

/** Close codes (docs/protocol.md, "Close codes"; the set is generated from parley.protocol). */
export const CLOSE_LEFT: CloseCode = 1000;
/** The invitation was refused or revoked, the host refused admission, or the summit is locked. */
export const CLOSE_REFUSED: CloseCode = 4003;
/** A press device after the opening (at the cut, and at any identify later). */
export const CLOSE_OPENING_ENDED: CloseCode = 4005;
/** The summit has ended (and any identify after it). */
export const CLOSE_SUMMIT_ENDED: CloseCode = 4006;
/** The host removed this device. */
export const CLOSE_REMOVED: CloseCode = 4009;
/** The other members could not use this device's commits, again: the server removed it. */
export const CLOSE_UNUSABLE_COMMITS: CloseCode = 4010;
/** Its delegation revoked this device's certificate. */
export const CLOSE_CERTIFICATE_REVOKED: CloseCode = 4011;

/** Closes after which the device must not reconnect: the stay is over, the page says why. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set<CloseCode>([
  CLOSE_REFUSED,
  CLOSE_OPENING_ENDED,
  CLOSE_SUMMIT_ENDED,
  CLOSE_REMOVED,
  CLOSE_UNUSABLE_COMMITS,
  CLOSE_CERTIFICATE_REVOKED,
]);

const ENDINGS: ReadonlySet<string> = new Set<string>(ENDING_CODES);

/** Does this `error` code announce the end of this device's stay (a close follows)? */
export function isEndingCode(code: string): code is EndingCode {
  return ENDINGS.has(code);
}

/** What each final close means when no `error` op said it first. */
export const ENDING_FOR_CLOSE: Readonly<Record<number, EndingCode>> = {
  [CLOSE_OPENING_ENDED]: 'opening_ended',
  [CLOSE_SUMMIT_ENDED]: 'summit_ended',
  [CLOSE_REMOVED]: 'removed',
  [CLOSE_UNUSABLE_COMMITS]: 'unusable_commits',
  [CLOSE_CERTIFICATE_REVOKED]: 'certificate_revoked',
};

export interface SignalingHandlers {
  open(): void;
  /** An event, or an op that answers no pending request (an `error` that ends the stay, a DAVE refusal, a late answer). */
  op(message: ServerOp): void;
  daveBinary(frame: ArrayBuffer): void;
  daveJson(message: DaveServerOp): void;
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
  private readonly requests = new PendingRequests(REQUEST_TIMEOUT_MS);
  private heartbeat: number | null = null;
  private nonce = 0;
  private closed = false;

  /** `frames`: the boundary check (incoming.ts), which counts and logs the frames it refuses. */
  constructor(
    url: string,
    private readonly frames: ServerFrames,
    private readonly handlers: SignalingHandlers,
  ) {
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
    const incoming = this.frames.read(data);
    switch (incoming.kind) {
      case 'refused': // counted and logged by `frames`; never acted on
        return;
      case 'dave':
        this.handlers.daveJson(incoming.op);
        return;
      case 'op':
        // An answer (or error) with the id of a pending request settles that request only.
        if (!this.requests.settle(incoming.op)) this.handlers.op(incoming.op);
        return;
    }
  }

  private finish(code: number, reason: string): void {
    this.stopHeartbeat();
    this.requests.closeAll();
    if (this.closed) return;
    this.closed = true;
    this.handlers.close(code, reason);
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Send a request with a fresh id; settles with the server's answer to it, or fails with its refusal (RequestFailed). */
  request<K extends RequestOp>(op: K, d: RequestMessage<K>['d']): Promise<AnswerTo<K>> {
    if (!this.open) return Promise.reject(new RequestFailed(op, 'closed', 'not connected'));
    const { id, answer } = this.requests.open(op);
    this.ws.send(JSON.stringify({ op, id, d }));
    return answer;
  }

  /** Say goodbye (the one device op that is no request: nothing answers it). */
  leave(): void {
    if (this.open) this.ws.send(JSON.stringify({ op: 'leave', d: {} }));
  }

  sendDave(message: ClientDaveMessage): void {
    if (!this.open) return;
    if ('binary' in message) this.ws.send(message.binary);
    else this.ws.send(JSON.stringify(message.json));
  }

  /**
   * `key`: this profile's DAVE signature public key (base64url); the server derives our user id from it.
   * `certificate`: the device's certificate kept for this summit (certified mode), if any.
   */
  identify(token: string, people: string[], key: string, proof: string, certificate: string | null = null): Promise<AnswerTo<'identify'>> {
    return this.request('identify', { token, people, protocol_version: PROTOCOL_VERSION, key, proof, ...(certificate === null ? {} : { certificate }) });
  }

  /** The server closes a connection silent for 3 intervals; beat at every interval (an unanswered beat changes nothing). */
  startHeartbeat(intervalSeconds: number): void {
    this.stopHeartbeat();
    const ms = Math.max(1, intervalSeconds) * 1000;
    this.heartbeat = window.setInterval(() => void this.request('heartbeat', { nonce: this.nonce++ }).catch(() => undefined), ms);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) window.clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Close from our side; `close` handlers are not called for it, and pending requests fail. */
  close(code = CLOSE_LEFT, reason = 'left'): void {
    this.closed = true;
    this.stopHeartbeat();
    this.requests.closeAll();
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
  }
}
