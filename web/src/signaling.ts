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
export const CLOSE_INVITATION = 4003;
export const CLOSE_ABUSE = 4008;

export interface DeviceInfo {
  user_id: number;
  delegation_id: string;
  delegation: string;
  role: string;
  people: string[];
  publishing: boolean;
}

export interface SummitInfo {
  summit_id: string;
  title: string;
  scheduled_start: string;
  duration_minutes: number;
  channel_id: number;
  delegations: { delegation_id: string; name: string; working_language: string }[];
}

export type ServerOp =
  | {
      op: 'ready';
      d: {
        device: DeviceInfo;
        summit: SummitInfo;
        heartbeat_interval: number;
        ice_servers: RTCIceServer[];
        test_hooks: boolean;
      };
    }
  | { op: 'roster'; d: { devices: DeviceInfo[] } }
  | { op: 'publish_answer'; d: { sdp: string } }
  | { op: 'subscribe_offer'; d: { feed: number; sdp: string } }
  | { op: 'media_reset'; d: { reason: string } }
  | { op: 'heartbeat_ack'; d: { nonce: number } }
  | { op: 'error'; d: { code: string; message: string; op: string | number | null } };

export interface SignalingHandlers {
  open(): void;
  op(message: ServerOp): void;
  daveBinary(frame: ArrayBuffer): void;
  daveJson(message: DaveJson): void;
  close(code: number, reason: string): void;
}

export function signalingUrl(summitId: string, location: Location = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/api/summits/${encodeURIComponent(summitId)}/ws`;
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

  identify(token: string, people: string[]): void {
    this.send('identify', { token, people, protocol_version: PROTOCOL_VERSION });
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
