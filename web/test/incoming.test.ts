/**
 * The boundary of the signalling socket (src/incoming.ts): every text frame is checked against the
 * validators generated from the protocol's schema; what does not pass is refused, counted and
 * logged without its contents.
 */

import { describe, expect, test } from 'vitest';

import { ServerFrames, readServerFrame } from '../src/incoming';

const OFFER = { op: 'subscribe_offer', id: 7, d: { feed: 12, sdp: 'v=0\r\n' } };

function refusal(frame: unknown): string {
  const incoming = readServerFrame(JSON.stringify(frame));
  if (incoming.kind !== 'refused') throw new Error(`accepted: ${JSON.stringify(frame)}`);
  return incoming.reason;
}

describe('ops the schema describes are taken, typed', () => {
  test('an answer with its request id', () => {
    expect(readServerFrame(JSON.stringify(OFFER))).toStrictEqual({ kind: 'op', op: OFFER });
  });

  test('an event without an id, and an error that answers no request', () => {
    const left = { op: 'lobby_left', d: { user_id: 5 } };
    expect(readServerFrame(JSON.stringify(left))).toStrictEqual({ kind: 'op', op: left });
    const ending = { op: 'error', d: { code: 'summit_ended', message: 'the summit has ended', op: null } };
    expect(readServerFrame(JSON.stringify(ending))).toStrictEqual({ kind: 'op', op: ending });
  });

  test("DAVE's numbered JSON ops are checked too, and told apart from named ops", () => {
    const execute = { op: 22, d: { transition_id: 3 } };
    expect(readServerFrame(JSON.stringify(execute))).toStrictEqual({ kind: 'dave', op: execute });
  });
});

describe('anything else is refused, never cast', () => {
  test.each([
    ['an unknown op', { op: 'teleport', d: {} }, /unknown op "teleport"/],
    ['an unknown DAVE opcode', { op: 99, d: {} }, /unknown op 99/],
    ['no op at all', { d: {} }, /unknown op without a readable name/],
    ['a missing field', { op: 'subscribe_offer', id: 7, d: { feed: 12 } }, /op "subscribe_offer" of the wrong shape \(\/d: required\)/],
    ['an extra field', { ...OFFER, d: { ...OFFER.d, bitrate: 9 } }, /\/d: additionalProperties/],
    ['an extra field beside the op', { ...OFFER, extra: true }, /\/: additionalProperties/],
    ['a field of the wrong type', { ...OFFER, d: { feed: '12', sdp: 'v=0' } }, /\/d\/feed: type/],
    ['an error code the protocol does not have', { op: 'error', d: { code: 'oops', message: '', op: null } }, /\/d\/code: enum/],
    ['a DAVE op out of bounds', { op: 22, d: { transition_id: 70_000 } }, /op 22 of the wrong shape \(\/d\/transition_id: maximum\)/],
  ])('%s', (_name, frame, reason) => {
    expect(refusal(frame)).toMatch(reason);
  });

  test('frames that are not JSON objects', () => {
    expect(readServerFrame('{"op": "ready",')).toStrictEqual({ kind: 'refused', reason: 'a frame that is not JSON' });
    expect(readServerFrame('[1, 2]')).toStrictEqual({ kind: 'refused', reason: 'a frame that is not a JSON object' });
    expect(readServerFrame('null')).toStrictEqual({ kind: 'refused', reason: 'a frame that is not a JSON object' });
  });

  test("a name from the object's prototype is no op", () => {
    expect(refusal({ op: 'constructor', d: {} })).toMatch(/unknown op "constructor"/);
    expect(refusal({ op: '__proto__', d: {} })).toMatch(/unknown op "__proto__"/);
  });
});

describe('ServerFrames counts and logs each refusal, without what the frame held', () => {
  test('refused frames are counted; accepted ones are not', () => {
    const lines: string[] = [];
    const frames = new ServerFrames((line) => lines.push(line));
    expect(frames.read(JSON.stringify(OFFER)).kind).toBe('op');
    frames.read(JSON.stringify({ op: 'teleport', d: {} }));
    frames.read(JSON.stringify({ ...OFFER, d: { feed: 12, sdp: 'v=0', token: 'SECRET-TOKEN' } }));
    frames.read(JSON.stringify({ op: 'SECRET-NAME-1234567890', d: {} }));
    expect(frames.refused).toBe(3);
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).not.toMatch(/SECRET|v=0/);
  });
});
