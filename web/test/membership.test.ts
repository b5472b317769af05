/** The key group held against the roster (src/e2ee/membership.ts), with the clock stepped by hand. */

import { expect, test } from 'vitest';

import { JOIN_BOUND_MS, LEAVING_GRACE_MS, Membership } from '../src/e2ee/membership';
import type { MembershipStatus } from '../src/generated/codes';

const SELF = '100';
const KEY = { self: 'key-self', a: 'key-a', b: 'key-b', forged: 'key-forged' };

function statuses(m: Membership, now: number): Record<string, MembershipStatus> {
  return Object.fromEntries(m.members(now).map((v) => [v.userId, v.status]));
}

function callOfTwo(now = 0): Membership {
  const m = new Membership(SELF, KEY.self);
  m.setRoster([{ userId: SELF, key: KEY.self }, { userId: '200', key: KEY.a }], now);
  m.setKeyGroup([SELF, '200'], now);
  return m;
}

test('a key group the roster explains is in the call, raises nothing and holds nothing', () => {
  const m = callOfTwo();
  expect(statuses(m, 1000)).toStrictEqual({ [SELF]: 'in_call', '200': 'in_call' });
  expect(m.takeAlarms(1000)).toStrictEqual([]);
  expect(m.held(1000)).toBe(false);
});

test('a member of the key group that the roster never listed is hidden: alarm naming it, media held', () => {
  const m = callOfTwo();
  m.setKeyGroup([SELF, '200', '666'], 10);
  expect(statuses(m, 10)['666']).toBe('hidden');
  expect(m.held(10)).toBe(true);
  const alarms = m.takeAlarms(10);
  expect(alarms.map((a) => [a.reason, a.userId])).toStrictEqual([['hidden_member', '666']]);
  expect(m.takeAlarms(20), 'each alarm is raised once').toStrictEqual([]);
  m.setKeyGroup([SELF, '200'], 30);
  expect(m.held(30), 'the hold ends with the epoch that no longer has it').toBe(false);
});

test('a device that left the roster is leaving for the grace, then hidden if it stays in the key group', () => {
  const m = callOfTwo();
  m.setRoster([{ userId: SELF, key: KEY.self }], 1000);
  expect(statuses(m, 1000 + LEAVING_GRACE_MS - 1)['200']).toBe('leaving');
  expect(m.held(1000 + LEAVING_GRACE_MS - 1)).toBe(false);
  expect(m.takeAlarms(1000 + LEAVING_GRACE_MS - 1)).toStrictEqual([]);
  const late = 1000 + LEAVING_GRACE_MS + 1;
  expect(statuses(m, late)['200']).toBe('hidden');
  expect(m.held(late)).toBe(true);
  expect(m.takeAlarms(late).map((a) => a.userId)).toStrictEqual(['200']);
});

test('a device whose removal is committed within the grace raises nothing', () => {
  const m = callOfTwo();
  m.setRoster([{ userId: SELF, key: KEY.self }], 1000);
  m.setKeyGroup([SELF], 3000);
  expect(statuses(m, 100_000)).toStrictEqual({ [SELF]: 'in_call' });
  expect(m.takeAlarms(100_000)).toStrictEqual([]);
});

test('a roster entry that never reaches the key group is not in the group after the bound, counted from our own join', () => {
  const m = new Membership(SELF, KEY.self);
  m.setRoster([{ userId: SELF, key: KEY.self }, { userId: '300', key: KEY.b }], 0);
  expect(statuses(m, 60_000)['300'], 'not judged while we are in no group ourselves').toBe('joining');
  m.setKeyGroup([SELF], 60_000);
  expect(statuses(m, 60_000 + JOIN_BOUND_MS)['300']).toBe('joining');
  const late = 60_000 + JOIN_BOUND_MS + 1;
  expect(statuses(m, late)['300']).toBe('not_in_group');
  expect(m.held(late), 'a device not in the group hears nothing: no hold').toBe(false);
  expect(m.takeAlarms(late).map((a) => [a.reason, a.userId])).toStrictEqual([['not_in_group', '300']]);
});

test('an Add carrying another key for a user id already seen is a key swap: alarm, and held while that user id is in', () => {
  const m = callOfTwo();
  m.recordAdd('200', KEY.a);
  expect(m.takeAlarms(0), 'the same key again is no change').toStrictEqual([]);
  m.recordAdd('200', KEY.forged);
  expect(m.takeAlarms(0).map((a) => [a.reason, a.userId])).toStrictEqual([['key_changed', '200']]);
  m.setKeyGroup([SELF, '200'], 5);
  expect(statuses(m, 5)['200']).toBe('key_changed');
  expect(m.held(5)).toBe(true);
  m.recordAdd('200', KEY.a); // its first key again: the server can swap back and forth
  m.setKeyGroup([SELF, '200'], 6);
  expect(m.held(6), 'a user id seen with two keys is not trusted again in this stay').toBe(true);
  m.setRoster([{ userId: SELF, key: KEY.self }], 7);
  m.setKeyGroup([SELF], 8);
  expect(m.held(8), 'the hold ends when that user id leaves the key group').toBe(false);
});

test('an Add whose key differs from the key the roster gives is a key swap even without an earlier Add', () => {
  const m = callOfTwo();
  m.recordAdd('200', KEY.forged);
  expect(m.takeAlarms(0).map((a) => a.reason)).toStrictEqual(['key_changed']);
  expect(m.held(0)).toBe(true);
});

test('an Add for our own user id with a key that is not ours is a key swap', () => {
  const m = callOfTwo();
  m.recordAdd(SELF, KEY.forged);
  expect(m.takeAlarms(0).map((a) => [a.reason, a.userId])).toStrictEqual([['key_changed', SELF]]);
});

test('leaving the key group (a group reset) makes roster entries joining again, not flagged', () => {
  const m = callOfTwo();
  m.setKeyGroup(null, 100_000);
  expect(statuses(m, 100_000 + JOIN_BOUND_MS * 2)['200']).toBe('joining');
});
