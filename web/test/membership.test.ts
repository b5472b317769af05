/** The key group held against the roster (src/e2ee/membership.ts), with the clock stepped by hand. */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { JOIN_BOUND_MS, LEAVING_GRACE_MS, Membership, type MemberStatus } from '../src/e2ee/membership';

const SELF = '100';
const KEY = { self: 'key-self', a: 'key-a', b: 'key-b', forged: 'key-forged' };

function statuses(m: Membership, now: number): Record<string, MemberStatus> {
  return Object.fromEntries(m.members(now).map((v) => [v.userId, v.status]));
}

function callOfTwo(now = 0): Membership {
  const m = new Membership(SELF, KEY.self);
  m.setRoster([{ userId: SELF, key: KEY.self }, { userId: '200', key: KEY.a }], now);
  m.setKeyGroup([SELF, '200'], now);
  return m;
}

test('a key group the roster explains is confirmed, raises nothing and holds nothing', () => {
  const m = callOfTwo();
  assert.deepEqual(statuses(m, 1000), { [SELF]: 'confirmed', '200': 'confirmed' });
  assert.deepEqual(m.takeAlarms(1000), []);
  assert.equal(m.held(1000), false);
});

test('a member of the key group that the roster never listed is unexplained: alarm naming it, media held', () => {
  const m = callOfTwo();
  m.setKeyGroup([SELF, '200', '666'], 10);
  assert.equal(statuses(m, 10)['666'], 'unexplained');
  assert.equal(m.held(10), true);
  const alarms = m.takeAlarms(10);
  assert.deepEqual(alarms.map((a) => [a.reason, a.userId]), [['unexplained_member', '666']]);
  assert.deepEqual(m.takeAlarms(20), [], 'each alarm is raised once');
  m.setKeyGroup([SELF, '200'], 30);
  assert.equal(m.held(30), false, 'the hold ends with the epoch that no longer has it');
});

test('a device that left the roster is leaving for the grace, then unexplained if it stays in the key group', () => {
  const m = callOfTwo();
  m.setRoster([{ userId: SELF, key: KEY.self }], 1000);
  assert.equal(statuses(m, 1000 + LEAVING_GRACE_MS - 1)['200'], 'leaving');
  assert.equal(m.held(1000 + LEAVING_GRACE_MS - 1), false);
  assert.deepEqual(m.takeAlarms(1000 + LEAVING_GRACE_MS - 1), []);
  const late = 1000 + LEAVING_GRACE_MS + 1;
  assert.equal(statuses(m, late)['200'], 'unexplained');
  assert.equal(m.held(late), true);
  assert.deepEqual(m.takeAlarms(late).map((a) => a.userId), ['200']);
});

test('a device whose removal is committed within the grace raises nothing', () => {
  const m = callOfTwo();
  m.setRoster([{ userId: SELF, key: KEY.self }], 1000);
  m.setKeyGroup([SELF], 3000);
  assert.deepEqual(statuses(m, 100_000), { [SELF]: 'confirmed' });
  assert.deepEqual(m.takeAlarms(100_000), []);
});

test('a roster entry that never reaches the key group is missing after the bound, counted from our own join', () => {
  const m = new Membership(SELF, KEY.self);
  m.setRoster([{ userId: SELF, key: KEY.self }, { userId: '300', key: KEY.b }], 0);
  assert.equal(statuses(m, 60_000)['300'], 'joining', 'not judged while we are in no group ourselves');
  m.setKeyGroup([SELF], 60_000);
  assert.equal(statuses(m, 60_000 + JOIN_BOUND_MS)['300'], 'joining');
  const late = 60_000 + JOIN_BOUND_MS + 1;
  assert.equal(statuses(m, late)['300'], 'missing');
  assert.equal(m.held(late), false, 'a missing device hears nothing: no hold');
  assert.deepEqual(m.takeAlarms(late).map((a) => [a.reason, a.userId]), [['missing_member', '300']]);
});

test('an Add carrying another key for a user id already seen is a key swap: alarm, and held while that user id is in', () => {
  const m = callOfTwo();
  m.recordAdd('200', KEY.a);
  assert.deepEqual(m.takeAlarms(0), [], 'the same key again is no change');
  m.recordAdd('200', KEY.forged);
  assert.deepEqual(m.takeAlarms(0).map((a) => [a.reason, a.userId]), [['key_changed', '200']]);
  m.setKeyGroup([SELF, '200'], 5);
  assert.equal(statuses(m, 5)['200'], 'key_changed');
  assert.equal(m.held(5), true);
  m.recordAdd('200', KEY.a); // its first key again: the server can swap back and forth
  m.setKeyGroup([SELF, '200'], 6);
  assert.equal(m.held(6), true, 'a user id seen with two keys is not trusted again in this stay');
  m.setRoster([{ userId: SELF, key: KEY.self }], 7);
  m.setKeyGroup([SELF], 8);
  assert.equal(m.held(8), false, 'the hold ends when that user id leaves the key group');
});

test('an Add whose key differs from the key the roster gives is a key swap even without an earlier Add', () => {
  const m = callOfTwo();
  m.recordAdd('200', KEY.forged);
  assert.deepEqual(m.takeAlarms(0).map((a) => a.reason), ['key_changed']);
  assert.equal(m.held(0), true);
});

test('an Add for our own user id with a key that is not ours is a key swap', () => {
  const m = callOfTwo();
  m.recordAdd(SELF, KEY.forged);
  assert.deepEqual(m.takeAlarms(0).map((a) => [a.reason, a.userId]), [['key_changed', SELF]]);
});

test('leaving the key group (a group reset) makes roster entries joining again, not missing', () => {
  const m = callOfTwo();
  m.setKeyGroup(null, 100_000);
  assert.equal(statuses(m, 100_000 + JOIN_BOUND_MS * 2)['200'], 'joining');
});
