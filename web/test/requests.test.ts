/**
 * Requests and their answers (src/requests.ts): an answer or an error settles exactly the request
 * whose id it carries. Time is stepped by vitest's fake timers.
 */

import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';

import type { ServerOp } from '../src/generated/wire';
import { PendingRequests, RequestFailed } from '../src/requests';

const TIMEOUT_MS = 5000;

function offer(id: number, feed: number): ServerOp {
  return { op: 'subscribe_offer', id, d: { feed, sdp: 'v=0\r\n' } };
}

function error(id: number | null, code: 'no_such_feed' | 'dave_late_commit' | 'summit_ended'): ServerOp {
  return { op: 'error', id, d: { code, message: `refused: ${code}`, op: 'subscribe' } };
}

/** Where a promise stands, once every reaction queued so far has run (the fake clock does not move). */
async function state(promise: Promise<unknown>): Promise<string> {
  let result = 'pending';
  promise.then(
    () => (result = 'resolved'),
    (err: unknown) => (result = err instanceof RequestFailed ? `failed ${err.code}` : 'failed'),
  );
  await vi.advanceTimersByTimeAsync(0);
  return result;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('an answer settles the request its id names, and only that one', () => {
  test('two subscriptions pending: one refused, the other answered', async () => {
    const requests = new PendingRequests(TIMEOUT_MS);
    const first = requests.open('subscribe');
    const second = requests.open('subscribe');
    expect(first.id).not.toBe(second.id);

    expect(requests.settle(error(second.id, 'no_such_feed'))).toBe(true);
    await expect(second.answer).rejects.toMatchObject({ name: 'RequestFailed', op: 'subscribe', code: 'no_such_feed' });
    expect(await state(first.answer)).toBe('pending'); // the refusal of another request leaves it alone

    expect(requests.settle(offer(first.id, 12))).toBe(true);
    expect((await first.answer).d).toStrictEqual({ feed: 12, sdp: 'v=0\r\n' });
    expect(requests.size).toBe(0);
  });

  test('an error with no id, or with an id nothing waits for, fails no request', async () => {
    const requests = new PendingRequests(TIMEOUT_MS);
    const pending = requests.open('publish');
    expect(requests.settle(error(null, 'dave_late_commit'))).toBe(false);
    expect(requests.settle(error(pending.id + 1, 'no_such_feed'))).toBe(false);
    expect(requests.settle({ op: 'roster', d: { devices: [] } })).toBe(false); // events carry no id
    expect(await state(pending.answer)).toBe('pending');
    expect(requests.size).toBe(1);
  });

  test('an id is answered once: a second answer with it settles nothing', async () => {
    const requests = new PendingRequests(TIMEOUT_MS);
    const lock = requests.open('lock');
    expect(requests.settle({ op: 'ok', id: lock.id, d: {} })).toBe(true);
    expect((await lock.answer).op).toBe('ok');
    expect(requests.settle({ op: 'ok', id: lock.id, d: {} })).toBe(false);
  });

  test('an answer of the wrong kind fails the request rather than passing for its answer', async () => {
    const requests = new PendingRequests(TIMEOUT_MS);
    const publish = requests.open('publish');
    requests.settle({ op: 'ok', id: publish.id, d: {} });
    await expect(publish.answer).rejects.toMatchObject({ code: 'invalid', message: 'the server answered publish with ok' });
  });
});

describe('every request ends', () => {
  test('unanswered, it fails with timeout once its time is up, and the others keep theirs', async () => {
    const requests = new PendingRequests(TIMEOUT_MS);
    const early = requests.open('subscribe');
    vi.advanceTimersByTime(TIMEOUT_MS - 1);
    const late = requests.open('subscribe');
    expect(await state(early.answer)).toBe('pending');
    vi.advanceTimersByTime(1);
    expect(await state(early.answer)).toBe('failed timeout');
    expect(await state(late.answer)).toBe('pending');
    expect(requests.settle(offer(early.id, 3))).toBe(false); // too late: nothing waits for it now
    expect(requests.settle(offer(late.id, 4))).toBe(true);
  });

  test('closing the connection fails everything pending, with code closed', async () => {
    const requests = new PendingRequests(TIMEOUT_MS);
    const answers = [requests.open('identify').answer, requests.open('cough').answer];
    requests.closeAll();
    expect(await Promise.all(answers.map(state))).toStrictEqual(['failed closed', 'failed closed']);
    expect(requests.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // no timer outlives its request
  });
});
