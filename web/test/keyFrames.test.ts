/**
 * When a video transform asks for a key frame (src/e2ee/keyFrames.ts), frame by frame, with the
 * time passed in: receivers ask until a key frame decrypts, senders make one at each new key epoch,
 * both at most once per interval.
 */

import { describe, expect, test } from 'vitest';

import { KEY_FRAME_INTERVAL_MS, KEY_FRAME_MAX_INTERVAL_MS, ReceiverKeyFrames, SenderKeyFrames } from '../src/e2ee/keyFrames';

/** Feed frames 33 ms apart from `start`; the times at which the receiver asked. */
function asks(receiver: ReceiverKeyFrames, start: number, frames: { decrypted: boolean; key: boolean }[]): number[] {
  const at: number[] = [];
  frames.forEach((f, i) => {
    const now = start + i * 33;
    if (receiver.frame(now, f.decrypted, f.key)) at.push(now);
  });
  return at;
}

const delta = { decrypted: true, key: false };
const key = { decrypted: true, key: true };
const failed = { decrypted: false, key: false };

describe('a receiver', () => {
  test('after the senders switch keys, asks every interval until a key frame decrypts', () => {
    const receiver = new ReceiverKeyFrames();
    receiver.frame(0, true, true);
    expect(asks(receiver, 33, [delta, delta])).toEqual([]);
    // Everything still decrypts, but the sender dropped frames while it waited to switch.
    receiver.keysChanged();
    const frames = Array.from({ length: 20 }, () => delta);
    expect(asks(receiver, 1000, frames)).toEqual([1000, 1000 + 16 * 33]);
    expect(asks(receiver, 2000, [key, delta, delta])).toEqual([]);
  });

  test('asks at once on a new track whose first frame is not a key frame, then stops at the key frame', () => {
    const receiver = new ReceiverKeyFrames();
    expect(asks(receiver, 0, [delta, delta, key, delta, delta])).toEqual([0]);
  });

  test('does not ask when the track starts with a key frame', () => {
    expect(asks(new ReceiverKeyFrames(), 0, [key, delta, delta])).toEqual([]);
  });

  test('asks when a frame fails to decrypt, and again every interval until a key frame decrypts', () => {
    const receiver = new ReceiverKeyFrames();
    receiver.frame(0, true, true);
    // A failure at 100, then delta frames that decrypt but cannot be decoded without the lost one.
    expect(receiver.frame(100, false, false)).toBe(true);
    expect(receiver.frame(133, true, false)).toBe(false);
    expect(receiver.frame(100 + KEY_FRAME_INTERVAL_MS - 1, true, false)).toBe(false);
    expect(receiver.frame(100 + KEY_FRAME_INTERVAL_MS, true, false)).toBe(true);
    expect(receiver.frame(100 + KEY_FRAME_INTERVAL_MS + 33, true, true)).toBe(false);
    expect(receiver.frame(100 + 3 * KEY_FRAME_INTERVAL_MS, true, false)).toBe(false); // recovered
  });

  test('asks at most once per interval however many frames fail', () => {
    const receiver = new ReceiverKeyFrames();
    receiver.frame(0, true, true);
    const at = asks(receiver, 1000, Array.from({ length: 16 }, () => failed)); // 500 ms of failures
    expect(at).toEqual([1000]);
  });

  test('backs off while nothing decrypts, and returns to the base rate once frames decrypt', () => {
    const receiver = new ReceiverKeyFrames();
    const at = asks(receiver, 0, Array.from({ length: 600 }, () => failed)); // 20 s without a key
    const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
    expect(gaps.slice(0, 3).map((g) => Math.round(g / 100) * 100)).toEqual([500, 1000, 2000]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(KEY_FRAME_MAX_INTERVAL_MS + 33);
    expect(Math.min(...gaps.slice(3))).toBeGreaterThanOrEqual(KEY_FRAME_MAX_INTERVAL_MS);
    // The key arrives: frames decrypt (delta frames first), and the receiver asks at the base rate.
    const last = at[at.length - 1] ?? 0;
    const resumed = asks(receiver, last + KEY_FRAME_INTERVAL_MS, [delta, ...Array.from({ length: 20 }, () => delta), key, delta]);
    expect(resumed).toEqual([last + KEY_FRAME_INTERVAL_MS, last + KEY_FRAME_INTERVAL_MS + 16 * 33]);
  });
});

describe('a sender', () => {
  test('makes a key frame when its frames start flowing, not on every frame', () => {
    const sender = new SenderKeyFrames();
    expect(sender.frame(0, false, null)).toBe(false); // no key yet: nothing sent
    expect(sender.frame(33, true, '1')).toBe(true);
    expect(sender.frame(66, true, '1')).toBe(false);
    expect(sender.frame(5000, true, '1')).toBe(false);
  });

  test('makes one when the key epoch changes, and after a pause in sending', () => {
    const sender = new SenderKeyFrames();
    sender.frame(0, true, '1');
    expect(sender.frame(1000, true, '2')).toBe(true);
    expect(sender.frame(2000, false, '2')).toBe(false); // keys changing: frames held back
    expect(sender.frame(2033, true, '2')).toBe(true);
  });

  test('a new subscription gets two key frames, the interval apart', () => {
    const sender = new SenderKeyFrames();
    sender.frame(0, true, '1');
    sender.subscribed();
    expect(sender.frame(5000, true, '1')).toBe(true);
    expect(sender.frame(5033, true, '1')).toBe(false);
    expect(sender.frame(5000 + KEY_FRAME_INTERVAL_MS, true, '1')).toBe(true);
    expect(sender.frame(5000 + 2 * KEY_FRAME_INTERVAL_MS, true, '1')).toBe(false);
  });

  test('epoch changes in quick succession make one key frame now and one when the interval has passed', () => {
    const sender = new SenderKeyFrames();
    sender.frame(0, true, '1');
    expect(sender.frame(1000, true, '2')).toBe(true);
    expect(sender.frame(1100, true, '3')).toBe(false);
    expect(sender.frame(1200, true, '4')).toBe(false);
    expect(sender.frame(1000 + KEY_FRAME_INTERVAL_MS - 1, true, '4')).toBe(false);
    expect(sender.frame(1000 + KEY_FRAME_INTERVAL_MS, true, '4')).toBe(true); // under the newest key
    expect(sender.frame(1000 + 2 * KEY_FRAME_INTERVAL_MS, true, '4')).toBe(false);
  });
});
