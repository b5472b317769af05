/**
 * This device's requests and their answers (docs/protocol.md, "Requests and answers"). Every
 * device op that is a request carries an `id`; the server answers it exactly once, with its
 * answer op or `ok`, or with an `error` carrying the same id. So one refusal fails the one request
 * it names, and no other: an `error` with another id, or with none (an ending, a DAVE refusal),
 * leaves every pending request alone. A request not answered in time fails with `timeout`, and
 * closing the connection fails whatever is still pending.
 *
 * Sans-IO: the socket numbers and sends; this holds what is pending and settles it.
 */

import type { ErrorCode } from './generated/codes';
import type { DeviceOp, ServerOp } from './generated/wire';

/** What answers each request when it succeeds (every named device op but `leave` is a request). */
export const ANSWERS = {
  identify: 'ready',
  publish: 'publish_answer',
  subscribe: 'subscribe_offer',
  heartbeat: 'heartbeat_ack',
  subscribe_answer: 'ok',
  trickle: 'ok',
  admit: 'ok',
  refuse: 'ok',
  remove: 'ok',
  revoke: 'ok',
  lock: 'ok',
  advance: 'ok',
  allow_overrun: 'ok',
  take_over: 'ok',
  hand_over: 'ok',
  cough: 'ok',
  enroll: 'ok',
  officer: 'ok',
  approve: 'ok',
  decline: 'ok',
  revocations: 'ok',
  pins: 'ok',
  attest: 'ok',
  record_append: 'ok',
  record_read: 'record_entries',
  record_grant: 'ok',
  record_head: 'ok',
  record_close: 'ok',
  signers: 'ok',
} as const satisfies Record<Exclude<DeviceOp['op'], 'leave'>, ServerOp['op']>;

export type RequestOp = keyof typeof ANSWERS;
/** A request as sent, `id` aside. */
export type RequestMessage<K extends RequestOp> = Extract<DeviceOp, { op: K }>;
export type AnswerTo<K extends RequestOp> = Extract<ServerOp, { op: (typeof ANSWERS)[K] }>;

/** A request that failed: the server refused it (its `error` code), it timed out, or the connection closed. */
export class RequestFailed extends Error {
  constructor(
    readonly op: RequestOp,
    readonly code: ErrorCode | 'closed',
    message: string,
  ) {
    super(message);
    this.name = 'RequestFailed';
  }
}

/** Timers, injected so that tests step time. */
export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const GLOBAL_TIMERS: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Pending {
  op: RequestOp;
  settle(answer: ServerOp): void;
  fail(error: RequestFailed): void;
  timer: unknown;
}

function answers<K extends RequestOp>(op: K, message: ServerOp): message is AnswerTo<K> {
  return message.op === ANSWERS[op];
}

/** Request ids are integers 1..2^53-1 (the schema's bound); this device counts up from 1. */
export class PendingRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    /** How long the server has to answer a request. */
    private readonly timeoutMs: number,
    private readonly timers: Timers = GLOBAL_TIMERS,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Number a new request of `op`: send it with this `id`; `answer` settles with the server's answer to it. */
  open<K extends RequestOp>(op: K): { id: number; answer: Promise<AnswerTo<K>> } {
    const id = this.nextId++;
    const answer = new Promise<AnswerTo<K>>((resolve, reject) => {
      const entry: Pending = {
        op,
        settle: (message) => {
          if (answers(op, message)) resolve(message);
          else reject(new RequestFailed(op, 'invalid', `the server answered ${op} with ${message.op}`));
        },
        fail: reject,
        timer: this.timers.set(() => this.finish(id)?.fail(new RequestFailed(op, 'timeout', `no answer to ${op} within ${this.timeoutMs} ms`)), this.timeoutMs),
      };
      this.pending.set(id, entry);
    });
    return { id, answer };
  }

  /**
   * An op that carries an id: if it answers a pending request, settle that one (an `error`
   * fails it with its code) and return true. False: no request of this id is pending (answered
   * already, timed out, or never sent): the caller decides what such an op still means.
   */
  settle(message: ServerOp): boolean {
    const id = 'id' in message ? message.id : null; // events carry none
    if (typeof id !== 'number') return false;
    const entry = this.finish(id);
    if (!entry) return false;
    if (message.op === 'error') entry.fail(new RequestFailed(entry.op, message.d.code, message.d.message));
    else entry.settle(message);
    return true;
  }

  /** The connection closed: nothing pending will be answered. */
  closeAll(): void {
    for (const id of this.pending.keys()) { // deleting the entry being visited is safe in a Map
      const entry = this.finish(id);
      entry?.fail(new RequestFailed(entry.op, 'closed', 'the connection closed'));
    }
  }

  private finish(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    this.timers.clear(entry.timer);
    return entry;
  }
}
